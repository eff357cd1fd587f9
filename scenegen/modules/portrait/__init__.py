"""Portrait stage: one identity portrait per character, the reference every keyframe uses."""

from typing import Any, ClassVar

from scenegen.orchestrator.backend import Backend
from scenegen.schemas import Character, OutputFormat, StoryPlan


class PortraitBackend(Backend):
    kind: ClassVar[str] = "portrait"
    suffix: ClassVar[str] = ".png"

    def params(self, plan: StoryPlan, character: Character, output: OutputFormat) -> dict[str, Any]:
        # The description is story, not looks: editing it must not repaint the face.
        return {
            "style": plan.style,
            "plan_seed": plan.seed,
            "character": character.model_dump(mode="json", include={"id", "name", "appearance"}),
        }
