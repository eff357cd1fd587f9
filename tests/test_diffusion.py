"""The diffusion backends on tiny random-weight models, through their real loading code."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from scenegen.modules.boundary.diffusers import DiffusersBoundary, fill_window, window_layout
from scenegen.modules.clip.diffusers import DiffusersClip
from scenegen.modules.diffusers_backend import PipelineSettings, load_pipeline
from scenegen.modules.keyframe.diffusers import DiffusersKeyframe, regions
from scenegen.modules.portrait.diffusers import DiffusersPortrait
from scenegen.orchestrator.backend import Job
from scenegen.orchestrator.render import status
from scenegen.orchestrator.run import GENERATIVE
from scenegen.orchestrator.store import RunDir
from scenegen.schemas.files import load_plan
from scenegen.schemas.timing import FrameLayout

from support.runs import edit_plan, rerender, scenegen
from support.tiny_models import build

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
    """The record of every node as the plan stands now."""
    return {s.node.id: s.record.__dict__ for s in status(run) if s.record}


def frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.mark.torch
def test_story_with_every_stage_on_diffusion(tiny_run):
    settings = json.loads(tiny_run.settings.read_text())
    assert {settings["backends"][k]["name"] for k in ("portrait", "set", "keyframe", "clip", "boundary")} == {"diffusers"}
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


@pytest.mark.torch
def test_ltx_makes_the_clips_and_boundaries_too(tiny_models, tmp_path):
    config = tmp_path / "ltx.toml"
    text = TINY.read_text().replace(".tiny/", f"{tiny_models}/")
    text = text.replace(f'model = "{tiny_models}/wan-i2v"', f'family = "ltx", model = "{tiny_models}/ltx"')
    # The boundary's model (the first of the two WanVACE models: the retake's has no family to choose).
    config.write_text(text.replace(f'model = "{tiny_models}/wan-vace"', f'family = "ltx", model = "{tiny_models}/ltx"', 1))
    result = scenegen("story", "a woman's life", "--shots", "3", "--config", str(config), "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    run = RunDir(tmp_path / "run")
    settings = json.loads(run.settings.read_text())
    assert settings["backends"]["clip"]["settings"]["family"] == settings["backends"]["boundary"]["settings"]["family"] == "ltx"
    layout = FrameLayout.of(load_plan(run.plan, 8), 8)
    done = records(run)
    for span in layout.spans:
        assert len(frames(run.root / done[f"clip:{span.shot_id}"]["artifact"])) == span.frames
    assert len(frames(run.root / "film.mp4")) == layout.total_frames
    # LTX wants multiples of 32: 80 is refused before any work, naming what would do.
    before = run.settings.read_bytes()
    result = scenegen("render", str(run.root), "--size", "80x64")
    assert result.returncode == 2 and "LTXConditionPipeline needs the frame width to be a multiple of 32, not 80" in result.stderr
    assert run.settings.read_bytes() == before, "a refused option must not change the run's settings"


@pytest.mark.torch
def test_given_frames_survive_smoothing_exactly(tiny_models):
    backend = DiffusersBoundary({"model": str(tiny_models / "wan-vace"), "dtype": "float32", "device": "cpu",
                                  "steps": 2, "guidance": 1.0, "max_sequence_length": 16})
    pipe = load_pipeline("WanVACEPipeline", backend.settings, "wan_vace")
    rng = np.random.default_rng(0)
    before = [Image.fromarray(rng.integers(0, 255, (32, 48, 3), dtype=np.uint8)) for _ in range(3)]
    after = [Image.fromarray(rng.integers(0, 255, (32, 48, 3), dtype=np.uint8)) for _ in range(4)]
    calls = []

    def generate(video, mask):
        calls.append((len(video), [m.getpixel((0, 0)) for m in mask]))
        out = pipe(video=video, mask=mask, prompt="a seamless transition", height=32, width=48,
                           num_frames=len(video), num_inference_steps=2, guidance_scale=1.0,
                           max_sequence_length=16, output_type="np").frames[0]
        return [Image.fromarray((f * 255).astype(np.uint8)) for f in out]

    sequence = fill_window(before, after, 2, generate)
    # 3 + 2 + 4 = 9 frames = 4k+1; the mask keeps the given ones and generates the window.
    assert calls == [(9, [0, 0, 0, 255, 255, 0, 0, 0, 0])]
    for given, kept in zip(before + after, sequence[:3] + sequence[5:]):
        assert np.array_equal(np.asarray(given), np.asarray(kept))
    assert all(np.asarray(f).shape == (32, 48, 3) for f in sequence[3:5])


@pytest.mark.torch
def test_a_long_shot_is_made_in_chunks_at_the_models_rate_and_retimed(tiny_models, tmp_path):
    """12 s at the film's 8 fps: tiny Wan makes it at its 16 fps, 17 frames at a time, each
    chunk starting on the last frame of the one before, then the frames are retimed to 8."""
    from scenegen.media import frames_to_cover
    from scenegen.modules.clip.diffusers import chunk_lengths

    backend = DiffusersClip({"model": str(tiny_models / "wan-i2v"), "dtype": "float32", "device": "cpu", "steps": 2,
                             "guidance": 1.0, "max_sequence_length": 16, "chunk_frames": 17})
    calls = []
    pipe = backend.load_pipe()

    def recording(**kwargs):
        result = pipe(**kwargs)
        calls.append({"image": np.asarray(kwargs["image"]), "frames": kwargs["num_frames"],
                      "seed": kwargs["generator"].initial_seed(), "last": result.frames[0][-1]})
        return result

    backend.load_pipe = lambda: recording
    backend.load()
    Image.new("RGB", (96, 64), (120, 90, 60)).save(tmp_path / "key.png")
    job = Job(node="clip:s01", params={"prompt": "a woman walks", "frames": 96, "fps": 8, "width": 96, "height": 64},
              inputs={"keyframe:s01": tmp_path / "key.png"}, output=tmp_path / "clip.mp4", root=tmp_path,
              keep=tmp_path / "kept", seed=5)
    backend.run(job)
    needed = frames_to_cover(96, 16, 8)
    assert [c["frames"] for c in calls] == chunk_lengths(needed, 17, 4) and len(calls) > 10
    assert sum(c["frames"] for c in calls) - (len(calls) - 1) >= needed
    # Each chunk starts from the last frame of the one before, as it came out of the model.
    for before, after in zip(calls, calls[1:]):
        assert np.abs(after["image"].astype(int) - np.clip(before["last"] * 255 + 0.5, 0, 255).astype(int)).max() == 0
    assert calls[0]["seed"] == 5 and len({c["seed"] for c in calls}) == len(calls)
    assert len(frames(tmp_path / "clip.mp4")) == 96


@pytest.mark.torch
def test_sana_wm_follows_the_camera_path(tiny_models, tmp_path):
    """One keyframe, one seed: a static camera and a pan give two clips, the same path the same clip."""
    from scenegen.schemas.settings import OutputFormat

    backend = DiffusersClip({"family": "sana_wm", "model": str(tiny_models / "sana-wm"), "dtype": "float32",
                             "device": "cpu", "steps": 2, "guidance": 1.0, "max_sequence_length": 16})
    backend.check(OutputFormat(width=96, height=64, fps=8))
    backend.load()
    Image.new("RGB", (96, 64), (120, 90, 60)).save(tmp_path / "key.png")

    def clip(movement: str, name: str) -> list[np.ndarray]:
        camera = {"shot_size": "medium", "angle": "eye_level", "movement": movement, "movement_amount": 1.0, "fov_deg": 45}
        job = Job(node="clip:s01", params={"prompt": "a street", "frames": 16, "fps": 8, "width": 96, "height": 64,
                                           "camera": camera},
                  inputs={"keyframe:s01": tmp_path / "key.png"}, output=tmp_path / f"{name}.mp4", root=tmp_path,
                  keep=tmp_path / "kept", seed=3)
        backend.run(job)
        return frames(tmp_path / f"{name}.mp4")

    still, panned, again = clip("static", "still"), clip("pan_right", "panned"), clip("static", "again")
    # Levers not known to work on it are refused when the DAG is built, not halfway through a render.
    from scenegen.errors import UserError

    for lever, reason in (({"cache": "taylorseer"}, "not checked on SANA-WM"),
                          ({"loras": [{"path": str(tiny_models / "wan-i2v-lora")}]}, "loads no LoRA")):
        refused = DiffusersClip({"family": "sana_wm", "model": str(tiny_models / "sana-wm"), "device": "cpu", **lever})
        with pytest.raises(UserError, match=reason):
            refused.check(OutputFormat(width=96, height=64, fps=8))
    assert len(still) == len(panned) == 16
    assert np.array_equal(still[0], panned[0]), "both start from the keyframe"
    assert max(np.abs(a.astype(int) - b).max() for a, b in zip(still, panned)) > 5
    assert all(np.array_equal(a, b) for a, b in zip(still, again))


@pytest.mark.parametrize("step", [4, 8])
@pytest.mark.parametrize("context, window", [(1, 1), (4, 2), (4, 4), (4, 12), (5, 7), (9, 16)])
def test_the_smoothing_window_keeps_to_the_latent_groups(step, context, window):
    """The VAE packs frame 0 alone, then `step` frames per latent: the generated run starts
    and ends on a latent boundary, so no latent mixes given frames and generated ones."""
    before, generated, after = window_layout(context, window, step)
    assert before % step == 1 % step and generated % step == 0 and after % step == 0
    assert before >= context and after >= context and window <= generated < window + step
    assert (before + generated + after) % step == 1 % step, "a length the model can make"


@pytest.mark.torch
def test_a_dissolve_is_a_dissolve_on_the_diffusion_backend_too(tiny_models, tmp_path):
    """The model is not asked: the two shots' own frames cross-fade, as the animatic's do."""
    from scenegen.media import EncoderSettings, yuv_frames

    for name, luma in (("a", 50), ("b", 150)):
        planes = np.full((48 * 3 // 2, 64), 128, np.uint8)
        planes[:48] = luma
        with EncoderSettings(crf=0).writer(tmp_path / f"{name}.mp4", 12, 64, 48) as video:
            for _ in range(20):
                video.write_yuv(planes)
    backend = DiffusersBoundary({"model": str(tiny_models / "wan-vace"), "crf": 0})
    job = Job(node="boundary:a+b", params={"type": "dissolve", "frames": 3, "fps": 12, "width": 64, "height": 48,
                                           "prompt": "p"},
              inputs={"clip:a": tmp_path / "a.mp4", "clip:b": tmp_path / "b.mp4"}, output=tmp_path / "out.mp4",
              root=tmp_path, keep=tmp_path / "kept", seed=0)
    backend.run(job)   # never loaded: a dissolve needs no model
    assert [float(f[:48].mean()) for f in yuv_frames(tmp_path / "out.mp4")] == pytest.approx([75, 100, 125], abs=0.5)


@pytest.mark.torch
def test_the_pipeline_loads_once_per_run(tiny_models, tiny_run, tmp_path, monkeypatch):
    loads = []
    real = DiffusersClip.load_pipe

    def counting(backend):
        loads.append(backend.family.pipeline)
        return real(backend)

    monkeypatch.setattr(DiffusersClip, "load_pipe", counting)
    run = RunDir(tmp_path / "run")
    run.root.mkdir()
    for name in ("plan.json", "settings.json"):
        shutil.copy(tiny_run.root / name, run.root / name)
    report = rerender(run)
    assert report.ok and sum(n.startswith("clip:") for n in report.executed) == 3
    assert loads == ["WanImageToVideoPipeline"]
    # And the same plan, settings and seed give the same clips.
    assert (run.root / "film.mp4").read_bytes() == (tiny_run.root / "film.mp4").read_bytes()


@pytest.mark.torch
def test_memory_and_speed_levers_apply_on_cpu(tiny_models):
    settings = PipelineSettings(model=str(tiny_models / "wan-i2v"), dtype="float32", device="cpu", steps=2,
                                fp8_storage=True, vae_tiling=True, cache="first_block")
    pipe = load_pipeline("WanImageToVideoPipeline", settings, "wan")
    import torch

    assert pipe.transformer.blocks[0].attn1.to_q.weight.dtype == torch.float8_e4m3fn
    assert pipe.vae.use_tiling
    video = pipe(image=Image.new("RGB", (48, 32), (90, 120, 200)), prompt="a woman walks", height=32, width=48,
                 num_frames=5, num_inference_steps=2, guidance_scale=1.0, max_sequence_length=16,
                 output_type="np").frames[0]
    assert video.shape == (5, 32, 48, 3) and np.isfinite(video).all()


@pytest.mark.torch
def test_missing_weights_and_bad_sizes_stop_before_any_work(tiny_models, tmp_path):
    config = tmp_path / "missing.toml"
    config.write_text(TINY.read_text().replace(".tiny/wan-vace", str(tmp_path / "nowhere"))
                      .replace(".tiny/", f"{tiny_models}/"))
    result = scenegen("story", "x", "--shots", "2", "--config", str(config), "--out", str(tmp_path / "a"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert f"{tmp_path / 'nowhere'} does not exist" in result.stderr and "huggingface-cli download" in result.stderr
    assert not (tmp_path / "a" / "plan.json").exists()

    result = scenegen("story", "x", "--shots", "2", "--config", str(TINY), "--size", "104x64", "--out", str(tmp_path / "b"))
    assert result.returncode == 2
    assert "WanImageToVideoPipeline needs the frame width to be a multiple of 16, not 104; use --size with 96 or 112" in result.stderr


def keyframe_backend(tiny_models, scale: float, faceid: bool = False, guidance: float = 1.0) -> DiffusersKeyframe:
    settings = {"model": str(tiny_models / "sd15"), "ip_adapter": str(tiny_models / "sd15" / "ip-adapter"),
                "dtype": "float32", "device": "cpu", "steps": 2, "guidance": guidance, "ip_scale": scale}
    if faceid:
        settings |= {"ip_adapter": str(tiny_models / "sd15-faceid"), "ip_adapter_kind": "faceid",
                     "ip_adapter_weight": "ip-adapter-faceid.safetensors", "face_model": str(tiny_models / "arcface" / "arcface.onnx")}
    backend = DiffusersKeyframe(settings)
    backend.load()
    return backend


def keyframe_with(tiny_models, tmp_path, portrait: Image.Image, scale: float, **kind) -> bytes:
    backend = keyframe_backend(tiny_models, scale, **kind)
    portrait.save(tmp_path / "portrait.png")
    job = Job(node="keyframe:s01", params={"characters": ["mara"], "relation": "alone", "domains": {"subject": ["a woman"]},
                                           "width": 64, "height": 64},
              inputs={"portrait:mara": tmp_path / "portrait.png"}, output=tmp_path / "out.png", root=tmp_path, keep=tmp_path / "kept", seed=3)
    backend.run(job)
    return (tmp_path / "out.png").read_bytes()


@pytest.mark.torch
def test_the_portrait_reaches_the_unet_through_the_ip_adapter(tiny_models, tmp_path):
    red, blue = Image.new("RGB", (64, 64), (220, 30, 30)), Image.new("RGB", (64, 64), (30, 30, 220))
    assert keyframe_with(tiny_models, tmp_path, red, 0.8) != keyframe_with(tiny_models, tmp_path, blue, 0.8)
    # At scale 0 the image branch contributes nothing: the portrait no longer matters.
    assert keyframe_with(tiny_models, tmp_path, red, 0.0) == keyframe_with(tiny_models, tmp_path, blue, 0.0)


@pytest.mark.torch
@pytest.mark.parametrize("guidance", [1.0, 3.0])
def test_faceid_embeds_the_portraits_face_with_insightface(tiny_models, tmp_path, guidance):
    from insightface.model_zoo.arcface_onnx import ArcFaceONNX

    backend = keyframe_backend(tiny_models, 0.8, faceid=True, guidance=guidance)
    assert isinstance(backend.faces.recognizer, ArcFaceONNX)  # insightface routed our ONNX file to its ArcFace code
    red = Image.new("RGB", (64, 64), (220, 30, 30))
    embedding = backend.face_embedding(red)
    assert embedding.shape == (512,) and abs(np.linalg.norm(embedding) - 1) < 1e-5
    assert not np.allclose(embedding, backend.face_embedding(Image.new("RGB", (64, 64), (30, 30, 220))))
    blue = Image.new("RGB", (64, 64), (30, 30, 220))
    assert (keyframe_with(tiny_models, tmp_path, red, 0.8, faceid=True, guidance=guidance)
            != keyframe_with(tiny_models, tmp_path, blue, 0.8, faceid=True, guidance=guidance))
    assert (keyframe_with(tiny_models, tmp_path, red, 0.0, faceid=True, guidance=guidance)
            == keyframe_with(tiny_models, tmp_path, blue, 0.0, faceid=True, guidance=guidance))


@pytest.mark.torch
def test_faceid_keyframes_render_with_nobody_in_them_and_with_a_portrait_without_a_face(tiny_models, tmp_path):
    backend = keyframe_backend(tiny_models, 0.8, faceid=True)
    nobody = Job(node="keyframe:s01", params={"characters": [], "relation": "an empty street", "domains": {"place": ["a street"]},
                                              "width": 64, "height": 64},
                 inputs={}, output=tmp_path / "nobody.png", root=tmp_path, keep=tmp_path / "kept", seed=3)
    assert backend.run(nobody) == {"prompt": "a street."} and Image.open(tmp_path / "nobody.png").size == (64, 64)
    assert keyframe_backend(tiny_models, 0.8).run(nobody) == {"prompt": "a street."}, "the image adapter takes an empty shot too"

    # A detector that finds no face: that character keeps no identity (scale 0) instead of failing the shot.
    blind = DiffusersKeyframe({**backend.settings.model_dump(), "face_detector": str(tiny_models / "face-detector-blind" / "detector.onnx")})
    blind.load()
    Image.new("RGB", (64, 64), (220, 30, 30)).save(tmp_path / "portrait.png")
    job = Job(node="keyframe:s02", params={"characters": ["mara"], "relation": "alone", "domains": {"subject": ["a woman"]},
                                           "width": 64, "height": 64},
              inputs={"portrait:mara": tmp_path / "portrait.png"}, output=tmp_path / "faceless.png", root=tmp_path,
              keep=tmp_path / "kept", seed=3)
    assert blind.run(job) == {"faces_not_found": ["mara"], "prompt": "a woman."}
    assert Image.open(tmp_path / "faceless.png").size == (64, 64)


@pytest.mark.torch
def test_faceid_without_a_face_model_is_a_clear_error(tiny_models):
    from scenegen.errors import UserError

    with pytest.raises(UserError, match="ip_adapter_kind 'faceid' needs face_model"):
        DiffusersKeyframe({"model": str(tiny_models / "sd15"), "ip_adapter": str(tiny_models / "sd15-faceid"),
                           "ip_adapter_kind": "faceid"})


@pytest.mark.torch
def test_a_new_portrait_redraws_exactly_the_keyframes_that_show_the_character(tiny_run, tmp_path):
    # Drawn portraits (a tiny random SD paints near-identical ones whatever the prompt)
    # under diffusion keyframes: a recoloured character must reach the keyframes.
    run = RunDir(tmp_path / "run")
    shutil.copytree(tiny_run.root, run.root)
    settings = json.loads(run.settings.read_text())
    settings["backends"]["portrait"] = {"name": "animatic", "settings": {}}
    run.settings.write_text(json.dumps(settings))
    assert rerender(run).ok
    plan = load_plan(run.plan, 8)
    character = plan.characters[1]
    showing = {s.id for s in plan.shots if character.id in s.characters}
    assert showing and len(showing) < len(plan.shots)
    before = records(run)
    edit_plan(run, lambda p: p["characters"][1].update(appearance="short silver hair, a crimson coat"))
    report = rerender(run)
    assert report.ok
    redrawn = {n.split(":")[1] for n in report.executed if n.startswith("keyframe:")}
    assert redrawn == showing
    after = records(run)
    for shot in showing:
        assert after[f"keyframe:{shot}"]["sha256"] != before[f"keyframe:{shot}"]["sha256"]


@pytest.mark.torch
def test_weights_changed_in_place_make_what_they_made_stale(tiny_models, tiny_run, tmp_path):
    from safetensors.torch import load_file, save_file

    run = RunDir(tmp_path / "run")
    shutil.copytree(tiny_run.root, run.root)
    model = tmp_path / "wan-vace"
    shutil.copytree(tiny_models / "wan-vace", model)
    settings = json.loads(run.settings.read_text())
    settings["backends"]["boundary"]["settings"]["model"] = str(model)
    run.settings.write_text(json.dumps(settings))
    assert rerender(run).ok
    boundaries = {s.node.id for s in status(run) if s.node.kind == "boundary"}
    assert boundaries, "the tiny run has no transition to smooth"
    assert "Nothing to do" in scenegen("render", str(run.root)).stdout

    # Other values, same path, same size: another model.
    weights = next((model / "transformer").glob("*.safetensors"))
    tensors = load_file(weights)
    save_file({name: tensor + 0.5 for name, tensor in tensors.items()}, weights)
    stale = {s.node.id for s in status(run) if s.state != "done"}
    assert boundaries <= stale and not any(n.startswith(("portrait", "keyframe", "clip")) for n in stale)
    result = scenegen("render", str(run.root))
    assert result.returncode == 0, result.stderr
    assert "Nothing to do" not in result.stdout and all(n in result.stdout for n in boundaries)
    assert all(s.state == "done" for s in status(run))


def test_the_weights_of_a_model_id_are_its_snapshot_in_the_hugging_face_cache(tmp_path):
    repo = tmp_path / "hub" / "models--acme--tiny"
    snapshot = repo / "snapshots" / "0123abcd"
    (snapshot / "unet").mkdir(parents=True)
    (snapshot / "model_index.json").write_text("{}")
    (snapshot / "unet" / "weights.safetensors").write_bytes(b"weights")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    # huggingface_hub reads its cache location when imported: a fresh interpreter sees this one.
    probe = "from scenegen.modules.diffusers_backend import PipelineSettings; print(*PipelineSettings(model='acme/tiny').weight_files())"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            env={**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(snapshot / "model_index.json"), str(snapshot / "unet" / "weights.safetensors")]


def test_masks_follow_the_relation():
    def centres(relation):
        return [np.nonzero(np.asarray(m)[0])[0].mean() for m in regions(relation, 2, 200, 50)]

    close, apart = centres("they embrace"), centres("facing each other across the room")
    assert close[0] < close[1] and apart[0] < apart[1]
    assert apart[1] - apart[0] > close[1] - close[0]


@pytest.mark.torch
def test_backend_option_switches_every_generative_stage(tiny_run, tmp_path):
    run = RunDir(tmp_path / "run")
    shutil.copytree(tiny_run.root, run.root)
    result = scenegen("render", str(run.root), "--backend", "animatic")
    assert result.returncode == 0, result.stderr
    settings = json.loads(run.settings.read_text())
    assert {settings["backends"][k]["name"] for k in GENERATIVE} == {"animatic"}
    result = scenegen("story", "x", "--shots", "2", "--backend", "diffusers", "--out", str(tmp_path / "bare"))
    assert result.returncode == 2
    assert "settings for portrait backend 'diffusers': model: Field required" in result.stderr
    assert "--config" in result.stderr


@pytest.mark.torch
def test_sdxl_portraits_and_keyframes(tiny_models, tmp_path):
    common = {"model": str(tiny_models / "sdxl"), "dtype": "float32", "device": "cpu", "steps": 2, "guidance": 1.0}
    portrait = DiffusersPortrait({**common, "size": 64})
    portrait.load()
    assert type(portrait.pipe).__name__ == "StableDiffusionXLPipeline"
    portrait.run(Job(node="portrait:mara", params={"style": "film", "character": {"id": "mara", "name": "Mara",
                     "appearance": "long auburn hair"}}, inputs={}, output=tmp_path / "mara.png", root=tmp_path, keep=tmp_path / "kept", seed=1))
    assert Image.open(tmp_path / "mara.png").size == (64, 64)
    keyframe = DiffusersKeyframe({**common, "ip_adapter": str(tiny_models / "sdxl" / "ip-adapter")})
    keyframe.load()
    keyframe.run(Job(node="keyframe:s01", params={"characters": ["mara"], "relation": "alone", "domains": {"subject": ["a woman"]},
                                                  "width": 96, "height": 64},
                     inputs={"portrait:mara": tmp_path / "mara.png"}, output=tmp_path / "k.png", root=tmp_path, keep=tmp_path / "kept", seed=1))
    assert Image.open(tmp_path / "k.png").size == (96, 64)


@pytest.mark.torch
def test_stages_load_in_dag_order_once_each_and_one_pipeline_at_a_time(tiny_run, tmp_path, monkeypatch):
    import gc
    import weakref

    loaded: list[tuple[str, weakref.ref]] = []
    alive_at_load: list[list[str]] = []

    def instrument(backend_class):
        real = backend_class.load_pipe

        def load_pipe(backend):
            gc.collect()
            alive_at_load.append([kind for kind, pipe in loaded if pipe() is not None])
            pipe = real(backend)
            loaded.append((backend.kind, weakref.ref(pipe)))
            return pipe

        monkeypatch.setattr(backend_class, "load_pipe", load_pipe)

    for backend_class in (DiffusersPortrait, DiffusersKeyframe, DiffusersClip, DiffusersBoundary):
        instrument(backend_class)
    run = RunDir(tmp_path / "run")
    run.root.mkdir()
    for name in ("plan.json", "settings.json"):
        shutil.copy(tiny_run.root / name, run.root / name)
    assert rerender(run).ok
    assert [kind for kind, _ in loaded] == ["portrait", "keyframe", "clip", "boundary"]
    # Under the default budget, each stage's pipeline was gone (collected) before the next loaded.
    assert alive_at_load == [[], [], [], []]
    gc.collect()
    assert all(pipe() is None for _, pipe in loaded), "the run's end releases the last stage too"

    # After an edit to one shot's camera only the stages with stale nodes load: no portrait.
    loaded.clear()
    edit_plan(run, lambda p: p["shots"][1]["camera"].update(movement="crane_up", text="the camera cranes up"))
    report = rerender(run)
    assert report.ok
    stale = {node.split(":")[0] for node in report.executed}
    assert [kind for kind, _ in loaded] == [k for k in ("portrait", "keyframe", "clip", "boundary") if k in stale]
    assert "portrait" not in stale and "keyframe" in stale


@pytest.mark.torch
def test_a_run_whose_boundaries_are_all_dissolves_never_loads_the_smoothing_model(tiny_run, tmp_path, monkeypatch):
    loads = []
    monkeypatch.setattr(DiffusersBoundary, "load_pipe", lambda backend: loads.append(backend.family.pipeline))
    run = RunDir(tmp_path / "run")
    run.root.mkdir()
    for name in ("plan.json", "settings.json"):
        shutil.copy(tiny_run.root / name, run.root / name)
    edit_plan(run, lambda p: [s["transition"].update(type="dissolve") for s in p["shots"] if s["transition"]["type"] == "smooth"])
    report = rerender(run)
    assert report.ok and sum(node.startswith("boundary:") for node in report.executed) == 2
    assert loads == []

