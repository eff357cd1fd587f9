"""Where each shot's frames land in the film.

A shot lasts round(duration * fps) frames in its clip. A dissolve or smooth
transition of w frames overlaps the last w frames of one clip with the first w of the
next, and the boundary node regenerates those w frames. So the film has
sum(shot frames) - sum(transition frames) frames, and every edit tool that reads the
timeline (captions, OTIO) sees the same numbers.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from dataclasses import dataclass

from scenegen.schemas.plan import ScoreChange, Shot, StoryPlan, TransitionType, voice_of

# A natural speaking pace (150 words a minute), and the breath taken at a comma or between
# sentences, for plans checked before any voice exists.
WORDS_PER_SECOND = 2.5
PUNCTUATION_PAUSE = 0.25
SPEECH_LEAD = 0.25    # seconds between a shot coming on screen and its first word, and after its last
SPEECH_PAUSE = 0.3    # seconds between one speaker's line and the next


# A range retake's node names, which the graph, the segments, the timeline and eval share.
def retake_subject(shot: Shot, number: int) -> str:
    """The subject of a shot's `number`th (1-based) range retake's node."""
    return f"{shot.id}.{number}"


def shown_clip(shot: Shot) -> str:
    """The node whose video the film shows for `shot`: its clip, or its last range retake."""
    return f"retake:{retake_subject(shot, len(shot.retakes))}" if shot.retakes else f"clip:{shot.id}"


@dataclass(frozen=True)
class ShotSpan:
    shot_id: str
    frames: int           # frames in the shot's clip
    overlap_in: int       # frames shared with the previous shot
    overlap_out: int      # frames shared with the next shot
    start: int            # film frame where the clip's first frame lands

    @property
    def end(self) -> int:
        return self.start + self.frames

    @property
    def shown(self) -> tuple[int, int]:
        """Film frames [first, end) where this shot is the one on screen: each transition is
        shared at its middle, where an editor would cut (captions change there too)."""
        return self.start + self.overlap_in // 2, self.end - (self.overlap_out - self.overlap_out // 2)


@dataclass(frozen=True)
class FrameLayout:
    fps: int
    spans: tuple[ShotSpan, ...]

    @property
    def total_frames(self) -> int:
        return self.spans[-1].end

    @classmethod
    def of(cls, plan: StoryPlan, fps: int) -> "FrameLayout":
        spans = []
        start = 0
        overlap_in = 0
        for i, shot in enumerate(plan.shots):
            frames = round(shot.duration * fps)
            last = i == len(plan.shots) - 1
            transition = shot.transition
            overlap_out = 0 if last or transition.type == TransitionType.cut else round(transition.duration * fps)
            spans.append(ShotSpan(shot.id, frames, overlap_in, overlap_out, start))
            start += frames - overlap_out
            overlap_in = overlap_out
        return cls(fps, tuple(spans))


@dataclass(frozen=True)
class Utterance:
    """One thing said in a shot: its narration (part "narration") or a line (part "1", "2", ...)."""

    shot_id: str
    part: str
    speaker: str | None      # a character id; None for the narrator
    text: str
    pace: float

    @property
    def node(self) -> str:
        return f"voice:{self.shot_id}.{self.part}"


def utterances(plan: StoryPlan, shot: Shot) -> list[Utterance]:
    """What is said in `shot`, in the order it is said: the narration, then the lines."""
    said = [("narration", None, shot.narration)] if shot.narration else []
    said += [(str(n), line.speaker, line.text) for n, line in enumerate(shot.dialogue, start=1)]
    return [Utterance(shot.id, part, speaker, text, voice_of(plan, speaker).pace) for part, speaker, text in said]


def spoken_seconds(text: str, pace: float) -> float:
    """How long `text` takes at a natural pace times `pace`: what the plan is checked against."""
    pauses = len(re.findall(r"[,;:.!?…]+(?=\s+\S)", text))
    return max(0.5, spoken_words(text) / (WORDS_PER_SECOND * pace) + pauses * PUNCTUATION_PAUSE)


# Scripts written without spaces between words (CJK, kana, Thai) and Hangul: one syllable a
# character, counted as a word; more than such text takes, on the safe side.
SYLLABIC = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def spoken_words(text: str) -> int:
    """The words `text` is said in: a dash or slash parts words, a number is the words it is
    read as ("2,345,678" is thirteen; one too long to name, a word a digit), each syllabic
    character is one."""
    # Combining marks (Devanagari's vowel signs, Arabic's and Hebrew's points, a decomposed
    # accent) belong to the letter before them: without them a word's letters run on.
    letters = "".join(ch for ch in text if not unicodedata.category(ch).startswith("M"))
    words = 0
    for token in re.findall(r"\d[\d,.]*\d|\d|[^\W\d_]+(?:['’][^\W\d_]+)*", letters):
        if token[0].isdigit():
            words += _number_words(token.replace(",", ""))
        else:
            words += len(SYLLABIC.findall(token)) or 1
    return words


def _number_words(number: str) -> int:
    return len(re.findall(r"[a-z]+", number_in_words(number)))


def number_in_words(number: str) -> str:
    """How `number` (digits, maybe a decimal point; no commas) is read out: in words, or digit by
    digit when it is too long to name."""
    import inflect  # only for text with numbers in it

    try:
        return _english().number_to_words(number)
    except (inflect.NumOutOfRangeError, IndexError):  # past decillions inflect runs out of names
        return " ".join(_english().number_to_words(digit) for digit in number if digit.isdigit())


@functools.cache
def _english():
    import inflect

    return inflect.engine()


def speaking_seconds(said: list[tuple[str, float]]) -> float:
    """Seconds of screen a shot's words need, each (text, pace): the lead in and out, each
    said at a natural pace, the pauses between them."""
    if not said:
        return 0.0
    return 2 * SPEECH_LEAD + sum(spoken_seconds(text, pace) for text, pace in said) + SPEECH_PAUSE * (len(said) - 1)


def seconds_to_say(said: list[tuple[str, float]], overlap_in: float, overlap_out: float) -> float:
    """Seconds a shot must last for its words where it is on screen (half of each transition's
    seconds belong to the neighbour): what a planner gives a shot that speaks, a little to
    spare, rounded up to a quarter second."""
    if not said:
        return 0.0
    return math.ceil((speaking_seconds(said) + (overlap_in + overlap_out) / 2 + 0.1) * 4) / 4


def speech_starts(shown_from: int, fps: int, seconds: list[float]) -> list[float]:
    """Film times (seconds) where a shot's utterances start, given how long each lasts: one
    after the other, from just after the shot comes on screen at film frame `shown_from`."""
    at = shown_from / fps + SPEECH_LEAD
    starts = []
    for duration in seconds:
        starts.append(round(at, 6))
        at += duration + SPEECH_PAUSE
    return starts


def speech_frames_needed(plan: StoryPlan, shot: Shot, span: ShotSpan, fps: int) -> int:
    """Frames the shot must last for its utterances to fit where it is shown, at a natural pace."""
    said = [(u.text, u.pace) for u in utterances(plan, shot)]
    if not said:
        return 0
    return math.ceil(speaking_seconds(said) * fps) + (span.shown[0] - span.start) + (span.end - span.shown[1])


@dataclass(frozen=True)
class ScoreScene:
    """One piece of the score: from an enter (or the film's start) to the next enter, stop or the end."""

    shot_id: str                 # the shot it enters in, which names its node ("score:s04")
    mood: str
    start: float                 # film seconds
    seconds: float
    cues: tuple[tuple[float, str], ...]  # (seconds from its start, "swell" | "drop")
    fades_out: bool              # ends at a stop (fades away), not at the next piece

    @property
    def node(self) -> str:
        return f"score:{self.shot_id}"


def score_scenes(plan: StoryPlan, layout: FrameLayout) -> list[ScoreScene]:
    """The pieces of the plan's score, placed on the film's timeline."""
    if plan.score is None:
        return []
    spans = {span.shot_id: span for span in layout.spans}
    fps = layout.fps

    def time(shot_id: str, at: float) -> float:
        # A share of the time the shot is the one on screen: shots follow one another there
        # without overlap, so cues in (shot, at) order are in film order too.
        first, end = spans[shot_id].shown
        return round((first + at * (end - first)) / fps, 6)

    film_end = layout.total_frames / fps
    scenes: list[dict] = []
    playing = None   # the scene now playing, as it is being built
    # The score plays from the first frame in its own mood, unless the first cue starts a piece there.
    opening = plan.score.cues[:1]
    if not (opening and opening[0].change == ScoreChange.enter and time(opening[0].shot, opening[0].at) == 0):
        playing = {"shot_id": plan.shots[0].id, "mood": plan.score.mood.value, "start": 0.0, "cues": []}
    for cue in plan.score.cues:
        when = time(cue.shot, cue.at)
        if cue.change == ScoreChange.enter:
            if playing:
                scenes.append({**playing, "end": when, "fades_out": False})
            mood = (cue.mood or plan.score.mood).value
            playing = {"shot_id": cue.shot, "mood": mood, "start": when, "cues": []}
        elif cue.change == ScoreChange.stop:
            scenes.append({**playing, "end": when, "fades_out": True})
            playing = None
        else:
            playing["cues"].append((round(when - playing["start"], 6), cue.change.value))
    if playing:
        scenes.append({**playing, "end": film_end, "fades_out": False})
    return [ScoreScene(s["shot_id"], s["mood"], s["start"], round(s["end"] - s["start"], 6), tuple(s["cues"]),
                       s["fades_out"]) for s in scenes if s["end"] > s["start"]]
