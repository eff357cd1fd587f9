"""The film: every clip in order, with each overlap replaced by its boundary frames.

Frames pass from the decoded clips to the encoder as yuv420p planes, untouched; the
encoder's thread count is fixed by the settings because x264's output depends on it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field

from scenegen.media import EncoderSettings, yuv_frames
from scenegen.modules.assembly import layout_params
from scenegen.orchestrator.backend import Backend, Job
from scenegen.schemas import OutputFormat, StoryPlan


class Settings(EncoderSettings):
    crf: int = Field(18, ge=0, le=51)
    threads: int = Field(2, ge=1, le=64)


class PyAVFilm(Backend):
    kind: ClassVar[str] = "film"
    name: ClassVar[str] = "pyav"
    version: ClassVar[str] = "1"
    suffix: ClassVar[str] = ".mp4"
    Settings: ClassVar[type[BaseModel]] = Settings

    def params(self, plan: StoryPlan, subject: None, output: OutputFormat) -> dict[str, Any]:
        return {**layout_params(plan, output), "width": output.width, "height": output.height}

    def run(self, job: Job) -> None:
        p = job.params
        spans = p["spans"]
        with self.settings.writer(job.output, p["fps"], p["width"], p["height"]) as film:
            for span, following in zip(spans, spans[1:] + [None]):
                clip = job.inputs[f"clip:{span['shot']}"]
                # The first overlap_in frames were already shown inside the previous boundary.
                for planes in yuv_frames(clip, span["overlap_in"], span["frames"] - span["overlap_out"]):
                    film.write_yuv(planes)
                if span["overlap_out"]:
                    for planes in yuv_frames(job.inputs[f"boundary:{span['shot']}+{following['shot']}"]):
                        film.write_yuv(planes)
