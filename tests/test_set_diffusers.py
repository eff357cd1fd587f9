"""The diffusion set (issue 28) on tiny random-weight models: a location's plate, and the keyframes it conditions."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from scenegen.modules.keyframe.diffusers import DiffusersKeyframe
from scenegen.modules.set.animatic import view_of
from scenegen.modules.set.diffusers import DiffusersSet, joined
from scenegen.modules.shot_prompts import set_view_prompt
from scenegen.orchestrator.backend import Job

from support.tiny_models import build

KITCHEN = {"id": "kitchen", "name": "Mara's kitchen", "description": "a farmhouse kitchen with a big stove",
           "season": None, "layout": [{"what": "a window over the sink", "bearing": -60},
                                      {"what": "the stove", "bearing": 30}, {"what": "the back door", "bearing": 180}]}
CAMERA = {"shot_size": "medium", "angle": "eye_level", "fov_deg": 50.0, "bearing": 0.0}


@pytest.fixture(scope="module")
def tiny_models():
    return build()


@pytest.fixture(scope="module")
def set_backend(tiny_models):
    backend = DiffusersSet({"model": str(tiny_models / "sd15"), "dtype": "float32", "device": "cpu", "steps": 2,
                            "guidance": 1.0, "view_height": 32})
    backend.load()
    return backend


@pytest.fixture(scope="module")
def keyframe_backend(tiny_models):
    backend = DiffusersKeyframe({"model": str(tiny_models / "sd15"), "ip_adapter": str(tiny_models / "sd15" / "ip-adapter"),
                                 "dtype": "float32", "device": "cpu", "steps": 2, "guidance": 1.0, "ip_scale": 0.8,
                                 "place_scale": 0.8})
    backend.load()
    return backend


def plate(backend, tmp_path, location: dict, seed: int = 5) -> bytes:
    job = Job(node=f"set:{location['id']}", params={"style": "film", "plan_seed": 1, "location": location, "height": 64},
              inputs={}, output=tmp_path / f"{location['id']}-{seed}.png", root=tmp_path, keep=tmp_path / "kept", seed=seed)
    backend.run(job)
    return job.output.read_bytes()


def keyframe(backend, tmp_path, place: Image.Image | None, characters=("mara",), seed: int = 3) -> bytes:
    Image.new("RGB", (64, 64), (220, 30, 30)).save(tmp_path / "mara.png")
    inputs = {f"portrait:{who}": tmp_path / f"{who}.png" for who in characters}
    if place is not None:
        place.save(tmp_path / "set.png")
        inputs["set:kitchen"] = tmp_path / "set.png"
    job = Job(node="keyframe:s01", params={"characters": list(characters), "relation": "alone", "camera": CAMERA,
                                           "domains": {"subject": ["a woman"]}, "width": 64, "height": 64},
              inputs=inputs, output=tmp_path / "keyframe.png", root=tmp_path, keep=tmp_path / "kept", seed=seed)
    backend.run(job)
    return job.output.read_bytes()


def read(data: bytes) -> Image.Image:
    import io

    return Image.open(io.BytesIO(data))


@pytest.mark.torch
def test_the_plate_is_four_views_in_the_animatic_strips_geometry(set_backend, tmp_path):
    strip = read(plate(set_backend, tmp_path, KITCHEN))
    assert strip.size == (4 * 64, 32)   # four views 90° by 45°: 360° by 45°, as the animatic strip
    assert plate(set_backend, tmp_path, KITCHEN) == plate(set_backend, tmp_path, KITCHEN)
    assert plate(set_backend, tmp_path, KITCHEN, seed=6) != plate(set_backend, tmp_path, KITCHEN)
    # view_of cuts it as it cuts an animatic set: facing 0 with a 90° lens is the middle view whole.
    middle = view_of(strip.convert("RGBA"), 0, 0, 90, 64, 32).convert("RGB")
    assert np.abs(np.asarray(middle, int) - np.asarray(strip.crop((96, 0, 160, 32)), int)).mean() < 12


def test_joined_views_stand_at_their_bearings_the_one_behind_split_across_the_ends():
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    strip = np.asarray(joined([Image.new("RGB", (10, 5), c) for c in colours], (0, 90, 180, -90)))
    # x = (bearing + 180) / 360 * 40: 0 at 20, 90 at 30, 180 at both ends, -90 at 10.
    assert [tuple(strip[2, x]) for x in (0, 4, 5, 14, 15, 24, 25, 34, 35, 39)] == [
        colours[2], colours[2], colours[3], colours[3], colours[0], colours[0], colours[1], colours[1], colours[2], colours[2]]


def test_each_view_is_prompted_with_what_stands_at_its_bearing():
    fits = lambda text: len(text.split()) < 60
    ahead, behind = (set_view_prompt("film noir", KITCHEN, bearing, 90, fits) for bearing in (0, 180))
    assert "stove" in ahead and "back door" not in ahead and "window over the sink" not in ahead
    assert "back door" in behind and "the stove" not in behind
    assert "farmhouse kitchen" in ahead and "film noir" in behind and "empty of people" in ahead


@pytest.mark.torch
def test_the_plate_conditions_the_keyframe(set_backend, keyframe_backend, tmp_path):
    kitchen = read(plate(set_backend, tmp_path, KITCHEN))
    other = read(plate(set_backend, tmp_path, {**KITCHEN, "id": "barn", "description": "an old barn full of hay"}))
    assert kitchen.tobytes() != other.tobytes()
    one = keyframe(keyframe_backend, tmp_path, kitchen)
    assert keyframe(keyframe_backend, tmp_path, kitchen) == one      # one plate, one seed: the same bytes
    assert keyframe(keyframe_backend, tmp_path, other) != one        # another plate: another keyframe
    assert keyframe(keyframe_backend, tmp_path, None) != one         # and the plate is not nothing
    # With nobody in the shot the place is the only image prompt, and it still counts.
    assert keyframe(keyframe_backend, tmp_path, kitchen, ()) != keyframe(keyframe_backend, tmp_path, other, ())


@pytest.mark.torch
def test_a_place_at_no_weight_leaves_the_keyframe_to_its_characters(tiny_models, set_backend, tmp_path):
    backend = DiffusersKeyframe({"model": str(tiny_models / "sd15"), "ip_adapter": str(tiny_models / "sd15" / "ip-adapter"),
                                 "dtype": "float32", "device": "cpu", "steps": 2, "guidance": 1.0, "ip_scale": 0.8,
                                 "place_scale": 0.0})
    backend.load()
    kitchen = read(plate(set_backend, tmp_path, KITCHEN))
    other = read(plate(set_backend, tmp_path, {**KITCHEN, "id": "barn", "description": "an old barn full of hay"}))
    assert keyframe(backend, tmp_path, kitchen) == keyframe(backend, tmp_path, other)
