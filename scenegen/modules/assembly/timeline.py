"""Timeline: an OpenTimelineIO file editors open (Resolve, Premiere via adapters, OTIO view).

One clip per shot, pointing at the shot's clip in the run directory, cut where the
captions change; each dissolve or smooth transition is an OTIO transition whose
offsets use the clips' overlapping frames as handles. The track lasts exactly as
long as the film.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import opentimelineio as otio

from scenegen.modules.assembly import layout_params
from scenegen.orchestrator.backend import Backend, Job
from scenegen.schemas import OutputFormat, StoryPlan


class OtioTimeline(Backend):
    kind: ClassVar[str] = "timeline"
    name: ClassVar[str] = "otio"
    version: ClassVar[str] = "1"
    suffix: ClassVar[str] = ".otio"

    def params(self, plan: StoryPlan, subject: None, output: OutputFormat) -> dict[str, Any]:
        return {**layout_params(plan, output), "title": plan.title,
                "contexts": [shot.context for shot in plan.shots]}

    def run(self, job: Job) -> None:
        p = job.params
        fps = p["fps"]

        def frames(n: int) -> otio.opentime.RationalTime:
            return otio.opentime.RationalTime(n, fps)

        track = otio.schema.Track(name="shots", kind=otio.schema.TrackKind.Video)
        for span, context in zip(p["spans"], p["contexts"]):
            head = span["overlap_in"] // 2
            tail = span["overlap_out"] - span["overlap_out"] // 2
            media = os.path.relpath(job.inputs[f"clip:{span['shot']}"], job.root)
            track.append(otio.schema.Clip(
                name=span["shot"],
                media_reference=otio.schema.ExternalReference(
                    target_url=media, available_range=otio.opentime.TimeRange(frames(0), frames(span["frames"]))),
                source_range=otio.opentime.TimeRange(frames(head), frames(span["frames"] - head - tail)),
                metadata={"scenegen": {"context": context}},
            ))
            if span["overlap_out"]:
                track.append(otio.schema.Transition(
                    name=f"{span['transition']} {span['shot']}",
                    transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve
                    if span["transition"] == "dissolve" else otio.schema.TransitionTypes.Custom,
                    in_offset=frames(span["overlap_out"] // 2),
                    out_offset=frames(tail),
                    metadata={"scenegen": {"type": span["transition"]}},
                ))
        timeline = otio.schema.Timeline(name=p["title"], global_start_time=frames(0))
        timeline.tracks.append(track)
        job.output.write_text(otio.adapters.write_to_string(timeline, "otio_json"), encoding="utf-8")
