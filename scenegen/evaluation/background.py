"""Background consistency: do the shots of one place look like one place?

Per shot, the keyframe with its people masked out. The mask is the boxes the animatic
keyframe records of each figure and what it holds (its record's `figures`): they are
exact, cost nothing and need no model. A keyframe backend that records no boxes (the
diffusers one) cannot be masked, so its film is not measured, and says why.

The feature of what is left, computed with numpy alone:
- a colour histogram in CIELAB (`BINS` bins each of L*, a*, b*): the place's palette,
  wherever the camera faces in it;
- a coarse layout: the mean L*a*b* of each cell of a `GRID` grid: where the light,
  the walls and the ground lie.

The similarity of two shots is the mean of the histograms' Bhattacharyya coefficient and
the layouts' closeness, exp(-mean ΔE / `LAYOUT_DELTA_E`) over the cells both shots see;
each is 1 for the same picture and falls towards 0. The film: its mean over pairs of
shots in one location and over pairs in different ones (shots with no location are left
out), and how many pairs each holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from PIL import Image, ImageDraw

from scenegen.evaluation.metrics import mean_or_none

WIDTH = 192                # the keyframe is compared at this width: palette and layout need no more
BINS = 8
GRID = (4, 6)              # rows, columns
LAYOUT_DELTA_E = 20.0      # a mean ΔE of this much between cells is "clearly another colour"
MIN_SEEN = 0.25            # a cell whose share of unmasked pixels is below this is not compared
LAB_RANGE = ((0.0, 100.0), (-100.0, 100.0), (-100.0, 100.0))


@dataclass(frozen=True)
class Background:
    histogram: np.ndarray  # BINS**3, sums to 1
    layout: np.ndarray     # GRID + (3,), mean L*a*b* per cell
    seen: np.ndarray       # GRID, whether each cell shows enough background to compare


def lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (uint8, ... x 3) to CIELAB under D65."""
    c = rgb.astype(np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = linear @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def background_mask(size: tuple[int, int], figures: list[list[int]]) -> np.ndarray:
    """True where the keyframe (`size` = width, height) shows background: outside every figure's box."""
    mask = Image.new("L", size, 255)
    draw = ImageDraw.Draw(mask)
    for x0, y0, x1, y1 in figures:
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=0)
    return np.asarray(mask) > 0


def background_feature(image: Image.Image, figures: list[list[int]]) -> Background:
    """The feature of `image` outside `figures` (boxes in its own pixels)."""
    image = image.convert("RGB")
    mask = Image.fromarray(background_mask(image.size, figures).astype(np.uint8) * 255)
    height = max(GRID[0], round(image.height * WIDTH / image.width))
    colours = lab(np.asarray(image.resize((WIDTH, height), Image.BILINEAR)))
    keep = np.asarray(mask.resize((WIDTH, height), Image.NEAREST)) > 0
    pixels = colours[keep]
    histogram, _ = np.histogramdd(pixels, bins=BINS, range=LAB_RANGE)
    histogram = histogram.reshape(-1) / max(1, len(pixels))
    rows, cols = GRID
    layout, seen = np.zeros((rows, cols, 3)), np.zeros((rows, cols), dtype=bool)
    for r in range(rows):
        for c in range(cols):
            ys = slice(r * height // rows, (r + 1) * height // rows)
            xs = slice(c * WIDTH // cols, (c + 1) * WIDTH // cols)
            cell, cell_keep = colours[ys, xs], keep[ys, xs]
            seen[r, c] = cell_keep.mean() >= MIN_SEEN
            if seen[r, c]:
                layout[r, c] = cell[cell_keep].mean(axis=0)
    return Background(histogram, layout, seen)


def background_similarity(a: Background, b: Background) -> float:
    """In [0, 1]: the mean of palette overlap and layout closeness (over the cells both see; without any, palette alone)."""
    palette = float(np.sum(np.sqrt(a.histogram * b.histogram)))
    both = a.seen & b.seen
    if not both.any():
        return palette
    delta_e = np.linalg.norm(a.layout[both] - b.layout[both], axis=-1).mean()
    return (palette + float(np.exp(-delta_e / LAYOUT_DELTA_E))) / 2


def background_consistency(features: dict[str, Background], locations: dict[str, str | None]) -> dict:
    """Mean similarity of same-location and of different-location pairs of shots, and their counts."""
    placed = [shot for shot in features if locations.get(shot)]
    same, different = [], []
    for a, b in combinations(placed, 2):
        (same if locations[a] == locations[b] else different).append(background_similarity(features[a], features[b]))
    return {"same_location": mean_or_none(same), "same_location_pairs": len(same),
            "different_location": mean_or_none(different), "different_location_pairs": len(different)}


def background_summary(background: dict) -> str:
    """One line for the command line: both means and their pair counts, or why there are none."""
    if background["why"] != "measured":
        return f"  background       not measured: {background['why']}"

    def score(key: str) -> str:
        value = background[key]
        return f"{'n/a' if value is None else f'{value:.4f}'} over {background[key + '_pairs']} pairs"

    return f"  background       same location {score('same_location')}, different {score('different_location')}"
