"""Animatic shot: the camera movement performed over the keyframe, for the shot's duration.

The keyframe is larger than the frame (see keyframe/animatic.py), so every move is a
window travelling over it: pans and trucks slide it, tilts and cranes lift it, dollies
and zooms shrink or grow it, an orbit slides while pushing in, handheld wanders on a
smooth seeded path. Moves ease in and out. The window is cut from the keyframe's
yuv420p planes directly, which is what the encoder takes, so no frame is converted.
"""

from __future__ import annotations

import math
import random
from typing import ClassVar

import numpy as np
from PIL import Image
from pydantic import BaseModel

from scenegen.media import EncoderSettings, rgb_to_yuv
from scenegen.modules.shot import ShotBackend
from scenegen.orchestrator.backend import Job

# Per movement: (dx, dy, zoom) at full amount, dx/dy in shares of the free margin,
# zoom as the final magnification minus one.
MOVES = {
    "static": (0.0, 0.0, 0.0),
    "pan_left": (-1.0, 0.0, 0.0), "pan_right": (1.0, 0.0, 0.0),
    "truck_left": (-1.0, 0.0, 0.05), "truck_right": (1.0, 0.0, 0.05),
    "tilt_up": (0.0, -1.0, 0.0), "tilt_down": (0.0, 1.0, 0.0),
    "crane_up": (0.0, -1.0, -0.1), "crane_down": (0.0, 1.0, 0.1),
    "dolly_in": (0.0, 0.0, 0.45), "dolly_out": (0.0, 0.0, -0.45),
    "zoom_in": (0.0, 0.0, 0.6), "zoom_out": (0.0, 0.0, -0.6),
    "orbit_left": (-0.8, 0.0, 0.2), "orbit_right": (0.8, 0.0, 0.2),
    "handheld": (0.0, 0.0, 0.03),
}



class AnimaticShot(ShotBackend):
    name: ClassVar[str] = "animatic"
    version: ClassVar[str] = "1"
    Settings: ClassVar[type[BaseModel]] = EncoderSettings

    def run(self, job: Job) -> None:
        p = job.params
        width, height, frames = p["width"], p["height"], p["frames"]
        keyframe = Image.open(job.inputs[next(iter(job.inputs))]).convert("RGB")
        planes = _split_planes(rgb_to_yuv(keyframe), *keyframe.size)
        path = camera_path(p["camera"]["movement"], p["camera"]["movement_amount"], frames, keyframe.size,
                           (width, height), job.seed)
        with self.settings.writer(job.output, p["fps"], width, height) as video:
            for box in path:
                video.write_yuv(_cut(planes, box, width, height))


def camera_path(movement: str, amount: float, frames: int, plate: tuple[int, int], frame: tuple[int, int],
                seed: int) -> list[tuple[float, float, float, float]]:
    """The window (left, top, right, bottom) on the keyframe for each frame."""
    pw, ph = plate
    fw, fh = frame
    dx, dy, zoom = MOVES[movement]
    rng = random.Random(seed)
    phases = [rng.uniform(0, 2 * math.pi) for _ in range(4)]
    boxes = []
    for i in range(frames):
        t = i / max(1, frames - 1)
        e = t * t * (3 - 2 * t)  # ease in and out
        # Zoom from the frame-sized window (1x) toward 1 + zoom*amount, or outward for
        # negative zoom, which starts pushed in and ends at 1x.
        z = 1 + abs(zoom) * amount * (e if zoom >= 0 else 1 - e)
        w, h = fw / z, fh / z
        # Centre starts opposite to the move and ends past the middle, inside the margin.
        free_x, free_y = (pw - w) / 2, (ph - h) / 2
        cx = pw / 2 + dx * amount * free_x * (2 * e - 1)
        cy = ph / 2 + dy * amount * free_y * (2 * e - 1)
        if movement == "handheld":
            cx += free_x * 0.25 * amount * (math.sin(2.1 * t * math.pi * 2 + phases[0]) + 0.5 * math.sin(5.3 * t * math.pi * 2 + phases[1])) / 1.5
            cy += free_y * 0.25 * amount * (math.sin(1.7 * t * math.pi * 2 + phases[2]) + 0.5 * math.sin(4.1 * t * math.pi * 2 + phases[3])) / 1.5
        boxes.append((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
    return boxes


def _split_planes(yuv: np.ndarray, width: int, height: int) -> list[Image.Image]:
    y = yuv[:height]
    chroma = yuv[height:].reshape(2, height // 2, width // 2)
    return [Image.fromarray(y), Image.fromarray(chroma[0]), Image.fromarray(chroma[1])]


def _cut(planes: list[Image.Image], box: tuple[float, float, float, float], width: int, height: int) -> np.ndarray:
    y, u, v = planes
    half = tuple(c / 2 for c in box)
    return np.concatenate([
        np.asarray(y.resize((width, height), Image.BILINEAR, box=box)).ravel(),
        np.asarray(u.resize((width // 2, height // 2), Image.BILINEAR, box=half)).ravel(),
        np.asarray(v.resize((width // 2, height // 2), Image.BILINEAR, box=half)).ravel(),
    ]).reshape(-1, width)
