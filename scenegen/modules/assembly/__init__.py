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


def caption_cues(params: dict[str, Any], texts: list[str]) -> list[tuple[int, int, str]]:
    """(first frame, end frame, text) of each shot's caption, from `layout_params`.

    A caption changes halfway through each transition, where an editor would cut.
    """
    cues = []
    for span, text in zip(params["spans"], texts):
        start = span["start"] + span["overlap_in"] // 2
        end = span["start"] + span["frames"] - (span["overlap_out"] - span["overlap_out"] // 2)
        cues.append((start, end, text))
    return cues
