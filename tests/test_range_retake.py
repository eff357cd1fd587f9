"""Range retakes: `redo --shot N --from T1 --to T2` draws a stretch of a clip again and keeps every other frame exactly."""

import json
from pathlib import Path

import av
import numpy as np
import pytest

from scenegen.errors import UserError
from scenegen.media import EncoderSettings
from scenegen.modules.retake.diffusers import DiffusersRetake
from scenegen.orchestrator.backend import Job
from scenegen.orchestrator.run import Run
from scenegen.orchestrator.store import RunDir
from scenegen.schemas import OutputFormat
from scenegen.schemas.plan import RangeRetake

from support.runs import edit_plan
from support.tiny_models import build

FPS = 12   # support.runs.SMALL's


def decoded(path: Path) -> list[np.ndarray]:
    """Every frame of a video as PyAV decodes it, yuv420p planes."""
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="yuv420p") for frame in container.decode(video=0)]


def artifact(run: RunDir, node: str) -> Path:
    state = next(s for s in Run(run.root).status() if s.node.id == node)
    assert state.state == "done", (node, state.state)
    return run.root / state.record.artifact


def test_a_retake_of_one_second_leaves_every_other_frame_byte_identical(small_run, cli):
    shot = Run(small_run.root).plan().shots[1]
    before = decoded(artifact(small_run, f"clip:{shot.id}"))
    film = (small_run.root / "film.mp4").read_bytes()

    result = cli("redo", str(small_run.root), "--shot", "2", "--from", "1.0", "--to", "2.0")
    assert result.exit_code == 0, result.output
    assert f"Shot 2 ({shot.id}): take 0 (seed none) -> take 1 (seed none, 1-2 s seed 1)" in result.output

    after = decoded(artifact(small_run, f"retake:{shot.id}.1"))
    assert len(after) == len(before) == round(shot.duration * FPS)
    stretch = range(1 * FPS, 2 * FPS)
    for n, (old, new) in enumerate(zip(before, after)):
        if n not in stretch:
            assert np.array_equal(old, new), f"frame {n}, outside the stretch, changed"
    changed = [n for n in stretch if not np.array_equal(before[n], after[n])]
    assert len(changed) == len(stretch), f"only frames {changed} of the stretch were drawn again"
    # The film shows the retake: the clip alone is not what changed.
    assert (small_run.root / "film.mp4").read_bytes() != film
    assert f"artifacts/retake/{shot.id}.1-" in (small_run.root / "timeline.otio").read_text()


def test_range_takes_are_listed_stack_and_come_back_with_nothing_recomputed(small_run, cli):
    root = str(small_run.root)
    film = (small_run.root / "film.mp4").read_bytes()
    shot = Run(small_run.root).plan().shots[1].id
    assert cli("redo", root, "--shot", "2", "--from", "1", "--to", "2").exit_code == 0
    retaken = (small_run.root / "film.mp4").read_bytes()
    # A second stretch is drawn over the first retake, which keeps its frames.
    first = decoded(artifact(small_run, f"retake:{shot}.1"))
    assert cli("redo", root, "--shot", "2", "--from", "0.25", "--to", "0.5", "--seed", "9").exit_code == 0
    second = decoded(artifact(small_run, f"retake:{shot}.2"))
    assert all(np.array_equal(a, b) for n, (a, b) in enumerate(zip(first, second)) if not 3 <= n < 6)
    assert json.loads(small_run.plan.read_text())["shots"][1]["retakes"] == [
        {"start": 1.0, "end": 2.0, "seed": 1}, {"start": 0.25, "end": 0.5, "seed": 9}]

    shown = cli("status", root).output
    assert (f"shot {shot}: take 2 in use; takes 0 (seed none), 1 (seed none, 1-2 s seed 1), "
            "2 (seed none, 1-2 s seed 1, 0.25-0.5 s seed 9)") in shown
    result = cli("redo", root, "--shot", "2", "--take", "0")
    assert result.exit_code == 0 and "Nothing recomputed" in result.output, result.output
    assert (small_run.root / "film.mp4").read_bytes() == film
    assert "retakes" not in json.loads(small_run.plan.read_text())["shots"][1]
    result = cli("redo", root, "--shot", "2", "--take", "1")
    assert result.exit_code == 0 and "Nothing recomputed" in result.output, result.output
    assert (small_run.root / "film.mp4").read_bytes() == retaken
    # A new take of the whole shot draws none of the stretches again, and takes a seed no take used.
    assert "-> take 3 (seed 10)" in cli("redo", root, "--shot", "2").output


