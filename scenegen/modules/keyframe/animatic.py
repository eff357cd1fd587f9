"""Animatic keyframe: a drawn still of the shot, built from its five domains.

- lighting sets the palette: sky by time of day, white balance by colour temperature,
  contrast, saturation by mood, and where the sun or moon stands by the key light;
- background words pick the scenery (city, stadium, forest, sea, hills, desert, or a
  room that shows what it is: kitchen, hospital, classroom, cafe, office, apartment,
  library, workshop, hall), and outdoors the weather (rain, snow, fog);
- each character is a figure wearing the colours of their portrait, with the
  portrait's face, so identities hold across shots; a child is drawn smaller, an
  elder's hair silver; a close-up is of its subject, the first character named;
- character words give each person what their action names (bread, a map, a cup,
  a lantern, an umbrella, a suitcase, a ball, flowers, a rifle, ...), held in hand;
- relation words place the figures (together, facing, behind, apart, embracing);
- camera shot size and field of view scale them, the angle moves the horizon.

No text is drawn: the story context is the film's subtitle track and shots.srt, where it
neither slides with the camera nor doubles up in a dissolve.

The still is drawn `MARGIN` times larger than the frame so the clip stage can pan,
tilt and push in over it; the frame's own area is centred.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from typing import ClassVar

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from scenegen.modules.keyframe import KeyframeBackend
from scenegen.modules.portrait.animatic import FACE, GARMENT_SAMPLE, SKIN_SAMPLE
from scenegen.orchestrator.backend import Job

MARGIN = 1.25
CHILD_HEIGHT = 0.65

SKY = {  # (zenith, horizon)
    "dawn": ((96, 110, 170), (250, 180, 150)),
    "morning": ((110, 160, 225), (200, 222, 240)),
    "noon": ((70, 140, 230), (180, 215, 245)),
    "afternoon": ((90, 150, 220), (220, 220, 210)),
    "golden_hour": ((120, 130, 190), (255, 190, 110)),
    "dusk": ((50, 50, 110), (230, 120, 100)),
    "night": ((10, 14, 36), (34, 40, 76)),
}
ROOMS = {"kitchen": "kitchen", "bakery": "kitchen", "hospital": "hospital", "ward": "hospital", "school": "classroom",
         "classroom": "classroom", "cafe": "cafe", "bar": "cafe", "restaurant": "cafe", "shop": "cafe", "office": "office",
         "study": "office", "apartment": "apartment", "warehouse": "apartment", "storeroom": "apartment",
         "library": "library", "bookshop": "library",
         "workshop": "workshop", "cellar": "workshop", "hall": "hall", "lobby": "hall", "hotel": "hall", "museum": "hall",
         "ballroom": "hall", "gym": "hall", "church": "church", "chapel": "church", "theatre": "theatre"}
WEATHER = {"rain": ("rain", "rainy", "drizzle", "downpour", "storm"), "snow": ("snow", "snowy", "blizzard", "winter"),
           "fog": ("fog", "foggy", "mist", "misty", "haze")}
SCENERY = {  # place word -> (scenery, ground colour)
    "city": ("city", (90, 90, 96)), "street": ("city", (90, 90, 96)), "town": ("city", (110, 100, 95)),
    "station": ("city", (100, 96, 96)), "rooftop": ("city", (80, 80, 86)), "alley": ("city", (80, 78, 80)),
    "market": ("city", (110, 95, 85)), "square": ("city", (120, 110, 100)), "plaza": ("city", (120, 110, 100)),
    "bridge": ("city", (95, 95, 100)), "subway": ("city", (70, 70, 75)), "tunnel": ("city", (70, 70, 75)),
    "road": ("city", (100, 95, 90)), "village": ("city", (115, 105, 90)),
    "stadium": ("stadium", (70, 140, 70)), "arena": ("stadium", (150, 120, 90)), "track": ("stadium", (170, 90, 70)),
    "pitch": ("stadium", (70, 140, 70)),
    "forest": ("forest", (56, 96, 50)), "woods": ("forest", (56, 96, 50)), "park": ("forest", (80, 140, 70)),
    "garden": ("forest", (80, 140, 70)), "orchard": ("forest", (90, 140, 70)), "jungle": ("forest", (40, 100, 45)),
    "field": ("hills", (120, 160, 80)), "meadow": ("hills", (110, 165, 80)), "farm": ("hills", (140, 150, 80)),
    "hill": ("hills", (100, 140, 80)), "mountain": ("hills", (110, 110, 100)), "valley": ("hills", (100, 150, 80)),
    "camp": ("hills", (120, 120, 90)), "cliff": ("hills", (120, 115, 100)), "trench": ("hills", (100, 85, 60)),
    "sea": ("water", (200, 190, 150)), "beach": ("water", (220, 200, 150)), "ocean": ("water", (200, 190, 150)),
    "lake": ("water", (90, 120, 80)), "river": ("water", (90, 120, 80)), "harbor": ("water", (110, 100, 95)),
    "harbour": ("water", (110, 100, 95)), "shore": ("water", (210, 195, 150)), "pier": ("water", (120, 100, 80)),
    "dock": ("water", (110, 100, 90)), "deck": ("water", (130, 100, 70)), "boat": ("water", (130, 100, 70)),
    "island": ("water", (210, 195, 150)), "quay": ("water", (110, 100, 95)), "port": ("water", (110, 100, 95)),
    "canal": ("water", (100, 100, 100)), "stream": ("water", (90, 120, 80)), "waterfall": ("water", (100, 110, 100)),
    "pond": ("water", (90, 120, 80)), "millpond": ("water", (90, 120, 80)), "well": ("water", (200, 170, 120)),
    "pool": ("water", (200, 170, 120)), "riverbed": ("desert", (200, 160, 110)), "water": ("water", (120, 130, 140)),
    "swell": ("water", (120, 130, 140)), "wake": ("water", (120, 130, 140)), "coastline": ("water", (200, 190, 150)),
    "headland": ("hills", (120, 150, 90)), "lane": ("hills", (120, 150, 90)), "clearing": ("forest", (70, 110, 55)),
    "thicket": ("forest", (50, 90, 45)), "ravine": ("forest", (60, 90, 55)), "trees": ("forest", (56, 96, 50)),
    "desert": ("desert", (220, 180, 120)), "dunes": ("desert", (220, 180, 120)), "canyon": ("desert", (190, 120, 80)),
    "salt": ("desert", (235, 230, 220)),
    # Snow and ice: the desert's open ground, white.
    **dict.fromkeys(("snow", "snowfield", "ice", "iceberg", "plain", "tundra", "glacier"), ("desert", (232, 238, 244))),
    **{room: ("interior", colour) for room, colour in {
        "room": (120, 90, 70), "kitchen": (150, 120, 90), "bakery": (160, 125, 90), "home": (130, 100, 80),
        "house": (130, 100, 80), "apartment": (120, 100, 90), "office": (100, 100, 110), "study": (110, 90, 80),
        "hospital": (190, 200, 200), "ward": (190, 200, 200), "school": (150, 120, 90), "classroom": (150, 120, 90),
        "cafe": (120, 85, 60), "bar": (90, 60, 45), "restaurant": (120, 80, 60), "shop": (130, 110, 90),
        "hotel": (140, 110, 90), "lobby": (150, 130, 110), "museum": (160, 150, 140), "studio": (110, 105, 100),
        "library": (110, 80, 60), "attic": (120, 95, 70), "bedroom": (140, 110, 100), "hall": (130, 110, 90),
        "ballroom": (150, 120, 90), "gym": (160, 130, 90), "workshop": (110, 90, 70), "cellar": (80, 70, 60),
        "warehouse": (100, 95, 90), "storeroom": (110, 100, 90), "bookshop": (110, 80, 60), "cabin": (120, 85, 60),
        "tent": (150, 140, 100), "barracks": (110, 105, 90), "carriage": (120, 95, 75), "compartment": (120, 95, 75),
        "corridor": (120, 105, 90), "wheelhouse": (110, 100, 90), "stairwell": (110, 100, 95), "barn": (130, 100, 70),
        "hayloft": (150, 120, 70), "hut": (120, 90, 65), "cave": (90, 95, 105), "pub": (90, 60, 45),
        "cloakroom": (120, 100, 90), "stable": (130, 100, 70), "post": (140, 110, 80),
        "church": (140, 130, 120), "chapel": (140, 130, 120), "theatre": (100, 40, 50)}.items()},
}
# Words that end a background's first phrase: "a kitchen | in a small house".
PREPOSITIONS = {"in", "on", "at", "by", "near", "of", "above", "below", "under", "over", "beside", "behind", "beyond",
                "inside", "outside", "along", "across", "through", "with", "where", "seen", "past", "high", "deep", "far"}
# Outdoors, peaks named anywhere stand behind whatever else is drawn: a village below the Alps.
PEAKS = ("mountain", "mountains", "peak", "peaks", "alps", "highlands", "summit", "ridge", "himalayas", "andes")
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
HORIZON = {"eye_level": 0.56, "high": 0.3, "low": 0.8, "overhead": -0.2, "dutch": 0.56, "over_the_shoulder": 0.56}
MOOD_SATURATION = {"calm": 1.0, "joyful": 1.25, "hopeful": 1.1, "tense": 0.85, "melancholic": 0.6, "mysterious": 0.7}
CONTRAST = {"low": 0.75, "medium": 1.0, "high": 1.3}
SPACING = [  # relation words -> gap between neighbouring figures, as a share of the width
    (("embrace", "hug", "holds", "holding", "kiss", "cradle", "carries"), 0.07),
    (("together", "beside", "side by side", "hand in hand", "arm in arm", "next to", "close"), 0.13),
    (("facing", "face each other", "talk", "argue", "across", "opposite", "confront", "listen"), 0.3),
    (("alone", "apart", "distance", "away", "far from", "leaves", "leaving"), 0.45),
]


class AnimaticKeyframe(KeyframeBackend):
    name: ClassVar[str] = "animatic"
    version: ClassVar[str] = "6"

    def run(self, job: Job) -> None:
        p = job.params
        rng = random.Random(job.seed)
        width = _even(p["width"] * MARGIN)
        height = _even(p["height"] * MARGIN)
        light, camera = p["lighting"], p["camera"]
        image = Image.new("RGB", (width, height))
        draw = ImageDraw.Draw(image)

        horizon = int(HORIZON[camera["angle"]] * height)
        scenery, ground = _scenery(p["background"])
        night = light["time_of_day"] in ("night", "dusk")
        if light["time_of_day"] == "night":
            ground = tuple(int(c * 0.45) for c in ground)
        _sky(draw, width, horizon, light["time_of_day"])
        _sun(draw, width, horizon, light, night)
        if night:
            for _ in range(60):
                x, y = rng.randrange(width), rng.randrange(max(1, horizon))
                draw.point((x, y), fill=(230, 230, 255))
        if not scenery.startswith("interior") and horizon > 8 and set(re.findall(r"[a-z]+", p["background"].lower())) & set(PEAKS):
            _peaks(draw, rng, width, horizon, night)
        draw.rectangle((0, max(0, horizon), width, height), fill=ground)
        _draw_scenery(draw, scenery, rng, width, height, horizon, ground, night)

        portraits = [Image.open(job.inputs[f"portrait:{cid}"]).convert("RGB") for cid in p["characters"]]
        ages = [p.get("ages", {}).get(cid, "adult") for cid in p["characters"]]
        hands = _draw_figures(image, portraits, ages, p["relation"], camera, light["key_light"], width, height, horizon)
        for hand, prop in zip(hands, _props(p["character"])):
            if hand and prop:
                _draw_prop(ImageDraw.Draw(image), prop, *hand)
        weather = _weather(p["background"])
        if weather and not scenery.startswith("interior"):  # in front of everyone, as rain falls
            image = _draw_weather(image, weather, rng, width, height)

        image = _grade(image, light, p["style"])
        if camera["angle"] == "dutch":
            image = image.rotate(7, resample=Image.BICUBIC, expand=False, fillcolor=ground)
        image.save(job.output, format="PNG")


def _even(x: float) -> int:
    return int(round(x / 2)) * 2


def _scenery(background: str) -> tuple[str, tuple[int, int, int]]:
    """(scenery, ground colour) of the place the background opens with; an interior names its room.

    The last place word of its first phrase, before a preposition, is the place ("a village
    school *classroom* high in the mountains"); with none there, the first place word after.
    Whole words, a plural as its singular: a barefoot walk is no bar, "mountains" a mountain.
    """
    words = re.findall(r"[a-z]+", background.lower())
    first = list(itertools.takewhile(lambda w: w not in PREPOSITIONS, words))
    places = [p for p in (_place_word(w) for w in first) if p] or [p for p in map(_place_word, words) if p][:1]
    if not places:
        return "hills", (110, 140, 90)
    scenery, ground = SCENERY[places[-1]]
    return (f"interior:{ROOMS.get(places[-1], 'room')}" if scenery == "interior" else scenery), ground


def _place_word(word: str) -> str | None:
    return word if word in SCENERY else word[:-1] if word.endswith("s") and word[:-1] in SCENERY else None


def _weather(background: str) -> str | None:
    words = set(re.findall(r"[a-z]+", background.lower()))  # whole words: a train station is not rain
    return next((kind for kind, kind_words in WEATHER.items() if words & set(kind_words)), None)


def _sky(draw: ImageDraw.ImageDraw, width: int, horizon: int, time_of_day: str) -> None:
    top, bottom = SKY[time_of_day]
    for y in range(max(0, horizon)):
        t = y / max(1, horizon - 1)
        draw.line((0, y, width, y), fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom)))


def _sun(draw: ImageDraw.ImageDraw, width: int, horizon: int, light: dict, night: bool) -> None:
    x = {"left": 0.18, "right": 0.82, "back": 0.5, "top": 0.5, "front": 0.62, "bottom": 0.5}[light["key_light"]] * width
    y = horizon * (0.25 if light["key_light"] == "top" else 0.55)
    if horizon <= 0 or light["key_light"] in ("front", "bottom") and not night:
        return  # the sun is behind the camera or below: no disc in frame
    r = max(8, width // 30)
    colour = (235, 235, 215) if night else (255, 240, 190)
    draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)


def _peaks(draw: ImageDraw.ImageDraw, rng: random.Random, width: int, horizon: int, night: bool) -> None:
    """A far range of snow-capped peaks on the horizon, pale with distance."""
    rock, snow = ((40, 44, 70), (120, 124, 150)) if night else ((120, 128, 150), (236, 240, 246))
    x, points = 0, [(0, horizon)]
    while x < width:
        top = horizon - rng.randint(max(4, int(horizon * 0.35)), max(5, int(horizon * 0.7)))
        points += [(x + rng.randint(width // 16, width // 8), top), (x + rng.randint(width // 6, width // 4), horizon)]
        x = points[-1][0]
        draw.polygon([points[-3], points[-2], points[-1]], fill=rock)
        peak_x, peak_y = points[-2]
        cap = (horizon - peak_y) // 4
        draw.polygon([(peak_x, peak_y), (peak_x - cap, peak_y + cap), (peak_x + cap, peak_y + cap)], fill=snow)


def _draw_scenery(draw, scenery, rng, width, height, horizon, ground, night) -> None:
    def shade(colour, f):
        return tuple(max(0, min(255, int(c * f))) for c in colour)

    if scenery.startswith("interior"):
        wall = shade(ground, 1.35)
        draw.rectangle((0, 0, width, max(0, horizon)), fill=wall)
        wx = rng.randint(width // 8, width // 2)
        ww, wh = width // 5, max(10, horizon // 2)
        draw.rectangle((wx, horizon // 5, wx + ww, horizon // 5 + wh), fill=(30, 40, 80) if night else (190, 220, 245))
        draw.rectangle((wx, horizon // 5, wx + ww, horizon // 5 + wh), outline=shade(wall, 0.6), width=6)
        draw.line((0, horizon, width, horizon), fill=shade(ground, 0.7), width=4)
        _furnish(draw, scenery.split(":")[1], rng, width, height, horizon, wall)
    elif scenery == "city":
        x = 0
        while x < width:
            w = rng.randint(width // 14, width // 7)
            h = rng.randint(max(4, horizon // 4), max(5, int(horizon * 0.85)))
            body = shade((80, 84, 100), rng.uniform(0.7, 1.2))
            draw.rectangle((x, horizon - h, x + w, horizon), fill=body)
            for wy in range(horizon - h + 8, horizon - 8, 16):
                for wx in range(x + 6, x + w - 6, 14):
                    lit = night and rng.random() < 0.4
                    draw.rectangle((wx, wy, wx + 6, wy + 8), fill=(250, 220, 140) if lit else shade(body, 0.7))
            x += w + rng.randint(0, 8)
    elif scenery == "forest":
        for _ in range(14):
            x = rng.randrange(width)
            h = rng.randint(max(4, horizon // 4), max(5, horizon // 2 + 10))
            trunk = (90, 60, 40)
            draw.rectangle((x - 4, horizon - h // 3, x + 4, horizon + 4), fill=trunk)
            draw.ellipse((x - h // 3, horizon - h, x + h // 3, horizon - h // 4), fill=shade((50, 110, 50), rng.uniform(0.7, 1.2)))
    elif scenery == "water":
        draw.rectangle((0, horizon, width, horizon + (height - horizon) // 2), fill=(40, 90, 150) if not night else (15, 30, 60))
        for _ in range(30):
            x, y = rng.randrange(width), rng.randint(horizon + 2, horizon + max(3, (height - horizon) // 2))
            draw.line((x, y, x + rng.randint(10, 40), y), fill=(180, 210, 240) if not night else (60, 80, 120), width=2)
    elif scenery == "desert":
        for i in range(3):
            y0 = horizon + i * max(1, (height - horizon)) // 5
            points = [(x, y0 + int(14 * math.sin(x / width * 6 + i + rng.random()))) for x in range(0, width + 20, 20)]
            draw.polygon(points + [(width, height), (0, height)], fill=shade(ground, 1.0 - 0.08 * i))
    elif scenery == "stadium":  # tiers of stands full of people, floodlights, lines on the ground
        stands = max(4, horizon // 2)
        for row in range(4):
            y = horizon - stands + row * stands // 4
            draw.rectangle((0, y, width, y + stands // 4), fill=shade((90, 90, 100), 0.8 + 0.1 * row))
            for x in range(rng.randrange(6), width, 7):
                draw.point((x, y + rng.randrange(max(1, stands // 4))), fill=rng.choice([(220, 60, 60), (240, 240, 240), (60, 90, 200)]))
        for x in (width // 6, width * 5 // 6):
            draw.line((x, horizon - stands, x, max(0, horizon - stands - horizon // 3)), fill=(60, 60, 60), width=3)
            draw.ellipse((x - 8, horizon - stands - horizon // 3 - 6, x + 8, horizon - stands - horizon // 3 + 6),
                         fill=(255, 250, 220))
        draw.line((0, horizon + (height - horizon) // 3, width, horizon + (height - horizon) // 3), fill=(230, 235, 230), width=2)
    else:  # hills
        for i, f in enumerate((0.8, 0.95)):
            points = [(x, horizon - int((30 + 20 * i) * (1 + math.sin(x / width * (3 + i) + rng.random() * 6))))
                      for x in range(0, width + 30, 30)]
            draw.polygon(points + [(width, horizon + 2), (0, horizon + 2)], fill=shade(ground, f))


def _furnish(draw, room, rng, width, height, horizon, wall) -> None:
    """What tells one room from another, drawn against the back wall."""
    u = max(4, height // 40)  # a unit of furniture
    floor = horizon + u
    if room == "kitchen":  # a counter along the wall, an oven, hanging pans
        draw.rectangle((0, horizon - 6 * u, width, horizon), fill=(200, 190, 170))
        draw.rectangle((0, horizon - 6.6 * u, width, horizon - 6 * u), fill=(90, 70, 55))
        ox = int(width * 0.7)
        draw.rectangle((ox, horizon - 6 * u, ox + 7 * u, horizon), fill=(60, 60, 65))
        draw.rectangle((ox + u, horizon - 4.5 * u, ox + 6 * u, horizon - u), fill=(230, 140, 60))
        for i in range(3):
            x = int(width * 0.62) + i * 3 * u
            draw.ellipse((x, horizon - 13 * u, x + 2 * u, horizon - 11 * u), fill=(70, 70, 75))
    elif room == "hospital":  # a bed with white sheets, a drip stand
        bx = int(width * 0.55)
        draw.rectangle((bx, floor - 5 * u, bx + 16 * u, floor - 2 * u), fill=(245, 245, 250))
        draw.rectangle((bx, floor - 7 * u, bx + u, floor + u), fill=(150, 160, 170))
        draw.rectangle((bx + 4 * u, floor - 2 * u, bx + 14 * u, floor - u), fill=(150, 200, 210))
        draw.line((bx - 2 * u, floor - 14 * u, bx - 2 * u, floor + u), fill=(170, 175, 180), width=max(1, u // 2))
        draw.rectangle((bx - 3 * u, floor - 14 * u, bx - u, floor - 11 * u), fill=(200, 230, 240))
    elif room in ("classroom", "school"):  # a blackboard and rows of desks
        draw.rectangle((int(width * 0.55), horizon // 6, int(width * 0.9), horizon // 6 + horizon // 3), fill=(40, 70, 50))
        for row in range(2):
            for i in range(5):
                x = int(width * 0.12) + i * int(width * 0.17)
                y = floor + row * 4 * u
                draw.rectangle((x, y, x + 5 * u, y + u), fill=(150, 105, 60))
    elif room == "cafe":  # small round tables, a counter with cups
        draw.rectangle((int(width * 0.6), horizon - 5 * u, width, horizon), fill=(110, 70, 45))
        for i in range(4):
            draw.rectangle((int(width * 0.62) + i * 3 * u, horizon - 7 * u, int(width * 0.62) + i * 3 * u + 2 * u,
                            horizon - 5 * u), fill=(245, 240, 230))
        for i in range(3):
            x = int(width * 0.1) + i * int(width * 0.16)
            draw.ellipse((x, floor, x + 6 * u, floor + 2 * u), fill=(80, 55, 40))
    elif room == "office":  # desks with screens
        for i in range(3):
            x = int(width * 0.1) + i * int(width * 0.3)
            draw.rectangle((x, horizon - 3 * u, x + 10 * u, horizon - 2 * u), fill=(170, 170, 175))
            draw.rectangle((x + 3 * u, horizon - 8 * u, x + 7 * u, horizon - 4 * u), fill=(30, 40, 60))
    elif room == "apartment":  # cardboard boxes stacked on the floor
        for i in range(5):
            x = int(width * 0.55) + (i % 3) * 5 * u
            y = floor - (1 + i // 3) * 4 * u
            draw.rectangle((x, y, x + 4.5 * u, y + 4 * u), fill=(190, 150, 100), outline=(140, 105, 70))
    elif room in ("library", "workshop"):  # shelves of books, or of maps and tools
        for shelf in range(4):
            y = horizon // 6 + shelf * horizon // 5
            draw.rectangle((int(width * 0.6), y, int(width * 0.95), y + u // 2), fill=(90, 60, 40))
            for k in range(12):
                colour = (rng.randint(60, 200), rng.randint(50, 150), rng.randint(40, 120))
                x = int(width * 0.6) + k * (int(width * 0.35) // 12)
                draw.rectangle((x, y - 3 * u, x + u, y), fill=colour)
    elif room in ("hall", "church", "theatre"):  # tall pillars
        for i in range(4):
            x = int(width * (0.1 + 0.27 * i))
            draw.rectangle((x, 0, x + 3 * u, horizon), fill=tuple(max(0, int(c * 0.8)) for c in wall))


def _draw_weather(image: Image.Image, weather, rng, width, height) -> Image.Image:
    """Rain falls in slanted streaks, snow in flakes; fog veils everything in grey."""
    draw = ImageDraw.Draw(image)
    if weather == "rain":
        for _ in range(width // 3):
            x, y = rng.randrange(width), rng.randrange(height)
            draw.line((x, y, x - height // 40, y + height // 14), fill=(200, 210, 230), width=1)
    elif weather == "snow":
        for _ in range(width // 2):
            x, y, r = rng.randrange(width), rng.randrange(height), rng.choice((1, 2, 2, 3))
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(250, 250, 255))
    elif weather == "fog":
        return Image.blend(image, Image.new("RGB", image.size, (200, 205, 210)), 0.45)
    return image


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


def _draw_figures(image, portraits, ages, relation, camera, key_light, width, height, horizon) -> list:
    """Draw everyone in frame; return each one's free hand (x, y, hand size), None for a shoulder."""
    if not portraits:
        return []
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
    gap = next((g for words, g in SPACING if any(w in text for w in words)), 0.22)
    behind = any(w in text for w in ("behind", "follows", "following", "watches from"))
    n = len(portraits)
    xs = [width / 2 + (i - (n - 1) / 2) * gap * width for i in range(n)]
    order = list(range(n))
    hands: list = [None] * n
    if camera["angle"] == "over_the_shoulder" and n > 1:
        # The first character's shoulder fills the foreground; the others face the lens.
        xs[0] = width * 0.2
        _figure(image, portraits[0], ages[0], xs[0], feet + figure_h * 0.3, figure_h * 1.25, key_light, silhouette=True)
        order = order[1:]
        xs[1:] = [width * 0.62 + (i - (n - 2) / 2) * 0.18 * width for i in range(n - 1)]
    elif camera["shot_size"] in ("close_up", "extreme_close_up") and n > 1:
        # A close-up is of its subject, the first named: centred and in front, the others
        # cut by the frame's edges.
        xs = [width / 2, *(width / 2 + (-1) ** i * width * (0.42 + 0.1 * (i // 2)) for i in range(n - 1))]
        order, behind = [*range(1, n), 0], False
    for i in sorted(order, key=lambda i: -i) if behind else order:
        depth = 0.75 if behind and i > 0 else 1.0
        hands[i] = _figure(image, portraits[i], ages[i], xs[i], feet - (1 - depth) * figure_h * 0.3, figure_h * depth,
                           key_light, silhouette=False)
    return hands


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


def _grade(image: Image.Image, light: dict, style: str) -> Image.Image:
    r, g, b = _kelvin_rgb(light["color_temperature_k"])
    # White balance relative to daylight: warm light tints orange, cold light blue.
    ref = _kelvin_rgb(5600)
    gains = (r / ref[0], g / ref[1], b / ref[2])
    lut = [min(255, int(i * gain)) for gain in gains for i in range(256)]
    image = image.point(lut)
    image = ImageEnhance.Contrast(image).enhance(CONTRAST[light["contrast"]])
    image = ImageEnhance.Color(image).enhance(MOOD_SATURATION[light["mood"]])
    style = style.lower()
    if any(w in style for w in ("noir", "black and white", "monochrome", "black-and-white")):
        image = image.convert("L").convert("RGB")
    if any(w in style for w in ("watercolor", "watercolour", "painterly", "dreamy", "soft")):
        image = image.filter(ImageFilter.GaussianBlur(1.2))
    if "pastel" in style:
        image = Image.blend(image, Image.new("RGB", image.size, (240, 235, 230)), 0.25)
    return image


def _kelvin_rgb(kelvin: int) -> tuple[float, float, float]:
    # Tanner Helland's fit of the blackbody colour, accurate enough for a tint.
    t = kelvin / 100
    red = 255.0 if t <= 66 else 329.7 * (t - 60) ** -0.1332
    green = 99.47 * math.log(t) - 161.12 if t <= 66 else 288.12 * (t - 60) ** -0.0755
    blue = 255.0 if t >= 66 else (0.0 if t <= 19 else 138.52 * math.log(t - 10) - 305.04)
    return tuple(max(1.0, min(255.0, v)) for v in (red, green, blue))
