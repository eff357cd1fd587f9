"""Background consistency: keyframes of one place, people masked out, score as one place, and two places
as two, through the real set, portrait and keyframe backends."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from scenegen.evaluation.background import background_feature, background_similarity, lab
from scenegen.modules.keyframe.animatic import AnimaticKeyframe
from scenegen.modules.portrait.animatic import AnimaticPortrait
from scenegen.modules.set.animatic import AnimaticSet
from scenegen.orchestrator.backend import Job

from support.runs import SMALL, scenegen
from test_set_animatic import KITCHEN, SHORE

MARA = {"id": "mara", "name": "Mara", "appearance": "a woman with long red hair in a green coat"}
LIGHTING = {"time_of_day": "noon", "key_light": "front", "color_temperature_k": 5600, "contrast": "medium",
            "mood": "calm", "text": "t"}


def keyframe(tmp_path, name: str, place: dict, bearing: float, people: list[str], shot_size: str = "wide",
             angle: str = "eye_level"):
    """A keyframe of `place` from `bearing` with `people` in it, and the figure boxes its record keeps."""
    folder = tmp_path / name
    folder.mkdir()
    common = {"root": folder, "keep": folder / "kept", "seed": 5}
    AnimaticSet({}).run(Job(node=f"set:{place['id']}", output=folder / "set.png", inputs={},
                            params={"location": place, "height": 90, "style": "", "plan_seed": 0}, **common))
    AnimaticPortrait({}).run(Job(node="portrait:mara", params={"character": MARA, "style": "", "plan_seed": 0},
                                 inputs={}, output=folder / "mara.png", **common))
    params = {"style": "", "plan_seed": 0, "take": None, "characters": people, "ages": {}, "character": "",
              "background": place["description"], "relation": "", "lighting": LIGHTING, "width": 160, "height": 90,
              "camera": {"shot_size": shot_size, "angle": angle, "fov_deg": 50.0, "bearing": bearing}}
    inputs = {f"set:{place['id']}": folder / "set.png", "portrait:mara": folder / "mara.png"}
    facts = AnimaticKeyframe({}).run(Job(node="keyframe:s1", params=params, inputs=inputs,
                                         output=folder / "keyframe.png", **common))
    return Image.open(folder / "keyframe.png").convert("RGB"), facts["figures"]


def test_a_dutch_keyframe_turns_its_figure_boxes_with_the_frame(tmp_path):
    _, level = keyframe(tmp_path, "level", KITCHEN, 0, ["mara"], "full")
    _, dutch = keyframe(tmp_path, "dutch", KITCHEN, 0, ["mara"], "full", angle="dutch")
    # A standing figure turned 7 degrees needs a wider box than the level one: the box turns with the frame.
    assert len(dutch) == len(level) == 1
    assert dutch[0][2] - dutch[0][0] > level[0][2] - level[0][0] + 5


def test_cielab_of_known_colours():
    assert np.allclose(lab(np.array([255, 255, 255], dtype=np.uint8)), [100, 0, 0], atol=0.1)
    assert np.allclose(lab(np.array([0, 0, 0], dtype=np.uint8)), [0, 0, 0], atol=0.1)
    red = lab(np.array([255, 0, 0], dtype=np.uint8))
    assert np.allclose(red, [53.2, 80.1, 67.2], atol=0.5)


def test_the_keyframe_records_a_box_round_each_figure(tmp_path):
    image, figures = keyframe(tmp_path, "mara", KITCHEN, 0, ["mara"], "medium")
    empty, none = keyframe(tmp_path, "nobody", KITCHEN, 0, [], "medium")
    assert none == [] and len(figures) == 1
    changed = np.abs(np.asarray(image, dtype=int) - np.asarray(empty, dtype=int)).sum(axis=2) > 0
    x0, y0, x1, y1 = figures[0]
    inside = np.zeros_like(changed)
    inside[y0:y1, x0:x1] = True
    assert changed.any() and not (changed & ~inside).any(), "every pixel the figure changed lies in its box"


def test_masking_the_people_out_leaves_the_place(tmp_path):
    image, figures = keyframe(tmp_path, "mara", KITCHEN, 0, ["mara"], "medium")
    empty, _ = keyframe(tmp_path, "nobody", KITCHEN, 0, [], "medium")
    place = background_feature(empty, [])
    masked = background_similarity(background_feature(image, figures), place)
    unmasked = background_similarity(background_feature(image, []), place)
    assert masked > 0.95
    assert unmasked < masked - 0.1, "without the mask, the figure counts as background"


def test_one_place_from_two_bearings_scores_high_and_two_places_low(tmp_path):
    kitchen = background_feature(*keyframe(tmp_path, "ahead", KITCHEN, 0, ["mara"]))
    turned = background_feature(*keyframe(tmp_path, "turned", KITCHEN, 20, ["mara"], "full"))
    shore = background_feature(*keyframe(tmp_path, "shore", SHORE, 0, ["mara"]))
    assert background_similarity(kitchen, turned) > 0.75
    assert background_similarity(kitchen, shore) < 0.3
    assert background_similarity(kitchen, kitchen) > 0.999


@pytest.mark.slow
def test_eval_scores_shots_of_one_location_above_shots_of_different_ones(tmp_path):
    # The life returns to its places only at 30 shots; silent and small, it renders in seconds.
    run = tmp_path / "run"
    made = scenegen("story", "a woman's life", "--shots", "30", "--no-sound", "--out", str(run), *SMALL)
    assert made.returncode == 0, made.stderr
    result = scenegen("eval", str(run))
    assert result.returncode == 0, result.stderr
    background = json.loads((run / "metrics.json").read_text())["background"]
    assert background["why"] == "measured"
    assert background["same_location_pairs"] >= 12 and background["different_location_pairs"] >= 300
    assert background["same_location"] > background["different_location"] + 0.3
    shown = f"same location {background['same_location']:.4f} over {background['same_location_pairs']} pairs"
    assert shown in result.stdout
    report = (run / "report.html").read_text()
    assert "<h2>Background consistency</h2>" in report and f"{background['same_location']:.3f}" in report
