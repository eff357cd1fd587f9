"""The film: the segments of every shot, in order, joined without encoding them again."""

from __future__ import annotations

from typing import Any, ClassVar

from scenegen.media import concatenate
from scenegen.orchestrator.backend import Backend, Job
from scenegen.schemas import OutputFormat, StoryPlan


class PyAVFilm(Backend):
    kind: ClassVar[str] = "film"
    name: ClassVar[str] = "pyav"
    version: ClassVar[str] = "2"
    suffix: ClassVar[str] = ".mp4"

    def params(self, plan: StoryPlan, subject: None, output: OutputFormat) -> dict[str, Any]:
        return {"fps": output.fps, "shots": [shot.id for shot in plan.shots]}

    def run(self, job: Job) -> None:
        p = job.params
        concatenate([job.inputs[f"segment:{shot}"] for shot in p["shots"]], job.output, p["fps"])
