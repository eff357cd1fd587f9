"""Captions: the story context of each shot as SubRip subtitles, timed to the film."""

from __future__ import annotations

from typing import Any, ClassVar

from scenegen.modules.assembly import caption_cues, layout_params
from scenegen.orchestrator.backend import Backend, Job
from scenegen.schemas import OutputFormat, StoryPlan


class SrtCaptions(Backend):
    kind: ClassVar[str] = "captions"
    name: ClassVar[str] = "srt"
    version: ClassVar[str] = "1"   # the cues moved to caption_cues unchanged: same bytes
    suffix: ClassVar[str] = ".srt"

    def params(self, plan: StoryPlan, subject: None, output: OutputFormat) -> dict[str, Any]:
        return {**layout_params(plan, output), "texts": [shot.context for shot in plan.shots]}

    def run(self, job: Job) -> None:
        fps = job.params["fps"]
        cues = [f"{n}\n{_timestamp(start, fps)} --> {_timestamp(end, fps)}\n{text}\n"
                for n, (start, end, text) in enumerate(caption_cues(job.params, job.params["texts"]), start=1)]
        job.output.write_text("\n".join(cues), encoding="utf-8")


def _timestamp(frame: int, fps: int) -> str:
    ms = round(frame * 1000 / fps)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"
