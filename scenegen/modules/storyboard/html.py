"""Storyboard: one HTML page with the cast and every shot's keyframe and five domains,
and what is said in it, each line with a player for its voice.

It links to the images in the run directory with relative paths, so it opens from
disk (and from a copy of the whole run directory) with no server.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from scenegen.orchestrator.backend import Backend, Job
from scenegen.prompts import fill_template
from scenegen.schemas import OutputFormat, StoryPlan
from scenegen.schemas.timing import FrameLayout


class HtmlStoryboard(Backend):
    kind: ClassVar[str] = "storyboard"
    name: ClassVar[str] = "html"
    version: ClassVar[str] = "3"  # 3: each shot's film grammar, and the shot it answers
    suffix: ClassVar[str] = ".html"

    def params(self, plan: StoryPlan, subject: None, output: OutputFormat) -> dict[str, Any]:
        layout = FrameLayout.of(plan, output.fps)
        return {"plan": plan.model_dump(mode="json", exclude={"schema_ref"}),
                "film_seconds": round(layout.total_frames / output.fps, 3)}

    def run(self, job: Job) -> None:
        plan = job.params["plan"]
        images = {node: os.path.relpath(path, job.root) for node, path in job.inputs.items()}
        names = {c["id"]: c["name"] for c in plan["characters"]}
        html = fill_template("storyboard.html.j2", plan=plan, images=images, names=names,
                             film_seconds=job.params["film_seconds"])
        job.output.write_text(html, encoding="utf-8")
