"""Animatic keyframe: a drawn still of the shot, built from its five domains.

- lighting sets the palette: sky by time of day, white balance by colour temperature,
  contrast, saturation by mood, and where the sun or moon stands by the key light;
- the shot's location is its set (set/animatic.py), seen where the camera faces
  (`camera.bearing`), so the shots of one place show one place and a reverse shot its
  other side; a shot with no location draws its scenery from its background words
  (city, stadium, forest, sea, hills, desert, or a room that shows what it is: kitchen,
  hospital, classroom, cafe, office, apartment, library, workshop, hall); either way
  those words give the weather outdoors (rain, snow, fog);
- each character is a figure wearing the colours of their portrait, with the
  portrait's face, so identities hold across shots; a child is drawn smaller, an
  elder's hair silver; a close-up is of its subject, the first character named;
- character words give each person what their action names (bread, a map, a cup,
  a lantern, an umbrella, a suitcase, a ball, flowers, a rifle, ...), held in hand;
  an insert (the shot's grammar) is of that thing: it fills the frame, and the people
  whose hands hold it are out of the picture (an insert of nothing it can draw shows them);
- relation words place the figures (together, facing, behind, apart, embracing), left to
  right in the shot's order, and right to left in a reverse angle (bearing beyond 90), which
  keeps each on their side of the line (schemas/screen.py);
- camera shot size and field of view scale them, the angle moves the horizon.

`run` returns, for the node's record, the box of each figure and of what it holds
(`figures`, keyframe pixels), so that eval can mask the people out and compare what is
left: the place.

No text is drawn: the story context is the film's subtitle track and shots.srt, where it
neither slides with the camera nor doubles up in a dissolve.

The still is drawn `MARGIN` times larger than the frame so the clip stage can pan,
tilt and push in over it; the frame's own area is centred.
"""

from __future__ import annotations

import math
import random
import re
from typing import Any, ClassVar

from PIL import Image, ImageChops, ImageDraw

from scenegen.modules.keyframe import KeyframeBackend, location_set
from scenegen.modules.portrait.animatic import FACE, GARMENT_SAMPLE, SKIN_SAMPLE
from scenegen.modules.scenery import (PEAKS, draw_peaks, draw_scenery, draw_sky, draw_weather, grade, place_of,
                                      weather_of)
from scenegen.modules.set.animatic import HORIZON, camera_view, dimmed
from scenegen.orchestrator.backend import Job
from scenegen.schemas import Grammar, OutputFormat, Shot, StoryPlan
from scenegen.schemas.screen import facing_back

MARGIN = 1.25
TAKE_TURN_DEG = 4.0
DUTCH_DEG = 7
CHILD_HEIGHT = 0.65
INSERT_SIZE = 0.8    # an insert's detail is drawn to the scale of a head this share of the frame's height across

# What a character holds when the shot's action names it: word -> prop.
PROPS = {
    **dict.fromkeys(("bread", "dough", "loaf", "loaves"), "loaf"),
    **dict.fromkeys(("box", "boxes", "crate", "crates", "parcel"), "box"),
    **dict.fromkeys(("map", "book", "letter", "letters", "notebook", "drawing", "page", "photograph", "photo", "note",
                     "file", "newspaper", "envelope", "schoolbook"), "paper"),
    **dict.fromkeys(("cup", "cups", "mug", "coffee", "tea", "glass"), "cup"),
    **dict.fromkeys(("lantern", "lamp", "torch", "candle", "flashlight"), "light"),
    "umbrella": "umbrella",
    **dict.fromkeys(("suitcase", "bag", "pack", "backpack", "satchel"), "bag"),
    **dict.fromkeys(("ball", "football"), "ball"),
    **dict.fromkeys(("flowers", "bouquet", "rose", "roses"), "flowers"),
    **dict.fromkeys(("phone", "radio"), "phone"),
    **dict.fromkeys(("rope", "net"), "rope"),
    **dict.fromkeys(("sword", "rifle", "oar", "stick", "cane", "racket", "spear", "pole"), "stick"),
    **dict.fromkeys(("key", "ring"), "ring"),
    "trophy": "trophy",
}
# Figure height as a share of the frame height, and where the head's top sits
# (None: the figure stands on the ground).
FRAMING = {
    "extreme_wide": (0.16, None), "wide": (0.42, None), "full": (0.8, 0.1), "medium": (1.5, 0.14),
    "medium_close": (2.1, 0.12), "close_up": (3.2, 0.1), "extreme_close_up": (5.0, -0.06),
}
SPACING = [  # relation words -> gap between neighbouring figures, as a share of the width
    (("embrace", "hug", "holds", "holding", "kiss", "cradle", "carries"), 0.07),
    (("together", "beside", "side by side", "hand in hand", "arm in arm", "next to", "close"), 0.13),
    (("facing", "face each other", "talk", "argue", "across", "opposite", "confront", "listen"), 0.3),
    (("alone", "apart", "distance", "away", "far from", "leaves", "leaving"), 0.45),
]


