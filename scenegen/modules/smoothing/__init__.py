"""Smoothing stage: the frames where two neighbouring shots overlap, regenerated (node kind `boundary`).

The last w frames of one clip and the first w of the next cover the same stretch of
film; a boundary backend writes those w frames, given both clips.
"""

from typing import Any, ClassVar

from scenegen.orchestrator.backend import Backend
from scenegen.schemas import OutputFormat, Shot, StoryPlan


class SmoothingBackend(Backend):
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
