"""The film: the segments of every shot, in order, joined without encoding them again,
with each shot's story context as a soft subtitle track (one cue per shot, timed as
shots.srt), which players show or hide and which never covers the picture's pixels."""

from __future__ import annotations

from typing import Any, ClassVar

from scenegen.media import concatenate
from scenegen.modules.assembly import caption_cues, layout_params
from scenegen.orchestrator.backend import Backend, Job
from scenegen.schemas import OutputFormat, StoryPlan


class PyAVFilm(Backend):
    kind: ClassVar[str] = "film"
    name: ClassVar[str] = "pyav"
    version: ClassVar[str] = "3"
    suffix: ClassVar[str] = ".mp4"

    def params(self, plan: StoryPlan, subject: None, output: OutputFormat) -> dict[str, Any]:
        return {**layout_params(plan, output), "shots": [shot.id for shot in plan.shots],
                "captions": [shot.context for shot in plan.shots]}

    def run(self, job: Job) -> None:
        p = job.params
        concatenate([job.inputs[f"segment:{shot}"] for shot in p["shots"]], job.output, p["fps"],
                    captions=caption_cues(p, p["captions"]))