class AnimaticKeyframe(KeyframeBackend):
    name: ClassVar[str] = "animatic"
    version: ClassVar[str] = "8"  # 7: a reverse angle keeps screen sides; 8: records the figures' boxes

    def params(self, plan: StoryPlan, shot: Shot, output: OutputFormat) -> dict[str, Any]:
        # Only an insert is drawn otherwise, so only its key says its grammar: the other keyframes keep theirs.
        insert = {"grammar": Grammar.insert.value} if shot.grammar == Grammar.insert else {}
        return {**super().params(plan, shot, output), **insert}

    def run(self, job: Job) -> dict:
        p = job.params
        rng = random.Random(job.seed)
        width = _even(p["width"] * MARGIN)
        height = _even(p["height"] * MARGIN)
        light, camera = p["lighting"], p["camera"]
        image = Image.new("RGB", (width, height))
        draw = ImageDraw.Draw(image)

        horizon = int(HORIZON[camera["angle"]] * height)
        scenery, ground = place_of(p["background"])
        night = light["time_of_day"] in ("night", "dusk")
        if light["time_of_day"] == "night":
            ground = tuple(int(c * 0.45) for c in ground)
        place = location_set(job)
        # A set's windows may reach below the horizon: its sky goes on down behind them.
        draw_sky(draw, width, height if place else horizon, light["time_of_day"])
        _sun(draw, width, horizon, light, night)
        if night:
            for _ in range(60):
                x, y = rng.randrange(width), rng.randrange(max(1, horizon))
                draw.point((x, y), fill=(230, 230, 255))
        if place:
            # The shot's location: its set, seen where the camera faces, the set's horizon on the frame's.
            # A take sets the camera down anew: its seed turns it a little, as a set draws nothing by chance.
            turned = {**camera, "bearing": camera["bearing"] + rng.uniform(-TAKE_TURN_DEG, TAKE_TURN_DEG)}
            view = camera_view(Image.open(place), turned, width, height, MARGIN)
            image.paste(dimmed(view, light["time_of_day"]), mask=view.getchannel("A"))
        else:
            if not scenery.startswith("interior") and horizon > 8 and set(re.findall(r"[a-z]+", p["background"].lower())) & set(PEAKS):
                draw_peaks(draw, rng, width, horizon, night)
            draw.rectangle((0, max(0, horizon), width, height), fill=ground)
            draw_scenery(draw, scenery, rng, width, height, horizon, ground, night)

        held = [prop for prop in _props(p["character"]) if prop]
        detail = held[0] if held and p.get("grammar") == "insert" else None
        if detail:
            # An insert: the thing in hand fills the frame, held up to the lens.
            size = INSERT_SIZE * height / MARGIN
            figures = [_drawn_box(image, lambda: _draw_prop(draw, detail, width / 2, height / 2 + size * 0.35, size))]
        else:
            portraits = [Image.open(job.inputs[f"portrait:{cid}"]).convert("RGB") for cid in p["characters"]]
            ages = [p.get("ages", {}).get(cid, "adult") for cid in p["characters"]]
            hands, figures = _draw_figures(image, portraits, ages, p["relation"], camera, light["key_light"], width,
                                           height, horizon)
            for hand, prop in zip(hands, _props(p["character"])):
                if hand and prop:
                    figures.append(_drawn_box(image, lambda: _draw_prop(ImageDraw.Draw(image), prop, *hand)))
        weather = weather_of(p["background"])
        if weather and not scenery.startswith("interior"):  # in front of everyone, as rain falls
            image = draw_weather(image, weather, rng, width, height)

        image = grade(image, light, p["style"])
        if camera["angle"] == "dutch":
            image = image.rotate(DUTCH_DEG, resample=Image.BICUBIC, expand=False, fillcolor=ground)
            figures = [_rotated_box(box, DUTCH_DEG, width, height) for box in figures]
        image.save(job.output, format="PNG")
        return {"figures": [box for box in figures if box]}


