"""A film segment: one shot as the film shows it, then the transition into the next.

That is the shot's clip without the frames its neighbours' boundaries replace, then
the boundary frames that follow it, as a stream of its own that starts on a keyframe.
The film joins the segments without encoding them again, so an edit to one shot makes
one or two segments, not the whole film, and segments are made in parallel while later
shots are still being made.

Where the clip (or the boundary) was encoded as this segment encodes (`wrote`), its
packets are copied from the first keyframe of the shot's span to the last one: those
frames are encoded once, not twice, and an edit to one shot waits for no second encode.
Only the frames before that first keyframe and after that last one are decoded and
encoded again (with a keyframe a second, at most a second's at either end), as are all
of them where the encodings differ.

Frames pass from the decoded clips to the encoder as yuv420p planes, untouched; the
encoder's thread count is fixed by the settings because x264's output depends on it.
With `burn_captions` the caption is drawn onto them, after the camera has moved (so it
never slides with it) and inside the title-safe area; halfway through the transition
it changes to the next shot's, as the subtitle track does, so two never overlap.
"""

from __future__ import annotations

import itertools
import tempfile
import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydantic import BaseModel

from scenegen.media import EncoderSettings, Slice, concatenate, cut_points, rgb_to_yuv, yuv_frames, yuv_to_rgb
from scenegen.orchestrator.backend import Backend, Job
from scenegen.schemas import OutputFormat, Shot, StoryPlan
from scenegen.schemas.timing import FrameLayout, shown_clip


class PyAVSegment(Backend):
    kind: ClassVar[str] = "segment"
    name: ClassVar[str] = "pyav"
    version: ClassVar[str] = "2"
    suffix: ClassVar[str] = ".mp4"
    Settings: ClassVar[type[BaseModel]] = EncoderSettings

    def params(self, plan: StoryPlan, subject: Shot, output: OutputFormat) -> dict[str, Any]:
        spans = FrameLayout.of(plan, output.fps).spans
        k = next(k for k, span in enumerate(spans) if span.shot_id == subject.id)
        span = spans[k]
        boundary = f"boundary:{span.shot_id}+{spans[k + 1].shot_id}" if span.overlap_out else None
        # Only the shot's own frames: where it starts in the film is the film's business.
        params = {"shot": subject.id, "clip": shown_clip(subject), "first": span.overlap_in, "stop": span.frames - span.overlap_out,
                  "boundary": boundary, "fps": output.fps, "width": output.width, "height": output.height}
        if output.burn_captions:
            following = plan.shots[k + 1].context if boundary else None
            # This shot's caption up to the middle of the transition out, then the next one's.
            params["captions"] = {"texts": [subject.context, following],
                                  "switch": span.frames - span.overlap_out - span.overlap_in + span.overlap_out // 2}
        return params

    def run(self, job: Job) -> None:
        p = job.params
        clip, boundary = job.inputs[p["clip"]], job.inputs.get(p["boundary"])
        if "captions" in p:   # every frame gets its caption drawn on, so every frame is encoded
            frames = yuv_frames(clip, p["first"], p["stop"])   # the first were in the previous boundary
            self._encode(job.output, itertools.chain(frames, yuv_frames(boundary) if boundary else ()), p)
            return
        size = p["fps"], p["width"], p["height"]
        first, stop = p["first"], p["stop"]
        cuts = [c for c in cut_points(clip) if first <= c <= stop] if self.settings.wrote(clip, *size) else []
        copy_from, copy_to = (cuts[0], cuts[-1]) if len(cuts) > 1 else (stop, stop)
        # In order, each a Slice to copy or frames to encode: the clip's span, then the boundary.
        parts: list[Slice | list[Iterable]] = [[yuv_frames(clip, first, copy_from)], Slice(clip, copy_from, copy_to),
                                               [yuv_frames(clip, copy_to, stop)]]
        if boundary and self.settings.wrote(boundary, *size):
            parts.append(Slice(boundary, 0, cut_points(boundary)[-1]))
        elif boundary:
            parts[-1].append(yuv_frames(boundary))
        with tempfile.TemporaryDirectory(dir=job.output.parent) as scratch:
            joined = []
            for n, part in enumerate(parts):
                if isinstance(part, list):   # frames to encode: a part of its own, if there are any
                    frames = itertools.chain(*part)
                    if (opening := next(frames, None)) is not None:
                        joined.append(self._encode(Path(scratch) / f"{n}.mp4", itertools.chain([opening], frames), p))
                elif part.start < part.stop:
                    joined.append(part)
            concatenate(joined, job.output, p["fps"])

    def _encode(self, path: Path, frames: Iterable[np.ndarray], p: dict[str, Any]) -> Path:
        with self.settings.writer(path, p["fps"], p["width"], p["height"]) as segment:
            for n, planes in enumerate(frames):
                if "captions" in p:
                    texts = p["captions"]["texts"]
                    planes = _burned(planes, texts[0] if n < p["captions"]["switch"] else texts[1])
                segment.write_yuv(planes)
        return path


def _burned(planes: np.ndarray, caption: str) -> np.ndarray:
    """The frame with `caption` drawn on a dark band, wrapped inside the title-safe area (the middle 90%)."""
    image = yuv_to_rgb(planes)
    width, height = image.size
    size = max(10, height // 22)
    font = ImageFont.load_default(size=size)
    safe_w, bottom = width * 0.9, height * 0.95
    lines = textwrap.wrap(caption, width=max(12, int(safe_w / (size * 0.55))), max_lines=4, placeholder=" …")
    band = (len(lines) * 1.25 + 0.5) * size
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rectangle((width * 0.05, bottom - band, width * 0.95 - 1, bottom - 1), fill=(0, 0, 0, 140))
    for i, line in enumerate(lines):
        draw.text((width / 2, bottom - band + (0.25 + 1.25 * i) * size), line, font=font, fill=(255, 255, 255, 255),
                  anchor="ma")
    return rgb_to_yuv(Image.alpha_composite(image.convert("RGBA"), overlay))
