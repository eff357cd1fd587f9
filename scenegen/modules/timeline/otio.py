"""Timeline: an OpenTimelineIO file editors open (Resolve, Premiere via adapters, OTIO view).

One clip per shot, pointing at the shot's clip in the run directory, cut where the
captions change; each dissolve or smooth transition is an OTIO transition whose
offsets use the clips' overlapping frames as handles. The track lasts exactly as
long as the film. With sound, audio tracks lie under it: "dialogue", each line's voice
where the mix lays it (with `dialogue = "clip"`, each speaking shot's clip, its sound, where
the mix lays that: the frames the film shows of it, its lines in its metadata), and "score",
each piece of music from where it enters. Where two
overlap (a line running on into the next shot's), the later goes on a second track,
"dialogue 2", as an editor would lay it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, ClassVar

from scenegen.modules.cues import layout_params, speech_cues, speech_params, line_seconds
from scenegen.orchestrator.backend import Backend, Job
from scenegen.schemas import OutputFormat, StoryPlan
from scenegen.schemas.timing import FrameLayout, score_scenes, shown_clip

if TYPE_CHECKING:
    import opentimelineio as otio


class OtioTimeline(Backend):
    kind: ClassVar[str] = "timeline"
    name: ClassVar[str] = "otio"
    version: ClassVar[str] = "3"
    suffix: ClassVar[str] = ".otio"

    def params(self, plan: StoryPlan, subject: None, output: OutputFormat) -> dict[str, Any]:
        sound = {}
        if output.sound:
            pieces = score_scenes(plan, FrameLayout.of(plan, output.fps))
            sound = {"speech": speech_params(plan, output)["speech"],
                     "score": [{"node": p.node, "start": p.start, "seconds": p.seconds, "mood": p.mood} for p in pieces]}
        return {**layout_params(plan, output), **sound, "title": plan.title,
                "contexts": [shot.context for shot in plan.shots], "clips": [shown_clip(shot) for shot in plan.shots]}

    def run(self, job: Job) -> None:
        # Imported here, not at the top: a render imports every backend to build its graph before
        # the first job starts, and opentimelineio's import (0.03-0.1 s) held up an edit's clip;
        # here it loads on a worker, beside the clips.
        import opentimelineio as otio

        p = job.params
        fps = p["fps"]

        def frames(n: int) -> otio.opentime.RationalTime:
            return otio.opentime.RationalTime(n, fps)

        track = otio.schema.Track(name="shots", kind=otio.schema.TrackKind.Video)
        for span, context, clip in zip(p["spans"], p["contexts"], p["clips"]):
            head = span["overlap_in"] // 2
            tail = span["overlap_out"] - span["overlap_out"] // 2
            media = os.path.relpath(job.inputs[clip], job.root)
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
        if "speech" in p:
            cues = speech_cues(p, line_seconds(p, job.inputs))
            by_clip = {shot["shot"] for shot in p["speech"] if "track" in shot}
            lines = [(c["start"], c["end"] - c["start"], c["node"], {"speaker": c["speaker"], "text": c["text"]}, 0.0)
                     for c in cues if c["shot"] not in by_clip]
            lines += [(shot["shown_from"] / fps, shot["track"]["frames"] / fps, shot["track"]["node"],
                       {"lines": [{key: c[key] for key in ("speaker", "text", "start", "end")}
                                  for c in cues if c["shot"] == shot["shot"]]}, shot["track"]["first"] / fps)
                      for shot in p["speech"] if "track" in shot]
            pieces = [(s["start"], s["seconds"], s["node"], {"mood": s["mood"]}, 0.0) for s in p["score"]]
            for name, items in (("dialogue", lines), ("score", pieces)):
                timeline.tracks.extend(self._audio_tracks(name, items, job, fps))
        job.output.write_text(otio.adapters.write_to_string(timeline, "otio_json"), encoding="utf-8")

    @staticmethod
    def _audio_tracks(name: str, items: list[tuple[float, float, str, dict, float]], job: Job,
                      fps: int) -> list[otio.schema.Track]:
        """Audio tracks of (start, seconds, node, metadata, seconds into its media) clips in time
        order, gaps between: each clip on the first track free at its start, a new track when none is."""
        import opentimelineio as otio   # as in `run`

        def seconds(value: float) -> otio.opentime.RationalTime:
            return otio.opentime.RationalTime.from_seconds(value, fps)

        tracks: list[otio.schema.Track] = []
        ends: list[float] = []   # where each track's last clip ends
        for start, length, node, metadata, offset in sorted(items, key=lambda item: item[0]):
            # Within half a frame is back to back: starts and lengths are rounded seconds.
            lane = next((n for n, end in enumerate(ends) if end <= start + 0.5 / fps), len(tracks))
            if lane == len(tracks):
                label = name if not tracks else f"{name} {lane + 1}"
                tracks.append(otio.schema.Track(name=label, kind=otio.schema.TrackKind.Audio))
                ends.append(0.0)
            track, at = tracks[lane], ends[lane]
            if start > at:
                track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(seconds(0), seconds(start - at))))
            track.append(otio.schema.Clip(
                name=node.split(":", 1)[1],
                media_reference=otio.schema.ExternalReference(
                    target_url=os.path.relpath(job.inputs[node], job.root),
                    available_range=otio.opentime.TimeRange(seconds(0), seconds(offset + length))),
                source_range=otio.opentime.TimeRange(seconds(offset), seconds(length)),
                metadata={"scenegen": metadata},
            ))
            ends[lane] = start + length
        return tracks
