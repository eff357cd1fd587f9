"""The joint audio-video clip backend (LTX-2) on a tiny random-weight model, and the film that
takes each shot's lines from its clip's own sound track (`dialogue = "clip"`)."""

import json
import shutil
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio
import pytest

from scenegen.errors import UserError
from scenegen.media import read_sound_track
from scenegen.modules.clip.ltx2 import LTX2Clip
from scenegen.orchestrator.render import status
from scenegen.orchestrator.store import RunDir
from scenegen.schemas import OutputFormat
from scenegen.schemas.files import load_plan
from scenegen.schemas.timing import FrameLayout, utterances

from support.runs import scenegen, subtitle_cues
from support.tiny_models import build

FPS = 8


def config(ltx2: Path, dialogue: str = "clip") -> str:
    """The tiny LTX-2 at the film's own rate (no retiming: that is the same code as the other clip
    backends'), one pass per step: no guidance of either modality."""
    return f"""
[output]
fps = {FPS}
width = 96
height = 64
dialogue = "{dialogue}"

[backends.clip]
name = "ltx2"
settings = {{ model = "{ltx2}", dtype = "float32", device = "cpu", steps = 2, guidance = 1.0, audio_guidance = 1.0, stg_scale = 0.0, modality_scale = 1.0, native_fps = {FPS}, max_sequence_length = 256 }}
"""


@pytest.fixture(scope="module")
def ltx2_model():
    return build(only=("ltx2",)) / "ltx2"


def offline_plan(path: Path) -> dict:
    """The offline planner's 3-shot plan, edited to have each kind of shot: narrated, spoken, silent."""
    result = scenegen("plan", "two sisters argue over a letter", "--shots", "3", "-o", str(path))
    assert result.returncode == 0, result.stderr
    plan = json.loads(path.read_text())
    second, third = plan["shots"][1:]
    second |= {"narration": None, "dialogue": [{"speaker": second["characters"][0], "text": "Read it to me, then."}]}
    third["narration"] = None
    path.write_text(json.dumps(plan, indent=2))
    return plan


@pytest.fixture(scope="module")
def joint_run(ltx2_model, tmp_path_factory) -> RunDir:
    root = tmp_path_factory.mktemp("joint")
    (root / "joint.toml").write_text(config(ltx2_model))
    offline_plan(root / "run" / "plan.json")
    result = scenegen("render", str(root / "run"), "--config", str(root / "joint.toml"))
    assert result.returncode == 0, result.stderr
    return RunDir(root / "run")


@pytest.mark.torch
@pytest.mark.slow
def test_the_clips_sound_says_the_lines_in_the_film(joint_run):
    plan = load_plan(joint_run.plan, FPS)
    layout = FrameLayout.of(plan, FPS)
    nodes = {s.node.id: s for s in status(joint_run)}
    speaking = [shot for shot in plan.shots if utterances(plan, shot)]
    assert [shot.id for shot in speaking] == ["s01", "s02"], "the narrated and the spoken shot; not the silent one"
    assert not [n for n in nodes if n.startswith("voice:")], "the clips say the lines: no voice node is built"
    assert {f"clip:{shot.id}" for shot in speaking} <= set(nodes["mix"].node.inputs)

    film = joint_run.root / "film.mp4"
    heard, rate = read_sound_track(film)
    with av.open(str(film)) as container:
        assert sum(1 for _ in container.decode(video=0)) == layout.total_frames
    for span in layout.spans:
        # Each clip is the shot's frames with a sound track as long as they are.
        clip = joint_run.root / nodes[f"clip:{span.shot_id}"].record.artifact
        with av.open(str(clip)) as container:
            assert sum(1 for _ in container.decode(video=0)) == span.frames
        track, track_rate = read_sound_track(clip)
        # AAC decodes in whole frames of 1024 samples: the last one is filled out with silence.
        assert track_rate == rate and 0 <= len(track) - span.frames * rate // FPS < 1024
        # Random weights make noise, not words; the film's sound where the shot is on screen follows
        # the clip's track from the frame the film shows first, under the pad, where the shot speaks.
        first, end = (round(frame / FPS * rate) for frame in span.shown)
        offset = round((span.shown[0] - span.start) / FPS * rate)
        played, own = heard[first:end].mean(axis=1), track[offset:offset + end - first].mean(axis=1)
        n = min(len(played), len(own))
        follows = np.corrcoef(played[:n], own[:n])[0, 1]
        if span.shot_id == "s03":
            assert abs(follows) < 0.2, "a silent shot's clip track is not played"
        else:
            assert follows > 0.5, f"{span.shot_id}'s clip track is what the film plays there"
    spans = {span.shot_id: span for span in layout.spans}
    # The score ducks under each speaking shot's whole track, and the mix is brought to its loudness target.
    mixed = nodes["mix"].record.facts
    assert mixed["speech_seconds"] == pytest.approx(sum((spans[s.id].shown[1] - spans[s.id].shown[0]) / FPS
                                                        for s in speaking), abs=1e-3)
    assert mixed["loudness_lufs"] == pytest.approx(-16.0, abs=0.5) or mixed["true_peak_dbtp"] == pytest.approx(-1.0, abs=0.1)

    # Every line has its subtitle, inside the shot that says it, timed from just after the shot comes on.
    cues = subtitle_cues(film)
    for shot in speaking:
        first, end = (frame / FPS for frame in spans[shot.id].shown)
        for said in utterances(plan, shot):
            text = " ".join(said.text.split())
            cue = next(c for c in cues if text in " ".join(c[2].split()))
            assert first < cue[0] < end
    srt = (joint_run.root / "shots.srt").read_text()
    assert all(" ".join(u.text.split())[:20] in " ".join(srt.split()) for shot in speaking for u in utterances(plan, shot))


