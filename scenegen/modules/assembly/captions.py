"""Captions: the story context of each shot as SubRip subtitles, timed to the film."""

from __future__ import annotations

from typing import Any, ClassVar

from scenegen.modules.assembly import layout_params
from scenegen.orchestrator.backend import Backend, Job
from scenegen.schemas import OutputFormat, StoryPlan


class SrtCaptions(Backend):
    kind: ClassVar[str] = "captions"
    name: ClassVar[str] = "srt"
    version: ClassVar[str] = "1"
    suffix: ClassVar[str] = ".srt"

    def params(self, plan: StoryPlan, subject: None, output: OutputFormat) -> dict[str, Any]:
        return {**layout_params(plan, output), "texts": [shot.context for shot in plan.shots]}

    def run(self, job: Job) -> None:
        p = job.params
        fps = p["fps"]
        cues = []
        for n, (span, text) in enumerate(zip(p["spans"], p["texts"]), start=1):
            # A caption changes halfway through each transition, where an editor would cut.
            start = span["start"] + span["overlap_in"] // 2
            end = span["start"] + span["frames"] - (span["overlap_out"] - span["overlap_out"] // 2)
            cues.append(f"{n}\n{_timestamp(start, fps)} --> {_timestamp(end, fps)}\n{text}\n")
        job.output.write_text("\n".join(cues), encoding="utf-8")


def _timestamp(frame: int, fps: int) -> str:
    ms = round(frame * 1000 / fps)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"
