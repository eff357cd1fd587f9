"""Places as the animatic draws them: the words that name a place, its scenery, the sky of
each hour, the weather, and the grade that lights a finished picture.

The keyframe draws one frame of a place with them; the set draws the place all round.
"""

from __future__ import annotations

import itertools
import math
import random
import re

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

SKY = {  # (zenith, horizon)
    "dawn": ((96, 110, 170), (250, 180, 150)),
    "morning": ((110, 160, 225), (200, 222, 240)),
    "noon": ((70, 140, 230), (180, 215, 245)),
    "afternoon": ((90, 150, 220), (220, 220, 210)),
    "golden_hour": ((120, 130, 190), (255, 190, 110)),
    "dusk": ((50, 50, 110), (230, 120, 100)),
    "night": ((10, 14, 36), (34, 40, 76)),
}
# A room's window by day, the sky seen through it: the set keys it out to show the shot's sky instead.
WINDOW_DAY = (190, 220, 245)
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
MOOD_SATURATION = {"calm": 1.0, "joyful": 1.25, "hopeful": 1.1, "tense": 0.85, "melancholic": 0.6, "mysterious": 0.7}
CONTRAST = {"low": 0.75, "medium": 1.0, "high": 1.3}


def place_of(background: str) -> tuple[str, tuple[int, int, int]]:
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


def weather_of(background: str) -> str | None:
    words = set(re.findall(r"[a-z]+", background.lower()))  # whole words: a train station is not rain
    return next((kind for kind, kind_words in WEATHER.items() if words & set(kind_words)), None)


def draw_sky(draw: ImageDraw.ImageDraw, width: int, horizon: int, time_of_day: str) -> None:
    top, bottom = SKY[time_of_day]
    for y in range(max(0, horizon)):
        t = y / max(1, horizon - 1)
        draw.line((0, y, width, y), fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom)))


def draw_peaks(draw: ImageDraw.ImageDraw, rng: random.Random, width: int, horizon: int, night: bool) -> None:
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


def draw_scenery(draw, scenery, rng, width, height, horizon, ground, night) -> None:
    """What stands on the ground (drawn already, below `horizon`) and against the sky above it."""
    def shade(colour, f):
        return tuple(max(0, min(255, int(c * f))) for c in colour)

    if scenery.startswith("interior"):
        wall = shade(ground, 1.35)
        draw.rectangle((0, 0, width, max(0, horizon)), fill=wall)
        wx = rng.randint(width // 8, width // 2)
        ww, wh = width // 5, max(10, horizon // 2)
        draw.rectangle((wx, horizon // 5, wx + ww, horizon // 5 + wh), fill=(30, 40, 80) if night else WINDOW_DAY)
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


def draw_weather(image: Image.Image, weather, rng, width, height) -> Image.Image:
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


def grade(image: Image.Image, light: dict, style: str) -> Image.Image:
    """The shot's light on a finished picture: white balance, contrast, the mood's saturation, then the style."""
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
