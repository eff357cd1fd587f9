"""Where the shots, captions and spoken lines fall in the film: the plan slices and cues that
the film, captions, timeline, storyboard and mix backends share.

The film and what users open beside it are each a DAG node of their own (segment, film,
captions, timeline, storyboard, mix), so editing a caption does not re-encode the film.

Who says a shot's lines is the output's `dialogue`: a voice node each ("voices"), timed
by the length of its WAV; or the shot's clip ("clip"), whose own sound track plays where
the shot is on screen (from where it comes on to where it goes off, cut at the middle of
each transition as the captions are). The clip's model gives no word timings, so there
each line's cue lasts what the plan was checked against, its words at a natural pace
times the speaker's (`spoken_seconds`), placed as voices are: one after the other, from
just after the shot comes on screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scenegen.media import wav_seconds
from scenegen.schemas import OutputFormat, StoryPlan
from scenegen.schemas.timing import FrameLayout, speech_starts, spoken_seconds, utterances


def layout_params(plan: StoryPlan, output: OutputFormat) -> dict[str, Any]:
    """Where every shot's frames land in the film, as JSON: the slice captions and timeline share."""
    layout = FrameLayout.of(plan, output.fps)
    return {
        "fps": output.fps,
        "spans": [
            {"shot": s.shot_id, "frames": s.frames, "start": s.start, "overlap_in": s.overlap_in,
             "overlap_out": s.overlap_out, "shown": list(s.shown), "transition": shot.transition.type.value}
            for s, shot in zip(layout.spans, plan.shots)
        ],
    }


def caption_cues(params: dict[str, Any], texts: list[str]) -> list[tuple[int, int, str]]:
    """(first frame, end frame, text) of each shot's caption, from `layout_params`.

    A caption shows while its shot is the one on screen (`ShotSpan.shown`): it changes
    halfway through each transition, where an editor would cut.
    """
    return [(*span["shown"], text) for span, text in zip(params["spans"], texts)]


def speech_params(plan: StoryPlan, output: OutputFormat) -> dict[str, Any]:
    """What is said in each shot that says anything, and where the shot comes on screen, as
    JSON: the slice the mix, the captions and the timeline share. With `dialogue = "clip"`
    each such shot also names its clip's `track`: which of the clip's frames play (`first`,
    `frames`), and each line its `seconds` at a natural pace."""
    names = {c.id: c.name for c in plan.characters}
    by_clip = output.dialogue == "clip"
    shots = []
    for shot, span in zip(plan.shots, FrameLayout.of(plan, output.fps).spans):
        said = [{"node": u.node, "speaker": names.get(u.speaker), "text": u.text}
                | ({"seconds": round(spoken_seconds(u.text, u.pace), 6)} if by_clip else {})
                for u in utterances(plan, shot)]
        if said:
            shots.append({"shot": shot.id, "shown_from": span.shown[0], "said": said})
            if by_clip:
                first, end = span.shown
                shots[-1]["track"] = {"node": f"clip:{shot.id}", "first": first - span.start, "frames": end - first}
    return {"fps": output.fps, "speech": shots}


def line_seconds(params: dict[str, Any], voices: dict[str, Path]) -> dict[str, float]:
    """How long each line of `speech_params` lasts, by its node: its voice's WAV (`voices`: node ->
    file), or, where the shot's clip says it, its words at a natural pace."""
    return {said["node"]: said["seconds"] if "track" in shot else wav_seconds(voices[said["node"]])
            for shot in params["speech"] for said in shot["said"]}


def speech_cues(params: dict[str, Any], seconds: dict[str, float]) -> list[dict[str, Any]]:
    """Each utterance of `speech_params` placed on the film's timeline, given how long each
    voice node's audio lasts: its node, start and end (seconds), speaker (None: the
    narrator) and text, in film order."""
    cues = []
    for shot in params["speech"]:
        lengths = [seconds[said["node"]] for said in shot["said"]]
        for said, start, length in zip(shot["said"], speech_starts(shot["shown_from"], params["fps"], lengths), lengths):
            cues.append({**said, "shot": shot["shot"], "start": start, "end": round(start + length, 6)})
    return cues


def subtitle_params(plan: StoryPlan, output: OutputFormat) -> dict[str, Any]:
    """The slice `subtitles` reads: where shots are, their contexts, and what is said (with sound)."""
    speech = speech_params(plan, output)["speech"] if output.sound else []
    return {**layout_params(plan, output), "contexts": [shot.context for shot in plan.shots], "speech": speech}


def subtitles(params: dict[str, Any], voices: dict[str, Path]) -> list[tuple[float, float, str]]:
    """(start, end, text) in seconds, in film order, of every subtitle: each shot's context
    (`caption_cues`), and each line while it is said, after who says it, timed by
    `line_seconds` (`voices`: voice node -> WAV); narration in italics."""
    fps = params["fps"]
    cues = [(start / fps, end / fps, _one_block(text)) for start, end, text in caption_cues(params, params["contexts"])]
    for said in speech_cues(params, line_seconds(params, voices)):
        text = _one_block(said["text"])
        cues.append((said["start"], said["end"], f"{said['speaker'].upper()}: {text}" if said["speaker"] else f"<i>{text}</i>"))
    return sorted(cues, key=lambda cue: cue[0])


def _one_block(text: str) -> str:
    """`text` without blank lines: in SubRip a blank line ends the cue, and the rest would be lost."""
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def one_at_a_time(cues: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """The same subtitles as cues that never overlap: where several show at once, one cue
    holds their lines together, in order (MP4's text track shows one sample at a time)."""
    edges = sorted({t for start, end, _ in cues for t in (start, end)})
    flat: list[tuple[float, float, str]] = []
    for start, end in zip(edges, edges[1:]):
        text = "\n".join(t for a, b, t in cues if a <= start < b)
        if not text:
            continue
        if flat and flat[-1][1] == start and flat[-1][2] == text:
            flat[-1] = (flat[-1][0], end, text)
        else:
            flat.append((start, end, text))
    return flat
