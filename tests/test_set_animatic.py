"""The animatic set (issue 28): one place drawn all round, and each shot's view cut from it."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from scenegen.modules.set.animatic import dimmed, draw_set, view_of

WIDTH, HEIGHT = 2880, 360  # 360 by 45 degrees: eight pixels to a degree both ways
VIEW = (320, 180)
KITCHEN = {
    "id": "kitchen", "name": "Mara's kitchen", "description": "a farmhouse kitchen with a big stove",
    "time_of_day": "morning", "season": None,
    "layout": [{"what": "a window over the sink", "bearing": -60}, {"what": "the stove", "bearing": 30},
               {"what": "shelves of jars", "bearing": 100}, {"what": "the back door", "bearing": 180}],
}
SHORE = {
    "id": "shore", "name": "The shore", "description": "a pebble beach below the cliffs", "time_of_day": "dusk",
    "season": "winter",
    "layout": [{"what": "the sea", "bearing": -90}, {"what": "the mountains", "bearing": 90},
               {"what": "the forest", "bearing": 180}],
}
@pytest.fixture(scope="module")
def kitchen():
    return draw_set(KITCHEN, WIDTH, HEIGHT, seed=3)


def pixels(image) -> np.ndarray:
    return np.asarray(image).astype(int)


def overlap_difference(first, second, degrees: float, fov: float) -> float:
    """Mean difference of the columns two views share when the second faces `degrees` further right."""
    shift = round(degrees / fov * first.shape[1])
    assert shift * fov == degrees * first.shape[1], "the shared strips must start on a column"
    return float(np.abs(first[:, shift:] - second[:, :-shift]).mean())


def best_match(first, second, least: int = 80) -> float:
    """The smallest mean difference of two views over every sideways shift that leaves `least` columns shared."""
    width = first.shape[1]
    return min(float(np.abs(a[:, shift:] - b[:, :width - shift]).mean())
               for shift in range(width - least) for a, b in ((first, second), (second, first)))


def test_two_views_of_one_set_share_the_region_they_both_face(kitchen):
    """Facing 0 and 20 degrees with 50-degree lenses, both see -5..25: the same pixels there."""
    ahead, turned = (pixels(view_of(kitchen, bearing, 0, 50, *VIEW)) for bearing in (0, 20))
    matched = overlap_difference(ahead, turned, 20, 50)
    assert matched < 0.5, matched
    # The match is of pixels that differ: unshifted, the two views do not agree.
    assert np.abs(ahead - turned).mean() > 10 * max(matched, 1.0)


def test_a_reverse_view_shows_the_opposite_side(kitchen):
    ahead, reverse = (pixels(view_of(kitchen, bearing, 0, 50, *VIEW)) for bearing in (0, 180))
    # No shift lines them up: they share the floor's colour and nothing else.
    assert best_match(ahead, reverse) > 8, best_match(ahead, reverse)
    # The door at bearing 180 is in the reverse and nowhere in the view ahead.
    doorless = draw_set({**KITCHEN, "layout": KITCHEN["layout"][:-1]}, WIDTH, HEIGHT, seed=3)
    assert (pixels(view_of(doorless, 0, 0, 50, *VIEW)) == ahead).all()
    door = np.abs(pixels(view_of(doorless, 180, 0, 50, *VIEW)) - reverse).sum(axis=2) > 40
    assert door.mean() > 0.05, door.mean()


def test_views_wrap_round_behind_the_camera(kitchen):
    """179 and -179 are two degrees apart across the strip's ends, where the back door stands."""
    left_of_behind, right_of_behind = (pixels(view_of(kitchen, bearing, 0, 40, *VIEW)) for bearing in (179, -179))
    assert overlap_difference(left_of_behind, right_of_behind, 2, 40) < 0.5
    assert (right_of_behind == pixels(view_of(kitchen, 181, 0, 40, *VIEW))).all()
    # The door, 9 degrees wide across the ends, stands whole a degree right of the view's centre.
    doorless = draw_set({**KITCHEN, "layout": KITCHEN["layout"][:-1]}, WIDTH, HEIGHT, seed=3)
    door = np.abs(pixels(view_of(doorless, 179, 0, 40, *VIEW)) - left_of_behind).sum(axis=2).max(axis=0) > 40
    columns = np.nonzero(door)[0]
    per_degree = VIEW[0] / 40
    assert abs(columns.min() - (VIEW[0] / 2 + (1 - 4.5) * per_degree)) <= 2, columns.min()
    assert abs(columns.max() - (VIEW[0] / 2 + (1 + 4.5) * per_degree)) <= 2, columns.max()


