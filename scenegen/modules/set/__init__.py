"""Set stage: one reference picture per location, computed once, from which every shot of
that place takes its view, so the shots of one place show one place (node kind `set`)."""

from typing import Any, ClassVar

from scenegen.orchestrator.backend import Backend
from scenegen.schemas import OutputFormat, StoryPlan
from scenegen.schemas.plan import Location


class SetBackend(Backend):
    kind: ClassVar[str] = "set"
    suffix: ClassVar[str] = ".png"

    def params(self, plan: StoryPlan, location: Location, output: OutputFormat) -> dict[str, Any]:
        # The place and nothing of its shots: their hour, weather and cameras are theirs, so
        # editing a shot keeps its set, and editing the place redraws it once for all of them.
        return {
            "style": plan.style,
            "plan_seed": plan.seed,
            "location": location.model_dump(mode="json", exclude={"time_of_day"}),
        }
