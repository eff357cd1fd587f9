"""Where each shot's frames land in the film.

A shot lasts round(duration * fps) frames in its clip. A dissolve or smooth
transition of w frames overlaps the last w frames of one clip with the first w of the
next, and the boundary node regenerates those w frames. So the film has
sum(shot frames) - sum(transition frames) frames, and every edit tool that reads the
timeline (captions, OTIO) sees the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from scenegen.schemas.plan import StoryPlan, TransitionType


@dataclass(frozen=True)
class ShotSpan:
    shot_id: str
    frames: int           # frames in the shot's clip
    overlap_in: int       # frames shared with the previous shot
    overlap_out: int      # frames shared with the next shot
    start: int            # film frame where the clip's first frame lands

    @property
    def end(self) -> int:
        return self.start + self.frames


@dataclass(frozen=True)
class FrameLayout:
    fps: int
    spans: tuple[ShotSpan, ...]

    @property
    def total_frames(self) -> int:
        return self.spans[-1].end

    @classmethod
    def of(cls, plan: StoryPlan, fps: int) -> "FrameLayout":
        spans = []
        start = 0
        overlap_in = 0
        for i, shot in enumerate(plan.shots):
            frames = round(shot.duration * fps)
            last = i == len(plan.shots) - 1
            transition = shot.transition
            overlap_out = 0 if last or transition.type == TransitionType.cut else round(transition.duration * fps)
            spans.append(ShotSpan(shot.id, frames, overlap_in, overlap_out, start))
            start += frames - overlap_out
            overlap_in = overlap_out
        return cls(fps, tuple(spans))