def test_tilting_down_slides_the_set_up_the_frame(kitchen):
    level, down = (pixels(view_of(kitchen, 30, pitch, 50, *VIEW)) for pitch in (0, -10))
    rows = round(10 * VIEW[1] / (50 * VIEW[1] / VIEW[0]))  # the view is as many pixels to a degree down as across
    assert np.abs(level[rows:] - down[:-rows]).mean() < 0.5
    assert np.abs(level - down).mean() > 5


def test_the_set_is_its_words_and_seed(kitchen):
    def png(image) -> bytes:
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()

    assert png(draw_set(KITCHEN, WIDTH, HEIGHT, seed=3)) == png(kitchen)
    classroom = draw_set({**KITCHEN, "description": "a village classroom"}, WIDTH, HEIGHT, seed=3)
    moved = draw_set({**KITCHEN, "layout": [*KITCHEN["layout"][:-1], {"what": "the back door", "bearing": 150}]},
                     WIDTH, HEIGHT, seed=3)
    for other in (classroom, moved, draw_set(KITCHEN, WIDTH, HEIGHT, seed=4)):
        assert (np.abs(pixels(other) - pixels(kitchen)).sum(axis=2) > 40).mean() > 0.01


def test_two_places_are_two_sets(kitchen):
    shore = draw_set(SHORE, WIDTH, HEIGHT, seed=3)
    assert (np.abs(pixels(shore) - pixels(kitchen)).sum(axis=2) > 60).mean() > 0.5
    # Outdoors the sky is left clear for the shot's hour.
    assert (pixels(shore)[0, :, 3] == 0).all() and (pixels(kitchen)[0, :, 3] == 255).mean() > 0.8


def test_the_hour_dims_the_place_and_leaves_its_sky_clear(kitchen):
    window = view_of(kitchen, -60, 5, 50, *VIEW)
    clear = pixels(window)[..., 3] == 0
    assert clear.mean() > 0.02, "the window's panes are clear"
    noon, night = pixels(dimmed(window, "noon")), pixels(dimmed(window, "night"))
    assert (noon[..., 3] == pixels(window)[..., 3]).all() and (night[..., 3] == pixels(window)[..., 3]).all()
    assert noon[~clear][:, :3].mean() > night[~clear][:, :3].mean() + 40


def keyframe_of(tmp_path, place: dict, bearing: float, name: str) -> np.ndarray:
    """A keyframe with nobody in it, of `place` from `bearing`, through the real set and keyframe backends."""
    from scenegen.modules.keyframe.animatic import AnimaticKeyframe
    from scenegen.modules.set.animatic import AnimaticSet
    from scenegen.orchestrator.backend import Job

    folder = tmp_path / name
    folder.mkdir()
    common = {"root": folder, "keep": folder / "kept", "seed": 5}
    AnimaticSet({}).run(Job(node=f"set:{place['id']}", params={"location": place, "height": 90, "style": "",
                                                                  "plan_seed": 0},
                            inputs={}, output=folder / "set.png", **common))
    lighting = {"time_of_day": "noon", "key_light": "front", "color_temperature_k": 5600, "contrast": "medium",
                "mood": "calm", "text": "t"}
    params = {"style": "", "plan_seed": 0, "take": None, "characters": [], "ages": {}, "character": "",
              "background": place["description"], "relation": "", "lighting": lighting, "width": 160, "height": 90,
              "camera": {"shot_size": "wide", "angle": "eye_level", "fov_deg": 50.0, "bearing": bearing}}
    AnimaticKeyframe({}).run(Job(node="keyframe:s1", params=params, inputs={f"set:{place['id']}": folder / "set.png"},
                                 output=folder / "keyframe.png", **common))
    return pixels(Image.open(folder / "keyframe.png").convert("RGB"))


def test_keyframes_of_one_place_are_cut_from_its_set(tmp_path):
    ahead, turned = keyframe_of(tmp_path, KITCHEN, 0, "ahead"), keyframe_of(tmp_path, KITCHEN, 15, "turned")
    reverse = keyframe_of(tmp_path, KITCHEN, 180, "reverse")
    elsewhere = keyframe_of(tmp_path, SHORE, 0, "shore")
    # A turn of 15° slides the room sideways: the frames match where they overlap, as nothing else does.
    assert best_match(ahead, turned) < 6
    assert best_match(ahead, reverse) > 3 * best_match(ahead, turned)
    assert np.abs(ahead - elsewhere).mean() > 30
