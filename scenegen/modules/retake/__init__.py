"""Range retake stage: a stretch of a shot's clip drawn again, the rest kept frame for frame (node kind `retake`).

A shot's `retakes` in the plan each name seconds [start, end) and a seed. Each is a node
after the shot's clip (the first) or the retake before it (the others), so the film, its
boundaries and its timeline show the last one, and an edit upstream of the clip makes
every retake of it again through the keys.

Every frame outside the stretch must decode exactly as it did before, so the retake
decodes its input, replaces the frames of the stretch and writes all the frames again
losslessly (x264 at crf 0, which keeps yuv420p exactly). Copying the input's packets
where the frames are kept, and encoding again only the GOPs that hold the stretch, was
the other way: but a stretch that does not start and end on keyframes shares its GOPs
with kept frames, which a lossy encode would change; and a lossless GOP cannot join a
lossy stream, whose stream header (its profile) differs. The cost is the file's size,
and one more encode of that shot in the film: the segment encodes the clip's frames at
the film's quality, since the retake's packets are not the film's encoding (`wrote`).
"""

from abc import abstractmethod
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np

from scenegen.media import EncoderSettings, yuv_frames
from scenegen.orchestrator.backend import Backend, Job
from scenegen.schemas import OutputFormat, Shot, StoryPlan


class RetakeBackend(Backend):
    kind: ClassVar[str] = "retake"
    suffix: ClassVar[str] = ".mp4"
    Settings: ClassVar[type[EncoderSettings]] = EncoderSettings

    def params(self, plan: StoryPlan, subject: tuple[Shot, int], output: OutputFormat) -> dict[str, Any]:
        shot, number = subject
        retake = shot.retakes[number - 1]
        return {"start": round(retake.start * output.fps), "stop": round(retake.end * output.fps),
                "fps": output.fps, "width": output.width, "height": output.height}

    @abstractmethod
    def redraw(self, job: Job, frames: list[np.ndarray]) -> list[np.ndarray]:
        """The stretch [start, stop) of `frames` (the whole clip, yuv420p) drawn again."""

    def run(self, job: Job) -> None:
        p = job.params
        frames = list(yuv_frames(next(iter(job.inputs.values()))))
        start, stop = p["start"], p["stop"]
        redrawn = self.redraw(job, frames)
        if len(redrawn) != stop - start:
            raise ValueError(f"{job.node}: {len(redrawn)} frames drawn for a stretch of {stop - start}")
        lossless = self.settings.model_copy(update={"crf": 0})
        with lossless.writer(job.output, p["fps"], p["width"], p["height"]) as video:
            for planes in _spliced(frames, redrawn, start):
                video.write_yuv(planes)


def _spliced(frames: list[np.ndarray], redrawn: list[np.ndarray], start: int) -> Iterator[np.ndarray]:
    """The clip's frames with the stretch from `start` replaced; the others as they were decoded, untouched."""
    yield from frames[:start]
    yield from redrawn
    yield from frames[start + len(redrawn):]
