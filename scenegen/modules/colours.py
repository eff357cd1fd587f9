"""Colour words a character's appearance may use, as the RGB they are drawn in.

The animatic portrait draws hair, eyes and garments in them; the LLM planner reads the
same words in a shot's text, to refuse a shot that recolours a character's hair.
"""

COLOURS = {
    "black": (28, 26, 30), "white": (236, 234, 228), "grey": (128, 128, 132), "gray": (128, 128, 132),
    "silver": (192, 192, 198), "red": (178, 40, 44), "crimson": (150, 20, 50), "auburn": (140, 60, 40),
    "ginger": (196, 98, 42), "copper": (184, 100, 50), "orange": (226, 120, 40), "amber": (220, 150, 40),
    "yellow": (230, 200, 60), "golden": (214, 170, 70), "gold": (214, 170, 70), "blonde": (226, 196, 120),
    "blond": (226, 196, 120), "sandy": (200, 170, 120), "beige": (214, 196, 160), "cream": (240, 228, 200),
    "brown": (110, 70, 40), "chestnut": (120, 60, 36), "tan": (196, 150, 100), "olive": (120, 130, 60),
    "green": (50, 130, 70), "emerald": (30, 140, 90), "teal": (30, 130, 130), "blue": (50, 80, 170),
    "navy": (30, 40, 90), "denim": (70, 100, 150), "indigo": (60, 50, 130), "purple": (110, 50, 140),
    "violet": (140, 90, 190), "lavender": (180, 160, 210), "pink": (220, 130, 160), "rose": (200, 100, 120),
    "maroon": (110, 30, 40), "burgundy": (120, 30, 50), "charcoal": (60, 60, 66), "mustard": (200, 160, 40),
    "rust": (160, 80, 40), "hazel": (140, 110, 60), "dark": (40, 32, 30), "raven": (20, 20, 28),
}
