"""Shot stage: a video clip per shot, made from its keyframe (node kind `clip`)."""

from typing import Any, ClassVar

from scenegen.orchestrator.backend import Backend
from scenegen.schemas import OutputFormat, Shot, StoryPlan


class ShotBackend(Backend):
    kind: ClassVar[str] = "clip"
    suffix: ClassVar[str] = ".mp4"

    def params(self, plan: StoryPlan, shot: Shot, output: OutputFormat) -> dict[str, Any]:
        return {
            "take": shot.seed,
            "camera": shot.camera.model_dump(mode="json", include={"movement", "movement_amount"}),
            "frames": round(shot.duration * output.fps),
            "fps": output.fps,
            "width": output.width,
            "height": output.height,
        }
