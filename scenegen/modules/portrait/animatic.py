"""Animatic portrait: a drawn bust of the character, read from the appearance text.

Colour words before "hair", "eyes", "coat"/"dress"/... set those colours; skin-tone,
hair-style and accessory words (glasses, beard, hat) are drawn when present; anything
the text leaves open comes from a hash of the character id, so a character looks the
same in every run. The face sits in a fixed circle (`FACE`) that keyframes cut out
and paste onto their figures: the portrait is the identity reference, as an
IP-Adapter image is for a diffusion keyframe.
"""

from __future__ import annotations

import hashlib
import re
from typing import ClassVar

from PIL import Image, ImageDraw, ImageFont

from scenegen.modules.colours import COLOURS
from scenegen.modules.portrait import PortraitBackend
from scenegen.orchestrator.backend import Job

SIZE = 256
# Centre x, centre y and radius of the face, for keyframes to cut out.
FACE = (128, 112, 58)
# Points where keyframes read the garment and skin colours (clear of hair and name).
GARMENT_SAMPLE = (46, 226)
SKIN_SAMPLE = (104, 136)

SKIN = {
    "pale": (242, 214, 196), "fair": (236, 200, 176), "freckled": (232, 190, 160), "olive": (198, 160, 120),
    "tan": (196, 150, 110), "tanned": (196, 150, 110), "bronze": (170, 120, 80), "brown": (140, 94, 64),
    "dark": (100, 66, 46), "deep": (86, 56, 40), "ebony": (70, 46, 34),
}
SKIN_FALLBACK = [(236, 200, 176), (210, 170, 130), (180, 130, 95), (140, 94, 64), (100, 66, 46)]
GARMENTS = ("coat", "jacket", "dress", "shirt", "sweater", "jumper", "cardigan", "scarf", "uniform",
            "blouse", "hoodie", "robe", "suit", "vest", "overalls", "gown", "cloak", "top")


class AnimaticPortrait(PortraitBackend):
    name: ClassVar[str] = "animatic"
    version: ClassVar[str] = "1"

    def run(self, job: Job) -> None:
        character = job.params["character"]
        look = read_appearance(character["appearance"], character["id"])
        image = Image.new("RGB", (SIZE, SIZE), look["backdrop"])
        draw = ImageDraw.Draw(image)
        cx, cy, r = FACE
        # Shoulders and garment.
        draw.rounded_rectangle((cx - 100, cy + 70, cx + 100, SIZE + 40), radius=60, fill=look["garment"])
        draw.polygon([(cx - 22, cy + 70), (cx + 22, cy + 70), (cx, cy + 110)], fill=look["skin"])
        # Hair behind the head, the head, then hair on top.
        if look["hair_style"] == "long":
            draw.rounded_rectangle((cx - r - 12, cy - r - 10, cx + r + 12, cy + r + 60), radius=40, fill=look["hair"])
        draw.ellipse((cx - 16, cy + 40, cx + 16, cy + 80), fill=look["skin"])   # neck
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=look["skin"])
        _hair(draw, look, cx, cy, r)
        # Eyes, brows, mouth.
        for side in (-1, 1):
            ex = cx + side * 22
            draw.ellipse((ex - 9, cy - 8, ex + 9, cy + 6), fill=(250, 250, 250))
            draw.ellipse((ex - 5, cy - 6, ex + 5, cy + 4), fill=look["eyes"])
            draw.line((ex - 11, cy - 17, ex + 9, cy - 19 + side * 2), fill=_darker(look["hair"], 0.7), width=3)
        draw.arc((cx - 16, cy + 14, cx + 16, cy + 34), start=20, end=160, fill=(120, 50, 50), width=3)
        if look["beard"]:
            draw.chord((cx - r + 6, cy - 4, cx + r - 6, cy + r + 4), start=10, end=170, fill=look["hair"])
            draw.arc((cx - 14, cy + 18, cx + 14, cy + 34), start=20, end=160, fill=(90, 40, 40), width=3)
        if look["glasses"]:
            for side in (-1, 1):
                ex = cx + side * 22
                draw.ellipse((ex - 14, cy - 13, ex + 14, cy + 11), outline=(30, 30, 30), width=3)
            draw.line((cx - 8, cy - 2, cx + 8, cy - 2), fill=(30, 30, 30), width=3)
        if look["hat"]:
            draw.rectangle((cx - r - 18, cy - r + 4, cx + r + 18, cy - r + 16), fill=look["hat"])
            draw.rounded_rectangle((cx - r + 6, cy - r - 40, cx + r - 6, cy - r + 10), radius=12, fill=look["hat"])
        font = ImageFont.load_default(size=18)
        draw.text((SIZE // 2, SIZE - 14), character["name"], font=font, fill=(255, 255, 255), anchor="ms",
                  stroke_width=2, stroke_fill=(0, 0, 0))
        image.save(job.output, format="PNG")


def read_appearance(text: str, character_id: str) -> dict:
    """Colours and features named in the appearance text; the rest derived from the id."""
    words = re.findall(r"[a-z]+", text.lower())
    digest = hashlib.sha256(character_id.encode()).digest()

    def named_before(nouns: tuple[str, ...], table: dict) -> tuple[int, int, int] | None:
        # "auburn hair", "a long green coat": the nearest known word up to three words before the noun.
        for i, w in enumerate(words):
            if w in nouns:
                for prev in reversed(words[max(0, i - 3):i]):
                    if prev in table:
                        return table[prev]
        return None

    palette = list(COLOURS.values())
    hair_style = next((w for w in words if w in ("long", "short", "curly", "bald", "bun", "braid", "ponytail")), None)
    wears_hat = bool({"hat", "cap", "beret"} & set(words))
    return {
        "skin": named_before(("skin", "complexion"), SKIN) or SKIN_FALLBACK[digest[0] % len(SKIN_FALLBACK)],
        "hair": named_before(("hair", "curls", "braid", "ponytail", "bun", "beard"), COLOURS) or palette[digest[1] % 12],
        "eyes": named_before(("eyes", "eye"), COLOURS) or (70, 50, 30),
        "garment": named_before(GARMENTS, COLOURS) or palette[12 + digest[2] % (len(palette) - 12)],
        "hair_style": hair_style or ("long" if digest[3] % 2 else "short"),
        "beard": "beard" in words,
        "glasses": "glasses" in words or "spectacles" in words,
        "hat": (named_before(("hat", "cap", "beret"), COLOURS) or (60, 50, 40)) if wears_hat else None,
        "backdrop": (70 + digest[4] % 60, 80 + digest[5] % 60, 100 + digest[6] % 60),
    }


def _hair(draw: ImageDraw.ImageDraw, look: dict, cx: int, cy: int, r: int) -> None:
    style, hair = look["hair_style"], look["hair"]
    if style == "bald":
        return
    draw.chord((cx - r - 4, cy - r - 10, cx + r + 4, cy + r - 20), start=180, end=360, fill=hair)
    if style == "curly":
        for dx in range(-r, r + 1, 18):
            draw.ellipse((cx + dx - 14, cy - r - 14, cx + dx + 14, cy - r + 14), fill=hair)
    elif style in ("bun", "ponytail", "braid"):
        draw.ellipse((cx - 22, cy - r - 36, cx + 22, cy - r + 4), fill=hair)


def _darker(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    return tuple(int(c * factor) for c in colour)