def _even(x: float) -> int:
    return int(round(x / 2)) * 2


def _drawn_box(image: Image.Image, draw) -> list[int] | None:
    """Run `draw` on `image`; the box of the pixels it changed (x0, y0, x1, y1), None if none."""
    before = image.copy()
    draw()
    box = ImageChops.difference(before, image).getbbox()
    return list(box) if box else None


def _rotated_box(box: list[int] | None, degrees: float, width: int, height: int) -> list[int] | None:
    """The box holding `box` once the image turns `degrees` counter-clockwise about its centre, as PIL turns it."""
    if box is None:
        return None
    cx, cy, a = width / 2, height / 2, math.radians(degrees)
    corners = [(x, y) for x in (box[0], box[2]) for y in (box[1], box[3])]
    # Image y runs down, so a counter-clockwise turn on screen is x' = c + (x-c)cos + (y-c)sin.
    xs = [cx + (x - cx) * math.cos(a) + (y - cy) * math.sin(a) for x, y in corners]
    ys = [cy - (x - cx) * math.sin(a) + (y - cy) * math.cos(a) for x, y in corners]
    x0, y0, x1, y1 = max(0, math.floor(min(xs))), max(0, math.floor(min(ys))), min(width, math.ceil(max(xs))), min(height, math.ceil(max(ys)))
    return [x0, y0, x1, y1] if x1 > x0 and y1 > y0 else None


def _sun(draw: ImageDraw.ImageDraw, width: int, horizon: int, light: dict, night: bool) -> None:
    x = {"left": 0.18, "right": 0.82, "back": 0.5, "top": 0.5, "front": 0.62, "bottom": 0.5}[light["key_light"]] * width
    y = horizon * (0.25 if light["key_light"] == "top" else 0.55)
    if horizon <= 0 or light["key_light"] in ("front", "bottom") and not night:
        return  # the sun is behind the camera or below: no disc in frame
    r = max(8, width // 30)
    colour = (235, 235, 215) if night else (255, 240, 190)
    draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)


def _props(character: str) -> list[str | None]:
    """What each person holds: the character text speaks of them in turn, split by ';'."""
    return [next((PROPS[w] for w in re.findall(r"[a-z]+", part.lower()) if w in PROPS), None)
            for part in character.split(";")]


