"""The diffusion backends on tiny random-weight models, through their real loading code."""

import json
import shutil
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

import scenegen.modules.shot.diffusion as shot_diffusion
from scenegen.modules.diffusion import PipelineSettings, load_pipeline
from scenegen.modules.smoothing.diffusion import DiffusersSmoothing, fill_window
from scenegen.orchestrator.store import RunDir
from scenegen.schemas.files import load_plan
from scenegen.schemas.timing import FrameLayout

from conftest import rerender, scenegen
from tiny_models import build

TINY = Path(__file__).parent / "tiny.toml"


@pytest.fixture(scope="module")
def tiny_models():
    return build()


@pytest.fixture(scope="module")
def tiny_run(tiny_models, tmp_path_factory):
    out = tmp_path_factory.mktemp("diffusion") / "run"
    result = scenegen("story", "a woman's life", "--shots", "3", "--config", str(TINY), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return RunDir(out)


def records(run: RunDir) -> dict[str, dict]:
    return {r["node"]: r for r in (json.loads(p.read_text()) for p in (run.state / "records").rglob("*.json"))}


def frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_story_with_diffusion_clips_and_boundaries(tiny_run):
    settings = json.loads(tiny_run.settings.read_text())
    assert settings["backends"]["clip"]["name"] == settings["backends"]["boundary"]["name"] == "diffusers"
    plan = load_plan(tiny_run.plan, 8)
    layout = FrameLayout.of(plan, 8)
    done = records(tiny_run)
    for span in layout.spans:
        clip = frames(tiny_run.root / done[f"clip:{span.shot_id}"]["artifact"])
        # Wan makes 4k+1 frames; the clip keeps exactly the shot's.
        assert len(clip) == span.frames and clip[0].shape == (64, 96, 3)
    boundaries = [n for n in done if n.startswith("boundary:")]
    assert boundaries
    for node in boundaries:
        shot = node.split(":")[1].split("+")[0]
        overlap = next(s.overlap_out for s in layout.spans if s.shot_id == shot)
        assert len(frames(tiny_run.root / done[node]["artifact"])) == overlap
    assert len(frames(tiny_run.root / "film.mp4")) == layout.total_frames


def test_given_frames_survive_smoothing_exactly(tiny_models):
    backend = DiffusersSmoothing({"model": str(tiny_models / "wan-vace"), "dtype": "float32", "device": "cpu",
                                  "steps": 2, "guidance": 1.0, "max_sequence_length": 16})
    backend.load()
    rng = np.random.default_rng(0)
    before = [Image.fromarray(rng.integers(0, 255, (32, 48, 3), dtype=np.uint8)) for _ in range(3)]
    after = [Image.fromarray(rng.integers(0, 255, (32, 48, 3), dtype=np.uint8)) for _ in range(4)]
    calls = []

    def generate(video, mask):
        calls.append((len(video), [m.getpixel((0, 0)) for m in mask]))
        out = backend.pipe(video=video, mask=mask, prompt="a seamless transition", height=32, width=48,
                           num_frames=len(video), num_inference_steps=2, guidance_scale=1.0,
                           max_sequence_length=16, output_type="np").frames[0]
        return [Image.fromarray((f * 255).astype(np.uint8)) for f in out]

    sequence = fill_window(before, after, 2, generate)
    # 3 + 2 + 4 = 9 frames = 4k+1; the mask keeps the given ones and generates the window.
    assert calls == [(9, [0, 0, 0, 255, 255, 0, 0, 0, 0])]
    for given, kept in zip(before + after, sequence[:3] + sequence[5:]):
        assert np.array_equal(np.asarray(given), np.asarray(kept))
    assert all(np.asarray(f).shape == (32, 48, 3) for f in sequence[3:5])


def test_the_pipeline_loads_once_per_run(tiny_models, tiny_run, tmp_path, monkeypatch):
    loads = []
    real = shot_diffusion.load_pipeline

    def counting(*args, **kwargs):
        loads.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(shot_diffusion, "load_pipeline", counting)
    run = RunDir(tmp_path / "run")
    run.root.mkdir()
    for name in ("plan.json", "settings.json"):
        shutil.copy(tiny_run.root / name, run.root / name)
    report = rerender(run)
    assert report.ok and sum(n.startswith("clip:") for n in report.executed) == 3
    assert loads == ["WanImageToVideoPipeline"]
    # And the same plan, settings and seed give the same clips.
    assert (run.root / "film.mp4").read_bytes() == (tiny_run.root / "film.mp4").read_bytes()


def test_memory_and_speed_levers_apply_on_cpu(tiny_models):
    settings = PipelineSettings(model=str(tiny_models / "wan-i2v"), dtype="float32", device="cpu", steps=2,
                                fp8_storage=True, vae_tiling=True, cache="first_block")
    pipe = load_pipeline("WanImageToVideoPipeline", settings)
    import torch

    assert pipe.transformer.blocks[0].attn1.to_q.weight.dtype == torch.float8_e4m3fn
    assert pipe.vae.use_tiling
    video = pipe(image=Image.new("RGB", (48, 32), (90, 120, 200)), prompt="a woman walks", height=32, width=48,
                 num_frames=5, num_inference_steps=2, guidance_scale=1.0, max_sequence_length=16,
                 output_type="np").frames[0]
    assert video.shape == (5, 32, 48, 3) and np.isfinite(video).all()


def test_missing_weights_and_bad_sizes_stop_before_any_work(tiny_models, tmp_path):
    config = tmp_path / "missing.toml"
    config.write_text(TINY.read_text().replace(".tiny/wan-i2v", str(tiny_models / "wan-i2v"))
                      .replace(".tiny/wan-vace", str(tmp_path / "nowhere")))
    result = scenegen("story", "x", "--shots", "2", "--config", str(config), "--out", str(tmp_path / "a"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert f"{tmp_path / 'nowhere'} does not exist" in result.stderr and "huggingface-cli download" in result.stderr
    assert not (tmp_path / "a" / "plan.json").exists()

    result = scenegen("story", "x", "--shots", "2", "--config", str(TINY), "--size", "100x64", "--out", str(tmp_path / "b"))
    assert result.returncode == 2
    assert "Wan image-to-video needs the frame width to be a multiple of 16, not 100; use --size with 96 or 112" in result.stderr
