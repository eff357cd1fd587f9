"""Animatic smoothing: the overlap of two shots, redrawn without a GPU.

- dissolve: a linear cross-fade of the two overlapping stretches (the stage's `dissolve`);
- smooth: the stand-in for generative smoothing. The window eases from one shot to
  the other (smoothstep) and, frame by frame, moves each shot's brightness and colour
  toward the other's, so the seam shows no jump in exposure or white balance, which
  is what a masked video model given both ends does.

Blending happens on yuv420p planes: the conversion to RGB is affine, so a blend there
equals a blend in RGB.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import BaseModel

from scenegen.media import EncoderSettings
from scenegen.modules.boundary import BoundaryBackend, blend, dissolve, overlapping
from scenegen.orchestrator.backend import Job



class AnimaticBoundary(BoundaryBackend):
    name: ClassVar[str] = "animatic"
    version: ClassVar[str] = "1"
    Settings: ClassVar[type[BaseModel]] = EncoderSettings

    def run(self, job: Job) -> None:
        p = job.params
        window = p["frames"]
        tail, head = overlapping(*job.inputs.values(), window)
        if p["type"] == "smooth":
            frames = [_smooth(a, b, (i + 1) / (window + 1), tail[-1], head[0], p["height"])
                      for i, (a, b) in enumerate(zip(tail, head))]
        else:
            frames = dissolve(tail, head)
        with self.settings.writer(job.output, p["fps"], p["width"], p["height"]) as video:
            for frame in frames:
                video.write_yuv(frame)


def _smooth(a: np.ndarray, b: np.ndarray, t: float, a_end: np.ndarray, b_start: np.ndarray, height: int) -> np.ndarray:
    e = t * t * (3 - 2 * t)
    a, b = a.astype(np.float32), b.astype(np.float32)
    # Move each plane's mean and spread (Y: exposure and contrast; U, V: white balance)
    # of each shot toward the other's, as far as the window has come.
    for pa, pb, ra, rb in zip(_planes(a, height), _planes(b, height), _planes(a_end, height), _planes(b_start, height)):
        ma, mb = float(ra.mean()), float(rb.mean())
        da, db = float(ra.std()) + 1e-3, float(rb.std()) + 1e-3
        pa[...] = (pa - ma) * (1 + (db / da - 1) * e) + ma + (mb - ma) * e
        pb[...] = (pb - mb) * (1 + (da / db - 1) * (1 - e)) + mb + (ma - mb) * (1 - e)
    return blend(a, b, e)


def _planes(frame: np.ndarray, height: int) -> tuple[np.ndarray, ...]:
    """Views of the Y, U and V planes of a yuv420p frame (U and V flattened)."""
    u, v = frame[height:].reshape(2, -1)
    return frame[:height], u, v