def _draw_prop(draw: ImageDraw.ImageDraw, prop: str, x: float, y: float, size: float) -> None:
    """A prop held at (x, y), drawn to the scale of a head `size` across."""
    s = max(3.0, size)
    if prop == "loaf":
        draw.ellipse((x - 0.6 * s, y - 0.3 * s, x + 0.6 * s, y + 0.3 * s), fill=(190, 130, 60), outline=(130, 80, 40))
    elif prop == "box":
        draw.rectangle((x - 0.5 * s, y - 0.8 * s, x + 0.5 * s, y), fill=(190, 150, 100), outline=(140, 105, 70))
    elif prop == "paper":
        draw.rectangle((x - 0.45 * s, y - 0.7 * s, x + 0.45 * s, y), fill=(240, 232, 210), outline=(150, 140, 120))
        for k in range(1, 4):
            draw.line((x - 0.35 * s, y - 0.7 * s + k * 0.17 * s, x + 0.35 * s, y - 0.7 * s + k * 0.17 * s), fill=(120, 110, 100))
    elif prop == "cup":
        draw.rectangle((x - 0.18 * s, y - 0.45 * s, x + 0.18 * s, y), fill=(245, 245, 240), outline=(150, 150, 150))
    elif prop == "light":
        draw.ellipse((x - 0.6 * s, y - 0.9 * s, x + 0.6 * s, y + 0.3 * s), fill=(255, 230, 150))
        draw.ellipse((x - 0.25 * s, y - 0.55 * s, x + 0.25 * s, y - 0.05 * s), fill=(255, 250, 220))
    elif prop == "umbrella":
        draw.line((x, y, x, y - 1.6 * s), fill=(40, 40, 40), width=max(1, int(s * 0.08)))
        draw.pieslice((x - 1.1 * s, y - 2.4 * s, x + 1.1 * s, y - 0.9 * s), 180, 360, fill=(40, 40, 60))
    elif prop == "bag":
        draw.rectangle((x - 0.5 * s, y, x + 0.5 * s, y + 0.7 * s), fill=(110, 70, 40), outline=(70, 45, 25))
        draw.arc((x - 0.25 * s, y - 0.2 * s, x + 0.25 * s, y + 0.2 * s), 180, 360, fill=(70, 45, 25), width=2)
    elif prop == "ball":
        draw.ellipse((x - 0.3 * s, y - 0.6 * s, x + 0.3 * s, y), fill=(245, 245, 245), outline=(40, 40, 40))
    elif prop == "flowers":
        draw.line((x, y, x, y - 0.8 * s), fill=(50, 130, 50), width=max(1, int(s * 0.08)))
        for dx, dy in ((-0.2, -0.9), (0.2, -0.95), (0.0, -1.1)):
            draw.ellipse((x + (dx - 0.15) * s, y + (dy - 0.15) * s, x + (dx + 0.15) * s, y + (dy + 0.15) * s), fill=(220, 50, 80))
    elif prop == "phone":
        draw.rectangle((x - 0.12 * s, y - 0.4 * s, x + 0.12 * s, y), fill=(30, 30, 35), outline=(90, 90, 100))
    elif prop == "rope":
        for r in (0.2, 0.35, 0.5):
            draw.ellipse((x - r * s, y - r * s, x + r * s, y + r * s), outline=(170, 140, 90), width=max(1, int(s * 0.06)))
    elif prop == "stick":
        draw.line((x - 0.3 * s, y + 0.5 * s, x + 0.6 * s, y - 1.4 * s), fill=(110, 80, 50), width=max(2, int(s * 0.1)))
    elif prop == "ring":
        draw.ellipse((x - 0.15 * s, y - 0.3 * s, x + 0.15 * s, y), outline=(230, 190, 60), width=max(1, int(s * 0.06)))
    elif prop == "trophy":
        draw.rectangle((x - 0.1 * s, y - 0.5 * s, x + 0.1 * s, y), fill=(210, 170, 50))
        draw.chord((x - 0.35 * s, y - 1.1 * s, x + 0.35 * s, y - 0.4 * s), 0, 180, fill=(230, 190, 60))


def _draw_figures(image, portraits, ages, relation, camera, key_light, width, height, horizon) -> tuple[list, list]:
    """Draw everyone in frame; return each one's free hand (x, y, hand size), None for a shoulder, and each
    figure's box."""
    if not portraits:
        return [], []
    frame_h = height / MARGIN
    scale, head_top = FRAMING[camera["shot_size"]]
    # A wider lens makes people smaller in frame; a longer lens, larger.
    figure_h = scale * frame_h * min(1.6, max(0.6, 50.0 / camera["fov_deg"]))
    centre_offset = (height - frame_h) / 2
    if head_top is None:
        feet = min(height * 0.95, max(horizon, 0) + (height - max(horizon, 0)) * 0.45)
    else:
        feet = centre_offset + head_top * frame_h + figure_h

    text = relation.lower()
    behind = any(w in text for w in ("behind", "follows", "following", "watches from"))
    n = len(portraits)
    xs = figure_xs(n, relation, camera, width)
    order = list(range(n))
    hands: list = [None] * n
    boxes: list = []
    if camera["angle"] == "over_the_shoulder" and n > 1:
        # The first character's shoulder fills the foreground; the others face the lens.
        boxes.append(_drawn_box(image, lambda: _figure(image, portraits[0], ages[0], xs[0], feet + figure_h * 0.3,
                                                       figure_h * 1.25, key_light, silhouette=True)))
        order = order[1:]
    elif camera["shot_size"] in ("close_up", "extreme_close_up") and n > 1:
        order, behind = [*range(1, n), 0], False  # the subject in front of those at the edges
    for i in sorted(order, key=lambda i: -i) if behind else order:
        depth = 0.75 if behind and i > 0 else 1.0
        def draw(i=i, depth=depth):
            hands[i] = _figure(image, portraits[i], ages[i], xs[i], feet - (1 - depth) * figure_h * 0.3,
                               figure_h * depth, key_light, silhouette=False)
        boxes.append(_drawn_box(image, draw))
    return hands, boxes


