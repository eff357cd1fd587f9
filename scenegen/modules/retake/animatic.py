"""Animatic range retake: the stretch performed again by a camera operator of its own seed.

A new take of a stretch of film is the same scene caught a little differently, so each
frame of the stretch is its own frame seen through a window that drifts and pushes in
a little (a hand-held operator's wander, drawn from the seed), the window cut from the
frame's yuv420p planes as the animatic clip cuts its windows. The wander eases in and
out over the stretch (a sine), so the stretch leaves the kept frame before it and
returns to the kept frame after it without a jump; every other frame is the clip's own,
exactly (retake/__init__.py says how).
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from scenegen.modules.clip.animatic import cut_window, split_planes
from scenegen.modules.retake import RetakeBackend
from scenegen.orchestrator.backend import Job

PUSH_IN = 0.12   # how much narrower the window gets at the middle of the stretch
WANDER = 0.5     # how far its centre may drift there, as a share of the margin the push-in leaves


class AnimaticRetake(RetakeBackend):
    name: ClassVar[str] = "animatic"
    version: ClassVar[str] = "1"

    def redraw(self, job: Job, frames: list[np.ndarray]) -> list[np.ndarray]:
        p = job.params
        width, height, start, stop = p["width"], p["height"], p["start"], p["stop"]
        rng = np.random.default_rng(job.seed)
        # Where the wander heads, and how many times it sways on the way, for this seed.
        heading, sways = rng.uniform(-1.0, 1.0, size=2), rng.uniform(0.5, 2.0)
        redrawn = []
        for n, planes in enumerate(frames[start:stop]):
            t = (n + 1) / (stop - start + 1)
            ease = math.sin(math.pi * t)
            scale = 1 - PUSH_IN * ease
            sway = math.sin(2 * math.pi * sways * t)
            dx, dy = heading * (WANDER * (1 - scale) / 2 * ease) * np.array([1.0, sway])
            left, top = (1 - scale) / 2 + dx, (1 - scale) / 2 + dy
            box = (left * width, top * height, (left + scale) * width, (top + scale) * height)
            redrawn.append(cut_window(split_planes(planes, width, height), box, width, height))
        return redrawn
