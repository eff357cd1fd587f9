"""A film segment: one shot as the film shows it, then the transition into the next.

That is the shot's clip without the frames its neighbours' boundaries replace, then
the boundary frames that follow it, encoded as a stream of its own that starts on a
keyframe. The film joins the segments without encoding them again, so an edit to one
shot encodes one or two segments, not the whole film, and segments encode in parallel
while later shots are still being made.

Frames pass from the decoded clips to the encoder as yuv420p planes, untouched; the
encoder's thread count is fixed by the settings because x264's output depends on it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field

from scenegen.media import EncoderSettings, yuv_frames
from scenegen.orchestrator.backend import Backend, Job
from scenegen.schemas import OutputFormat, Shot, StoryPlan
from scenegen.schemas.timing import FrameLayout


class Settings(EncoderSettings):
    crf: int = Field(18, ge=0, le=51)


class PyAVSegment(Backend):
    kind: ClassVar[str] = "segment"
    name: ClassVar[str] = "pyav"
    version: ClassVar[str] = "1"
    suffix: ClassVar[str] = ".mp4"
    Settings: ClassVar[type[BaseModel]] = Settings

    def params(self, plan: StoryPlan, subject: Shot, output: OutputFormat) -> dict[str, Any]:
        spans = FrameLayout.of(plan, output.fps).spans
        k = next(k for k, span in enumerate(spans) if span.shot_id == subject.id)
        span = spans[k]
        boundary = f"boundary:{span.shot_id}+{spans[k + 1].shot_id}" if span.overlap_out else None
        # Only the shot's own frames: where it starts in the film is the film's business.
        return {"shot": subject.id, "first": span.overlap_in, "stop": span.frames - span.overlap_out,
                "boundary": boundary, "fps": output.fps, "width": output.width, "height": output.height}

    def run(self, job: Job) -> None:
        p = job.params
        with self.settings.writer(job.output, p["fps"], p["width"], p["height"]) as segment:
            # The first frames were already shown inside the previous boundary.
            for planes in yuv_frames(job.inputs[f"clip:{p['shot']}"], p["first"], p["stop"]):
                segment.write_yuv(planes)
            if p["boundary"]:
                for planes in yuv_frames(job.inputs[p["boundary"]]):
                    segment.write_yuv(planes)
