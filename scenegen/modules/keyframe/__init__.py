"""Keyframe stage: one still per shot, keeping identities through the characters' portraits."""

from pathlib import Path
from typing import Any, ClassVar

from scenegen.orchestrator.backend import Backend, Job
from scenegen.schemas import OutputFormat, Shot, StoryPlan


class KeyframeBackend(Backend):
    kind: ClassVar[str] = "keyframe"
    suffix: ClassVar[str] = ".png"

    def params(self, plan: StoryPlan, shot: Shot, output: OutputFormat) -> dict[str, Any]:
        # Everything that shows in a still, and nothing that only moves: a camera
        # movement or a duration edit keeps the keyframe. The story context is not
        # drawn (captions are the film's subtitle track), so editing it keeps it too.
        return {
            "style": plan.style,
            "plan_seed": plan.seed,
            "take": shot.seed,
            "characters": shot.characters,
            "ages": {cid: age.value for cid, age in shot.ages.items()},
            "character": shot.character,
            "background": shot.background,
            "relation": shot.relation,
            # Where the camera faces matters only in a location's set, which it is cut from.
            "camera": shot.camera.model_dump(mode="json", include={"shot_size", "angle", "fov_deg"}
                                             | ({"bearing"} if shot.location else set())),
            "lighting": shot.lighting.model_dump(mode="json"),
            "width": output.width,
            "height": output.height,
        }


def location_set(job: Job) -> Path | None:
    """The set of the shot's location, among the keyframe job's inputs; None for a shot in no location."""
    return next((path for node, path in job.inputs.items() if node.startswith("set:")), None)