def figure_xs(n: int, relation: str, camera: dict, width: int) -> list[float]:
    """Where each of `n` characters stands across the frame, in the shot's order: the order
    `schemas.screen.left_to_right` says, so a shot keeps its side of the line between them."""
    text = relation.lower()
    gap = next((g for words, g in SPACING if any(w in text for w in words)), 0.22)
    xs = [width / 2 + (i - (n - 1) / 2) * gap * width for i in range(n)]
    if camera["angle"] == "over_the_shoulder" and n > 1:
        # The first character's shoulder in the foreground; the others beyond it, facing the lens.
        xs = [width * 0.2, *(width * 0.62 + (i - (n - 2) / 2) * 0.18 * width for i in range(n - 1))]
    elif camera["shot_size"] in ("close_up", "extreme_close_up") and n > 1:
        # A close-up is of its subject, the first named: centred, the others cut by the frame's edges.
        xs = [width / 2, *(width / 2 + (-1) ** i * width * (0.42 + 0.1 * (i // 2)) for i in range(n - 1))]
    # A reverse angle looks back from the same side of the line: the frame the other way round,
    # so the shoulder in front is now on the right and everyone keeps their side.
    return [width - x for x in xs] if facing_back(camera.get("bearing", 0.0)) else xs


def _figure(image, portrait, age, x, feet, h, key_light, silhouette) -> tuple[float, float, float]:
    """One person; returns the right hand (x, y) and the hand's size, where a prop is held."""
    draw = ImageDraw.Draw(image)
    garment = portrait.getpixel(GARMENT_SAMPLE)
    skin = portrait.getpixel(SKIN_SAMPLE)
    # A child stands about two thirds as tall, with a larger head for its height.
    h *= CHILD_HEIGHT if age == "child" else 1.0
    head = h * (0.26 if age == "child" else 0.2)
    top = feet - h
    shoulders = top + head * 0.95
    body_w = head * 1.5
    if silhouette:
        garment = (25, 25, 30)
    legs = tuple(int(c * 0.55) for c in garment)
    draw.rectangle((x - body_w * 0.38, shoulders + h * 0.4, x + body_w * 0.38, feet), fill=legs)
    draw.rounded_rectangle((x - body_w / 2, shoulders, x + body_w / 2, shoulders + h * 0.45),
                           radius=max(1, int(head * 0.35)), fill=garment)
    for side in (-1, 1):
        draw.line((x + side * body_w / 2, shoulders + head * 0.3, x + side * body_w * 0.62, shoulders + h * 0.42),
                  fill=garment, width=max(1, int(head * 0.28)))
        draw.ellipse((x + side * body_w * 0.62 - head * 0.12, shoulders + h * 0.42 - head * 0.12,
                      x + side * body_w * 0.62 + head * 0.12, shoulders + h * 0.42 + head * 0.12), fill=skin)
    hand = (x + body_w * 0.62, shoulders + h * 0.42, head)
    size = max(2, int(head))
    if silhouette:
        draw.ellipse((x - size / 2, top, x + size / 2, top + size), fill=garment)
        return hand
    cx, cy, r = FACE
    face = portrait.crop((cx - r - 14, cy - r - 30, cx + r + 14, cy + r + 14)).resize((size, size), Image.LANCZOS)
    if age == "elder":
        # The portrait's hair, above the brow, turns silver; the face stays theirs.
        hair = Image.new("L", (size, size), 0)
        ImageDraw.Draw(hair).rectangle((0, 0, size, int(size * 0.3)), fill=150)
        face = Image.composite(Image.new("RGB", (size, size), (205, 205, 210)), face, hair)
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, size - 1, size - 1), fill=255)
    image.paste(face, (int(x - size / 2), int(top)), mask)
    if key_light in ("left", "right"):
        # The side away from the key light falls into shadow.
        shadow = Image.new("RGB", (size, size), (0, 0, 0))
        half = Image.new("L", (size, size), 0)
        box = (size // 2, 0, size, size) if key_light == "left" else (0, 0, size // 2, size)
        ImageDraw.Draw(half).rectangle(box, fill=90)
        half = Image.composite(half, Image.new("L", (size, size), 0), mask)
        image.paste(shadow, (int(x - size / 2), int(top)), half)
    return hand


