"""The film: the segments of every shot, in order, joined without encoding them again,
with the subtitles of shots.srt (each shot's story context, each line while it is said;
where two show at once, one cue holds both) as a soft subtitle track, which players show or hide and which never covers the
picture's pixels, and the mix's sound track, its AAC packets copied as they are."""

from __future__ import annotations

from typing import Any, ClassVar

from scenegen.media import concatenate
from scenegen.modules.cues import one_at_a_time, subtitle_params, subtitles
from scenegen.orchestrator.backend import Backend, Job
from scenegen.schemas import OutputFormat, StoryPlan


class PyAVFilm(Backend):
    kind: ClassVar[str] = "film"
    name: ClassVar[str] = "pyav"
    version: ClassVar[str] = "6"
    suffix: ClassVar[str] = ".mp4"

    def params(self, plan: StoryPlan, subject: None, output: OutputFormat) -> dict[str, Any]:
        return {**subtitle_params(plan, output), "shots": [shot.id for shot in plan.shots]}

    def run(self, job: Job) -> None:
        p = job.params
        concatenate([job.inputs[f"segment:{shot}"] for shot in p["shots"]], job.output, p["fps"],
                    captions=one_at_a_time(subtitles(p, job.inputs)), sound=job.inputs.get("mix"))