@pytest.mark.torch
@pytest.mark.slow
def test_the_timeline_lays_each_speaking_clips_sound_on_the_dialogue_track(joint_run):
    plan = load_plan(joint_run.plan, FPS)
    layout = {span.shot_id: span for span in FrameLayout.of(plan, FPS).spans}
    timeline = otio.adapters.read_from_file(str(joint_run.root / "timeline.otio"))
    dialogue = next(t for t in timeline.audio_tracks() if t.name == "dialogue")
    clips = {c.name: c for c in dialogue.find_clips()}
    speaking = [shot for shot in plan.shots if utterances(plan, shot)]
    assert set(clips) == {shot.id for shot in speaking}
    for shot in speaking:
        clip, span = clips[shot.id], layout[shot.id]
        assert clip.media_reference.target_url.endswith(".mp4"), "it points at the clip, whose sound it is"
        placed = dialogue.range_of_child(clip)
        assert placed.start_time.to_seconds() == pytest.approx(span.shown[0] / FPS, abs=1e-3)
        assert placed.duration.to_seconds() == pytest.approx((span.shown[1] - span.shown[0]) / FPS, abs=1e-3)
        assert clip.source_range.start_time.to_seconds() == pytest.approx((span.shown[0] - span.start) / FPS, abs=1e-3)
        said = clip.metadata["scenegen"]["lines"]
        assert [line["text"] for line in said] == [u.text for u in utterances(plan, shot)]


@pytest.mark.torch
def test_the_prompt_quotes_each_line_after_who_says_it_and_how(ltx2_model, tmp_path):
    offline_plan(tmp_path / "plan.json")
    plan = load_plan(tmp_path / "plan.json", FPS)
    shot = plan.shots[1]
    backend = LTX2Clip({"model": str(ltx2_model), "device": "cpu"})
    prompt = backend.params(plan, shot, OutputFormat(fps=FPS, width=96, height=64))["prompt"]
    speaker = plan.character(shot.dialogue[0].speaker).name
    assert f'{speaker} says, in a' in prompt and f'"{" ".join(shot.dialogue[0].text.split())}"' in prompt
    assert "voice" in prompt.split(f"{speaker} says")[1].split('"')[0]


@pytest.mark.torch
def test_a_clip_backend_without_sound_cannot_say_the_lines(tmp_path):
    (tmp_path / "silent.toml").write_text('[output]\ndialogue = "clip"\n')
    result = scenegen("story", "a letter", "--shots", "2", "--config", str(tmp_path / "silent.toml"),
                      "--out", str(tmp_path / "run"))
    assert result.returncode == 2
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert "'animatic' makes no sound" in message and "dialogue" in message and "--config" in message


@pytest.mark.torch
def test_a_shot_longer_than_one_generation_is_refused_by_name(ltx2_model, tmp_path):
    offline_plan(tmp_path / "plan.json")
    plan = load_plan(tmp_path / "plan.json", FPS)
    backend = LTX2Clip({"model": str(ltx2_model), "device": "cpu", "native_fps": FPS, "max_frames": 33})
    with pytest.raises(UserError) as refused:
        backend.params(plan, plan.shots[0], OutputFormat(fps=FPS, width=96, height=64))
    message = str(refused.value)
    assert f"shot {plan.shots[0].id} lasts {plan.shots[0].duration} s" in message and "max_frames" in message


@pytest.mark.torch
@pytest.mark.slow
def test_a_range_retake_keeps_the_clips_sound_and_eval_hears_the_film(joint_run, tmp_path):
    """A retake redraws pictures only: the mix and the timeline still take the shot's sound from its clip, and
    eval, with no voice node to measure a pitch from, says so instead of failing."""
    run = RunDir(tmp_path / "run")
    shutil.copytree(joint_run.root, run.root)
    spoken = next(shot for shot in load_plan(run.plan, FPS).shots if shot.dialogue)
    result = scenegen("redo", str(run.root), "--shot", str(spoken.index), "--from", "0.25", "--to", "0.75")
    assert result.returncode == 0, result.stderr
    timeline = otio.adapters.read_from_file(str(run.root / "timeline.otio"))
    pictures = {c.name: c.media_reference.target_url for c in next(iter(timeline.video_tracks())).find_clips()}
    sounds = {c.name: c.media_reference.target_url for t in timeline.audio_tracks() if t.name == "dialogue"
              for c in t.find_clips()}
    assert f"/retake/{spoken.id}.1-" in pictures[spoken.id] and f"/clip/{spoken.id}-" in sounds[spoken.id]
    result = scenegen("eval", str(run.root))
    assert result.returncode == 0, result.stderr
    voices = json.loads((run.root / "metrics.json").read_text())["hearing"]["voices"]
    assert voices and all(v["median_f0_hz"] is None and v["typical"] is None for v in voices)
