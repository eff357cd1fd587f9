"""Captions: the story context of each shot as SubRip subtitles, timed to the film, and
each line said while it is said, with who says it ("ANNA: ..."; narration in italics).

Lines are timed from their voices' real lengths, so the captions change when a voice does.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from scenegen.modules.cues import subtitle_params, subtitles
from scenegen.orchestrator.backend import Backend, Job
from scenegen.schemas import OutputFormat, StoryPlan


class SrtCaptions(Backend):
    kind: ClassVar[str] = "captions"
    name: ClassVar[str] = "srt"
    version: ClassVar[str] = "4"
    suffix: ClassVar[str] = ".srt"

    def params(self, plan: StoryPlan, subject: None, output: OutputFormat) -> dict[str, Any]:
        return subtitle_params(plan, output)

    def run(self, job: Job) -> None:
        job.output.write_text("\n".join(f"{n}\n{_timestamp(start)} --> {_timestamp(end)}\n{_cue_text(text)}\n"
                                         for n, (start, end, text) in enumerate(subtitles(job.params, job.inputs), start=1)),
                              encoding="utf-8")


# What FFmpeg's SubRip reader takes for a cue's timing line: hours, minutes, seconds, milliseconds, then -->.
TIMING_LINE = re.compile(r"\s*\d+:\d+:\d+[,.]\d+\s*-->")


def _cue_text(text: str) -> str:
    """`text` with a word joiner (U+2060, invisible) before any line a reader would take for a timing line:
    SubRip has no escape, and such a line would start a cue of its own and take the rest of the text with it."""
    return "\n".join(f"\u2060{line}" if TIMING_LINE.match(line) else line for line in text.split("\n"))


def _timestamp(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"