@pytest.mark.parametrize("args, words", [
    (["--from", "2", "--to", "1"], "error: --to 1.0: shot 2 ("),
    (["--from", "1", "--to", "1"], "1 s is not after the start of the stretch (1 s)"),
    (["--from", "1", "--to", "99"], "error: --to 99.0: shot 2 ("),
    (["--from", "1", "--to", "1.02"], "holds no frame at 12 fps"),
    (["--from", "1"], "error: --from 1.0 needs --to too"),
    (["--to", "1"], "error: --to 1.0 needs --from too"),
    (["--from", "0", "--to", "1", "--take", "0"], "error: --take brings back a whole take; give it without --from and --to"),
    (["--from", "-1", "--to", "1"], "Invalid value for '--from'"),
], ids=["backwards", "empty", "past the end", "no frame", "no end", "no start", "with a take", "negative"])
def test_a_stretch_that_is_not_one_is_refused_naming_the_option(small_run, cli, args, words):
    before = {name: (small_run.root / name).read_bytes() for name in ("plan.json", "film.mp4")}
    result = cli("redo", str(small_run.root), "--shot", "2", *args)
    assert result.exit_code == 2 and words in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert {name: (small_run.root / name).read_bytes() for name in before} == before
    assert not (small_run.state / "takes.json").exists()


def test_the_run_api_names_its_parameters(small_run):
    run = Run(small_run.root)
    with pytest.raises(UserError) as refused:
        run.redo("2", start=1.0, end=0.5)
    assert str(refused.value).startswith("end=0.5: shot 2 (")
    with pytest.raises(UserError) as refused:
        run.redo("nine", start=0.0, end=0.5)
    assert str(refused.value).startswith("shot='nine': no such shot")


def test_a_stretch_edited_by_hand_into_the_plan_is_checked_and_rendered(small_run, cli):
    edit_plan(small_run, lambda p: p["shots"][0].update(retakes=[{"start": 0.5, "end": 0.1, "seed": 3}]))
    result = cli("render", str(small_run.root))
    assert result.exit_code == 2 and "shots[0].retakes[0].end: 0.1 s is not after the start" in result.output
    edit_plan(small_run, lambda p: p["shots"][0].update(retakes=[{"start": 0.1, "end": 0.5, "seed": 3}]))
    result = cli("render", str(small_run.root))
    assert result.exit_code == 0, result.output
    # A stretch set by hand is a take too, so a later redo can come back to it.
    assert cli("redo", str(small_run.root), "--shot", "1").exit_code == 0
    assert "takes 0 (seed none), 1 (seed none, 0.1-0.5 s seed 3), 2 (seed 4)" in cli("status", str(small_run.root)).output


@pytest.mark.torch
def test_wan_vace_draws_the_stretch_and_every_other_frame_is_kept_exactly(tmp_path):
    width, height, fps, frames = 48, 32, 8, 16
    rng = np.random.default_rng(0)
    clip = tmp_path / "clip.mp4"
    with EncoderSettings().writer(clip, fps, width, height) as video:   # lossy, as a clip is
        for _ in range(frames):
            video.write_yuv(rng.integers(0, 255, (height * 3 // 2, width), dtype=np.uint8))
    backend = DiffusersRetake({"model": str(build() / "wan-vace"), "dtype": "float32", "device": "cpu", "steps": 2,
                               "guidance": 1.0, "max_sequence_length": 16, "context": 3})
    backend.load()
    params = {"start": 8, "stop": 12, "fps": fps, "width": width, "height": height, "prompt": "a woman at a window"}
    out = tmp_path / "retake.mp4"
    backend.run(Job(node="retake:s01.1", params=params, inputs={"clip:s01": clip}, output=out, root=tmp_path,
                    seed=5, keep=tmp_path / "kept"))
    before, after = decoded(clip), decoded(out)
    assert len(after) == frames
    assert all(np.array_equal(before[n], after[n]) for n in [*range(8), *range(12, frames)])
    assert not any(np.array_equal(before[n], after[n]) for n in range(8, 12))


@pytest.mark.torch
def test_a_stretch_longer_than_wan_vace_makes_at_once_is_refused_before_any_work(small_run):
    plan = Run(small_run.root).plan()
    shot = plan.shots[0].model_copy(update={"duration": 10.0, "retakes": [RangeRetake(start=0.5, end=9.5, seed=1)]})
    backend = DiffusersRetake({"model": str(build() / "wan-vace"), "device": "cpu", "context": 4})
    output = OutputFormat(fps=16, width=96, height=64)
    with pytest.raises(UserError, match=rf"shot {shot.id}'s retake 1 redraws 144 frames, .* more than WanVACEPipeline "
                                        r"makes at once \(81\); retake a shorter stretch \(shots\[0\]\.retakes\[0\]"):
        backend.params(plan, (shot, 1), output)
    # Within the window the model takes (4.5 s and its context: 81 frames), the same stretch is drawn.
    fits = shot.model_copy(update={"retakes": [RangeRetake(start=0.5, end=5.0, seed=1)]})
    assert backend.params(plan, (fits, 1), output)["stop"] == 80
