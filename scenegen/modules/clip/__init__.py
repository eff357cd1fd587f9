"""Clip stage: a video clip per shot, made from its keyframe (node kind `clip`)."""

from typing import Any, ClassVar

from scenegen.errors import UserError
from scenegen.orchestrator.backend import Backend
from scenegen.schemas import OutputFormat, Shot, StoryPlan


class ClipBackend(Backend):
    kind: ClassVar[str] = "clip"
    suffix: ClassVar[str] = ".mp4"
    # Whether its clips carry the shot's own sound track, which can say the shot's lines (`dialogue = "clip"`).
    makes_sound: ClassVar[bool] = False

    def check(self, output: OutputFormat) -> None:
        if output.sound and output.dialogue == "clip" and not self.makes_sound:
            raise UserError(f"dialogue = \"clip\": clip backend {self.name!r} makes no sound track to say the lines; "
                            "choose a clip backend that does (ltx2), or set dialogue = \"voices\" "
                            "(settings.json, or [output] in a {config!n} file)", config=None)

    @property
    def takes_references(self) -> bool:
        """Whether a clip job is given the portraits of its shot's characters and its location's set beside the
        keyframe: only a backend that conditions on them asks, so no other clip's key depends on them."""
        return False

    def params(self, plan: StoryPlan, shot: Shot, output: OutputFormat) -> dict[str, Any]:
        return {
            "take": shot.seed,
            # The camera's whole path: framing and lens too, as every clip backend follows
            # `scenegen.camera.trajectory`. Not its bearing: the path is relative to the shot's first
            # pose, and which way that pose faces in its location is the set's to show, not the clip's;
            # nor whether it crosses the line, which the keyframe's figures already show.
            "camera": shot.camera.model_dump(mode="json", exclude={"text", "bearing", "crosses_line"}, exclude_none=True),
            "frames": round(shot.duration * output.fps),
            "fps": output.fps,
            "width": output.width,
            "height": output.height,
        }
