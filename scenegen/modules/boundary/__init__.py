"""Boundary stage: the frames where two neighbouring shots overlap, regenerated (node kind `boundary`).

The last w frames of one clip and the first w of the next cover the same stretch of
film; a boundary backend writes those w frames, given both clips. A `dissolve` is the
two stretches cross-faded, whichever the backend (`dissolve` below); a `smooth`
transition is the backend's own.
"""

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from scenegen.media import yuv_frames

from scenegen.orchestrator.backend import Backend
from scenegen.schemas import OutputFormat, Shot, StoryPlan


class BoundaryBackend(Backend):
    kind: ClassVar[str] = "boundary"
    suffix: ClassVar[str] = ".mp4"

    def params(self, plan: StoryPlan, pair: tuple[Shot, Shot], output: OutputFormat) -> dict[str, Any]:
        before, after = pair
        return {
            "type": before.transition.type.value,
            "frames": round(before.transition.duration * output.fps),
            "fps": output.fps,
            "width": output.width,
            "height": output.height,
        }


def overlapping(before: Path, after: Path, window: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The last `window` frames of one clip and the first `window` of the next, as yuv420p planes."""
    tail = list(yuv_frames(before, -window))
    head = list(yuv_frames(after, stop=window))
    if len(tail) < window or len(head) < window:
        raise ValueError(f"the clips are shorter than the {window}-frame transition")
    return tail, head


def dissolve(before: list[np.ndarray], after: list[np.ndarray]) -> list[np.ndarray]:
    """A linear cross-fade of two overlapping stretches of yuv420p frames.

    A blend of yuv420p planes is the same blend in RGB (the conversion is affine), so
    no frame is converted.
    """
    window = len(before)
    return [blend(a, b, (i + 1) / (window + 1)) for i, (a, b) in enumerate(zip(before, after))]


def blend(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """(1 - t) of frame a and t of frame b, rounded back to uint8."""
    return np.clip(np.rint(a.astype(np.float32) * (1 - t) + b.astype(np.float32) * t), 0, 255).astype(np.uint8)
