"""Assembly stage: the film, joined from per-shot segments, and what users open beside
it (captions, timeline, storyboard).

Each output is its own DAG node, so editing a caption does not re-encode the film.
"""

from __future__ import annotations

from typing import Any

from scenegen.schemas import OutputFormat, StoryPlan
from scenegen.schemas.timing import FrameLayout


def layout_params(plan: StoryPlan, output: OutputFormat) -> dict[str, Any]:
    """Where every shot's frames land in the film, as JSON: the slice captions and timeline share."""
    layout = FrameLayout.of(plan, output.fps)
    return {
        "fps": output.fps,
        "spans": [
            {"shot": s.shot_id, "frames": s.frames, "start": s.start, "overlap_in": s.overlap_in,
             "overlap_out": s.overlap_out, "transition": shot.transition.type.value}
            for s, shot in zip(layout.spans, plan.shots)
        ],
    }
