"""Animatic set: a location drawn once, all the way round, and each shot's view cut from it.

**The strip.** `draw_set` draws the place as a 360° panoramic strip, RGBA:
- x is the bearing, equirectangular in yaw: x = (bearing + 180) / 360 * width. Bearing 0, the
  location's front (what a camera with bearing 0 faces), is the middle column; both ends of
  the strip are the same line, straight behind (bearing ±180).
- y is the pitch, linear from +22.5° at the top row to -22.5° at the bottom, so the horizon
  is the middle row. A strip eight times as wide as it is tall has square degrees. A keyframe
  draws 20° to 24° above its horizon (lenses of 50° to 60°), and its scenery is drawn in
  proportion to that height, so at 22.5° the keyframe's scenery keeps its proportions here.
- The place's words pick its scenery with the keyframe's own vocabulary and drawing
  (`scenegen.modules.scenery`): a room is four walls, the front one furnished as the keyframe
  furnishes a room, the others bare but for a window; open country is four quarters of its
  scenery. Each wall or quarter is drawn as the keyframe draws one frame, 90° wide; out of
  doors a tree or a building may be cut where two quarters meet.
- The layout stands at its bearings on top: a window, a door, a stove, shelves; the sea, a
  forest or mountains over a quarter of the horizon. A shot and its reverse see different
  things because different things stand there.
- It is drawn under neutral daylight and its sky is left clear (alpha 0), outdoors and
  through the windows: the hour and the weather belong to the shot, and `lit` paints them
  into each view. The location's own time of day is only the shots' default; its season
  tints open ground (winter's snow, autumn's brown).

**A view.** `view_of` cuts what a camera facing `bearing` sees: `fov_deg` wide, as tall as
the output's aspect makes it, centred on `pitch`, wrapping round the strip's ends, resampled
to the output size. Above +22.5° and below -22.5° the strip's top and bottom rows continue: the
sky or the wall goes on up, the ground on down. `camera_view` is that cut for a shot's camera:
where it faces, its lens, and its angle's horizon (HORIZON), as both keyframe backends take it.

The cut is cylindrical: it takes the strip's degrees as they are and does not reproject them
onto a flat (rectilinear) image plane. So a pan slides the picture without bending it, and two
views of one place that overlap show the same pixels where they overlap, which is what lets
shots of one set match; a rectilinear cut would bend the strip's lines a little toward the
edges of a wide lens, and the animatic's flat drawings gain nothing from it. The set stands at
infinity: a camera's travel (dolly, truck, orbit's path) brings no parallax, only its turns do.

The keyframe (keyframe/animatic.py) cuts its view where its camera faces, at its angle's
horizon, `dimmed` for its hour, and paints its sky behind it and its people, weather and
light over it.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from typing import Any, ClassVar

import numpy as np
from PIL import Image, ImageDraw

from scenegen.modules.scenery import PEAKS, WINDOW_DAY, draw_peaks, draw_scenery, place_of
from scenegen.modules.set import SetBackend
from scenegen.orchestrator.backend import Job
from scenegen.schemas import OutputFormat, StoryPlan
from scenegen.schemas.plan import Location

PITCH_TOP = 22.5                 # the strip's top row looks this far up, its bottom row as far down
PITCH_SPAN = 2 * PITCH_TOP
CLEAR = (0, 0, 0, 0)             # where the sky shows: painted by `lit` at the shot's hour
NOWHERE = place_of("")           # what words that name no place are drawn as
# Outdoors, a season tints the ground: (colour, share of it).
SEASON_GROUND = {"winter": ((232, 238, 244), 0.75), "autumn": ((170, 120, 60), 0.35)}
# How much of the day's light is left at the hour, on what the set drew under daylight.
HOUR_LIGHT = {"dusk": 0.8, "night": 0.45}
# How wide a layout item that names open country stands on the horizon, in degrees.
COUNTRY_SPAN = 90.0
# The strip is this many times as tall as the film's frame, so a keyframe's view (a frame and
# its margin, 60° across at the default lens) is cut from more pixels than it shows.
STRIP_HEIGHT = 2
STRIP_ASPECT = 8   # 360° by 45°: square degrees
# Where each camera angle puts the horizon, as a share of the frame's height from the top (above
# the frame when negative): the keyframes compose round it, and a set's view is cut to meet it.
HORIZON = {"eye_level": 0.56, "high": 0.3, "low": 0.8, "overhead": -0.2, "dutch": 0.56, "over_the_shoulder": 0.56}


class AnimaticSet(SetBackend):
    name: ClassVar[str] = "animatic"
    version: ClassVar[str] = "1"

    def params(self, plan: StoryPlan, location: Location, output: OutputFormat) -> dict[str, Any]:
        # Drawn in proportion to the film's frame (a diffusion set has a size of its own).
        return {**super().params(plan, location, output), "height": output.height}

    def run(self, job: Job) -> None:
        p = job.params
        height = STRIP_HEIGHT * p["height"]
        # Light compression: every keyframe of the place reads the strip, and decodes it twice as fast.
        draw_set(p["location"], STRIP_ASPECT * height, height, job.seed).save(job.output, format="PNG", compress_level=1)


def draw_set(location: dict, width: int, height: int, seed: int) -> Image.Image:
    """The location's strip (see the module docstring): RGBA, `width` x `height`, the sky clear."""
    rng = random.Random(seed)
    strip = Image.new("RGBA", (width, height), CLEAR)
    horizon = height // 2
    scenery, ground = _place(location)
    inside = scenery.startswith("interior")
    if not inside and location.get("season") in SEASON_GROUND:
        ground = _mix(ground, *SEASON_GROUND[location["season"]])
    peaks = not inside and bool(_words(location["description"]) & set(PEAKS))

    quarter = -(-width // 4)
    for bearing in (0, 90, 180, -90):
        part = Image.new("RGBA", (quarter, height), CLEAR)
        draw = ImageDraw.Draw(part)
        if peaks:
            draw_peaks(draw, rng, quarter, horizon, night=False)
        draw.rectangle((0, horizon, quarter, height), fill=ground)
        # Only the front wall is furnished: four ovens or four blackboards make no room.
        kind = "interior:room" if inside and bearing != 0 else scenery
        draw_scenery(draw, kind, rng, quarter, height, horizon, ground, night=False)
        if inside:  # the room's corner, where this wall meets the one to its left
            corner = _mix(part.getpixel((0, 0))[:3], (0, 0, 0), 0.4)
            draw.line((0, 0, 0, horizon), fill=corner, width=max(2, height // 120))
        part = _clear_windows(part)
        for turn in (-width, 0, width):
            strip.paste(part, (round(_x(bearing - 45, width)) + turn, 0))

    for item in location.get("layout") or []:
        _draw_item(strip, item["what"], item["bearing"], rng, horizon)
    return strip


def view_of(set_image: Image.Image, bearing: float, pitch: float, fov_deg: float, width: int,
            height: int) -> Image.Image:
    """What a camera facing `bearing`, raised by `pitch`, sees of the set: a cylindrical cut, RGBA."""
    if not 0 < fov_deg < 360:
        raise ValueError(f"fov_deg={fov_deg}: a view of the set is between 0 and 360 degrees wide")
    turn, strip_height = set_image.size
    tall = fov_deg * height / width  # degrees: the view's pixels are as many to a degree down as across
    left = _x(bearing - fov_deg / 2, turn)
    top = (PITCH_TOP - pitch - tall / 2) * strip_height / PITCH_SPAN
    bottom = top + tall * strip_height / PITCH_SPAN
    across = fov_deg * turn / 360
    # Only the columns the cut and its resampling kernel reach (a kernel spans more pixels as it
    # shrinks the strip), taken round the strip's ends, and as many rows as the cut needs, the
    # strip's top and bottom rows continued: a whole turn would cost a keyframe ten times more.
    reach = math.ceil(2 * max(1.0, across / width)) + 2
    first = math.floor(left) - reach
    span = math.ceil(left + across) + reach - first
    pad = math.ceil(max(0.0, -top, bottom - strip_height)) + reach
    band = Image.new("RGBA", (span, strip_height), CLEAR)
    for turns in range(first // turn, (first + span) // turn + 1):
        band.paste(set_image, (turns * turn - first, 0))
    source = Image.new("RGBA", (span, strip_height + 2 * pad), CLEAR)
    source.paste(band.crop((0, 0, span, 1)).resize((span, pad)), (0, 0))
    source.paste(band, (0, pad))
    source.paste(band.crop((0, strip_height - 1, span, strip_height)).resize((span, pad)), (0, pad + strip_height))
    box = (left - first, pad + top, left - first + across, pad + bottom)
    return source.resize((width, height), Image.BICUBIC, box=box)


def camera_view(set_image: Image.Image, camera: dict, width: int, height: int, margin: float = 1.0) -> Image.Image:
    """What a shot's camera (its plan fields: bearing, angle, fov_deg) sees of the set, `width` x `height`,
    the set's horizon on the row where the angle puts the frame's (HORIZON). A frame drawn `margin` times
    larger than the lens shows (the animatic keyframe's room to pan) takes a wider cut to match."""
    fov = 2 * math.degrees(math.atan(margin * math.tan(math.radians(camera["fov_deg"] / 2))))
    horizon = int(HORIZON[camera["angle"]] * height)
    pitch = (horizon / height - 0.5) * fov * height / width
    return view_of(set_image, camera["bearing"], pitch, fov, width, height)


def place_view(set_image: Image.Image, camera: dict, width: int, height: int) -> Image.Image:
    """The view of the set the shot's camera faces, RGB, its clear sky (if any) grey: what a diffusion model
    is given of the place (an image prompt, a reference image), where the hour's sky is the prompt's."""
    view = camera_view(set_image.convert("RGBA"), camera, width, height)
    return Image.alpha_composite(Image.new("RGBA", view.size, (127, 127, 127, 255)), view).convert("RGB")


def dimmed(view: Image.Image, time_of_day: str) -> Image.Image:
    """A view as the hour lights it: the place dimmed at dusk and night, its clear sky still clear
    for the keyframe to paint the hour's sky behind it."""
    light = HOUR_LIGHT.get(time_of_day, 1.0)
    return Image.merge("RGBA", [*view.convert("RGB").point(lambda v: int(v * light)).split(), view.getchannel("A")])


def indoors(location: dict) -> bool:
    """Whether the place is a room: rain falls outside it, not in its views."""
    return _place(location)[0].startswith("interior")


def _place(location: dict) -> tuple[str, tuple[int, int, int]]:
    """(scenery, ground) of the place its description names, or else its name does."""
    found = place_of(location["description"])
    return found if found != NOWHERE else place_of(location["name"])


def _x(bearing: float, width: int) -> float:
    """The strip's column of a bearing, in [0, width)."""
    return (bearing + 180) % 360 / 360 * width


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def _mix(colour, other, share: float) -> tuple[int, int, int]:
    return tuple(int(a + (b - a) * share) for a, b in zip(colour, other))


def _clear_windows(part: Image.Image) -> Image.Image:
    """The keyframe's windows show a day sky; the set's are clear, for the shot's sky."""
    pixels = np.array(part)
    pixels[(pixels == (*WINDOW_DAY, 255)).all(axis=2)] = CLEAR
    return Image.fromarray(pixels, "RGBA")


class _Round:
    """The strip's ImageDraw with x counted from column `left`, each shape drawn again a turn
    to either side: a shape that runs off one end of the strip comes back in at the other."""

    def __init__(self, strip: Image.Image, left: float):
        self._draw, self._left, self._turn = ImageDraw.Draw(strip), left, strip.width

    def __getattr__(self, shape: str):
        def drawn(xy, *args, **kwargs):
            for turn in (-self._turn, 0, self._turn):
                getattr(self._draw, shape)(_shifted(xy, self._left + turn), *args, **kwargs)
        return drawn


def _shifted(xy, dx: float):
    """Coordinates as ImageDraw takes them, (x0, y0, x1, y1) or [(x, y), ...], moved right by dx."""
    if isinstance(xy[0], (tuple, list)):
        return [(x + dx, y) for x, y in xy]
    return tuple(v + dx if i % 2 == 0 else v for i, v in enumerate(xy))


def _draw_item(strip: Image.Image, what: str, bearing: float, rng: random.Random, horizon: int) -> None:
    """One layout item at its bearing: a piece of furniture, open country, or else a marker.

    Furniture is named first ("a window onto the sea" is a window); open country is drawn by
    the keyframe's scenery over a quarter of the horizon; what no drawer knows stands as a
    plain block in a colour of its own words, so it still marks its bearing.
    """
    width, height = strip.size
    deg = height / PITCH_SPAN  # pixels in a degree
    words = re.findall(r"[a-z]+", what.lower())
    furniture = next((FURNITURE[w] for w in words if w in FURNITURE), None)
    if furniture:
        furniture(_Round(strip, _x(bearing, width)), deg, horizon, rng)
        return
    span = round(COUNTRY_SPAN / 360 * width)
    country = _Round(strip, _x(bearing - COUNTRY_SPAN / 2, width))
    scenery, ground = place_of(what)
    if set(words) & set(PEAKS):
        draw_peaks(country, rng, span, horizon, night=False)
    elif (scenery, ground) != NOWHERE and not scenery.startswith("interior"):
        draw_scenery(country, scenery, rng, span, height, horizon, ground, night=False)
    else:
        colour = tuple(hashlib.sha256(what.lower().encode()).digest()[:3])
        _Round(strip, _x(bearing, width)).rectangle((-3 * deg, horizon - 8 * deg, 3 * deg, horizon + deg), fill=colour)


# Furniture: each drawn centred on x = 0, standing on the floor line at `horizon`, sized in
# degrees of `deg` pixels, as a camera at eye level a few steps away sees it.

def _window(draw, deg, horizon, rng) -> None:
    """A window whose panes are clear: the shot's sky shows through them."""
    draw.rectangle((-7 * deg, horizon - 15 * deg, 7 * deg, horizon - 4 * deg), fill=(120, 90, 60))
    for left in (-6.5 * deg, 0.5 * deg):
        draw.rectangle((left, horizon - 14.5 * deg, left + 6 * deg, horizon - 4.5 * deg), fill=CLEAR)


def _door(draw, deg, horizon, rng) -> None:
    draw.rectangle((-4.5 * deg, horizon - 16 * deg, 4.5 * deg, horizon + deg), fill=(110, 70, 40),
                   outline=(70, 45, 25), width=max(1, round(deg / 2)))
    draw.ellipse((2.5 * deg, horizon - 7 * deg, 3.5 * deg, horizon - 6 * deg), fill=(220, 190, 90))


def _stove(draw, deg, horizon, rng) -> None:
    """A stove or hearth: black iron, its fire showing, a flue up the wall."""
    draw.rectangle((-deg, 0, deg, horizon - 7 * deg), fill=(60, 60, 65))
    draw.rectangle((-5 * deg, horizon - 7 * deg, 5 * deg, horizon + deg), fill=(45, 45, 50))
    draw.rectangle((-3 * deg, horizon - 5 * deg, 3 * deg, horizon - deg), fill=(235, 130, 50))


def _bed(draw, deg, horizon, rng) -> None:
    draw.rectangle((-10 * deg, horizon - 7 * deg, -8 * deg, horizon + 2 * deg), fill=(120, 80, 50))
    draw.rectangle((-8 * deg, horizon - 3 * deg, 10 * deg, horizon + 2 * deg), fill=(235, 235, 240))
    draw.ellipse((-8 * deg, horizon - 5 * deg, -3 * deg, horizon - 2 * deg), fill=(250, 250, 252))


def _table(draw, deg, horizon, rng) -> None:
    draw.rectangle((-8 * deg, horizon - 5 * deg, 8 * deg, horizon - 4 * deg), fill=(140, 95, 55))
    for x in (-7.5 * deg, 6.5 * deg):
        draw.rectangle((x, horizon - 4 * deg, x + deg, horizon + deg), fill=(110, 75, 45))


def _shelves(draw, deg, horizon, rng) -> None:
    """A case of shelves full of books, or jars and tools."""
    draw.rectangle((-7 * deg, horizon - 17 * deg, 7 * deg, horizon + deg), fill=(100, 70, 45))
    for shelf in range(4):
        y = horizon - 13 * deg + shelf * 4 * deg
        for k in range(10):
            colour = (rng.randint(60, 200), rng.randint(50, 150), rng.randint(40, 120))
            draw.rectangle((-6.5 * deg + k * 1.3 * deg, y - 3 * deg, -5.6 * deg + k * 1.3 * deg, y), fill=colour)


def _board(draw, deg, horizon, rng) -> None:
    draw.rectangle((-10 * deg, horizon - 15 * deg, 10 * deg, horizon - 6 * deg), fill=(40, 70, 50),
                   outline=(120, 90, 60), width=max(1, round(deg / 2)))


def _picture(draw, deg, horizon, rng) -> None:
    colour = (rng.randint(40, 220), rng.randint(40, 220), rng.randint(40, 220))
    draw.rectangle((-3.5 * deg, horizon - 14 * deg, 3.5 * deg, horizon - 8 * deg), fill=colour,
                   outline=(170, 130, 60), width=max(1, round(deg / 2)))


FURNITURE = {
    **dict.fromkeys(("window", "windows", "skylight"), _window),
    **dict.fromkeys(("door", "doors", "doorway", "entrance", "exit", "gate"), _door),
    **dict.fromkeys(("stove", "oven", "range", "fireplace", "hearth", "furnace", "fire"), _stove),
    **dict.fromkeys(("bed", "beds", "sofa", "couch", "cot", "bunk"), _bed),
    **dict.fromkeys(("table", "desk", "counter", "bench", "workbench"), _table),
    **dict.fromkeys(("shelf", "shelves", "bookcase", "bookshelf", "books", "cupboard", "dresser"), _shelves),
    **dict.fromkeys(("blackboard", "chalkboard", "whiteboard", "board"), _board),
    **dict.fromkeys(("painting", "picture", "poster", "mirror", "photograph", "portrait", "map"), _picture),
}
