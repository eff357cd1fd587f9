"""Every character of a shot referenced in its clip: a family that takes reference images (WanVACE) is given
the portraits of the shot's characters and the view of its location's set beside the keyframe; one that
cannot is refused in one line when the DAG is built. Real diffusers pipelines on tiny random weights."""

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from scenegen.errors import UserError
from scenegen.modules.clip.diffusers import DiffusersClip
from scenegen.orchestrator.backend import Job
from scenegen.orchestrator.graph import RenderGraph
from scenegen.schemas import OutputFormat
from scenegen.schemas.files import load_plan
from scenegen.schemas.settings import RenderSettings

from support.runs import scenegen
from support.tiny_models import build

pytestmark = pytest.mark.torch

TINY = Path(__file__).parent / "tiny.toml"
VACE_CLIP = 'family = "wan_vace", model = "{models}/wan-vace"'


@pytest.fixture(scope="module")
def tiny_models():
    return build()


def clip_settings(tiny_models: Path, **more) -> dict:
    return {"family": "wan_vace", "model": str(tiny_models / "wan-vace"), "dtype": "float32", "device": "cpu",
            "steps": 2, "guidance": 1.0, "max_sequence_length": 16, **more}


def frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_the_clip_is_given_its_characters_and_the_side_of_the_place_it_faces(tiny_models, tmp_path):
    backend = DiffusersClip(clip_settings(tiny_models))
    backend.check(OutputFormat(width=96, height=64, fps=8))
    pipe = backend.load_pipe()
    given = []

    def recording(**kwargs):   # the real pipeline, its reference images kept to look at
        given.append(kwargs["reference_images"])
        return pipe(**kwargs)

    backend.load_pipe = lambda: recording
    backend.load()
    Image.new("RGB", (96, 64), (120, 90, 60)).save(tmp_path / "key.png")
    Image.new("RGB", (64, 64), (200, 40, 40)).save(tmp_path / "mara.png")
    Image.new("RGB", (64, 64), (40, 40, 200)).save(tmp_path / "ivo.png")
    # A set strip, 360° by 45°, green rising from bearing -180 at the left to 180 at the right.
    strip = np.zeros((32, 256, 3), np.uint8)
    strip[:, :, 1] = np.linspace(0, 255, 256).astype(np.uint8)[None, :]
    Image.fromarray(strip).save(tmp_path / "set.png")
    camera = {"shot_size": "medium", "angle": "eye_level", "movement": "static", "fov_deg": 50.0}

    def clip(bearing: float, name: str) -> list[np.ndarray]:
        job = Job(node="clip:s01", params={"prompt": "a street", "frames": 9, "fps": 8, "width": 96, "height": 64,
                                           "camera": camera, "bearing": bearing},
                  inputs={"keyframe:s01": tmp_path / "key.png", "portrait:mara": tmp_path / "mara.png",
                          "portrait:ivo": tmp_path / "ivo.png", "set:street": tmp_path / "set.png"},
                  output=tmp_path / f"{name}.mp4", root=tmp_path, keep=tmp_path / "kept", seed=3)
        backend.run(job)
        return frames(job.output)

    ahead, again, behind = clip(0, "ahead"), clip(0, "again"), clip(180, "behind")
    assert len(ahead) == 9 and ahead[0].shape == (64, 96, 3)
    assert all(np.array_equal(a, b) for a, b in zip(ahead, again))
    # Each character's portrait, in the shot's order, then the place as the camera faces it.
    mara, ivo, place = given[0]
    assert mara.getpixel((0, 0)) == (200, 40, 40) and ivo.getpixel((0, 0)) == (40, 40, 200)
    assert place.size == (96, 64)
    green = [np.asarray(view)[:, :, 1].astype(int) for view in (place, given[2][2])]
    # Facing bearing 0, the middle of the strip, green rising left to right; facing 180, its two ends met,
    # the right end on the left.
    assert abs(green[0].mean() - 128) < 20 and green[0][:, :48].mean() < green[0][:, 48:].mean()
    assert green[1][:, :48].mean() > 200 and green[1][:, 48:].mean() < 55


def test_a_family_that_takes_no_references_is_refused_when_asked(tiny_models, tmp_path):
    refused = DiffusersClip({**clip_settings(tiny_models), "family": "wan", "model": str(tiny_models / "wan-i2v"),
                             "references": True})
    with pytest.raises(UserError, match="references: family 'wan' takes no reference images"):
        refused.check(OutputFormat(width=96, height=64, fps=8))
    config = tmp_path / "refs.toml"
    config.write_text(TINY.read_text().replace(".tiny/", f"{tiny_models}/").replace(
        "max_sequence_length = 16 }", "max_sequence_length = 16, references = true }", 1))
    result = scenegen("story", "a woman's life", "--shots", "2", "--config", str(config), "--out", str(tmp_path / "run"))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "takes no reference images" in result.stderr
    assert "[backends.clip.settings]" in result.stderr


def test_a_story_gives_each_clip_its_characters_and_place(tiny_models, tmp_path):
    config = tmp_path / "vace.toml"
    text = TINY.read_text().replace(".tiny/", f"{tiny_models}/")
    config.write_text(text.replace(f'model = "{tiny_models}/wan-i2v"', VACE_CLIP.format(models=tiny_models)))
    result = scenegen("story", "a woman's life", "--shots", "2", "--config", str(config), "--out", str(tmp_path / "run"),
                      timeout=900)
    assert result.returncode == 0, result.stderr
    run = tmp_path / "run"
    plan = load_plan(run / "plan.json", 8)
    settings = RenderSettings.model_validate_json((run / "settings.json").read_text())
    graph = RenderGraph(plan, settings)
    for shot in plan.shots:
        assert graph.node(f"clip:{shot.id}").inputs == (f"keyframe:{shot.id}", *(f"portrait:{c}" for c in shot.characters),
                                                         *([f"set:{shot.location}"] if shot.location else []))
    assert any(shot.characters for shot in plan.shots) and any(shot.location for shot in plan.shots)
    with av.open(str(run / "film.mp4")) as film:
        assert film.streams.video[0].frames > 0
    # Wan I2V takes the keyframe alone: its clips' keys depend on nothing else, as before.
    backends = settings.model_dump(mode="json")["backends"]
    backends["clip"]["settings"] |= {"family": "wan", "model": str(tiny_models / "wan-i2v")}
    plain = RenderGraph(plan, RenderSettings.model_validate(settings.model_dump(mode="json") | {"backends": backends}))
    assert all(plain.node(f"clip:{shot.id}").inputs == (f"keyframe:{shot.id}",) for shot in plan.shots)
