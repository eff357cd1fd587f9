"""Diffusion shot: image-to-video from the keyframe with Wan 2.x I2V (`WanImageToVideoPipeline`).

The prompt joins the five domains (prompts/diffusion/shot.j2), the camera pose's text
naming the move the clip should make. Wan generates 4k+1 frames at sizes that are
multiples of 16: the clip is generated at the first valid length that covers the
shot and cut to it; a frame size Wan cannot make is an error that names the sizes
it can. The pipeline loads once per worker (`load`) and serves every shot.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from PIL import Image, ImageOps
from pydantic import BaseModel

from scenegen.media import EncoderSettings, rgb_to_yuv
from scenegen.modules.diffusion import PipelineSettings, generator, load_pipeline, require_multiple
from scenegen.modules.shot import ShotBackend
from scenegen.orchestrator.backend import Job
from scenegen.prompts import render
from scenegen.schemas import OutputFormat, Shot, StoryPlan


class Settings(PipelineSettings, EncoderSettings):
    max_sequence_length: int = 512


class DiffusersShot(ShotBackend):
    name: ClassVar[str] = "diffusers"
    version: ClassVar[str] = "1"
    Settings: ClassVar[type[BaseModel]] = Settings
    thread_safe: ClassVar[bool] = False

    def params(self, plan: StoryPlan, shot: Shot, output: OutputFormat) -> dict[str, Any]:
        # Checked while the DAG is built, so a size Wan cannot make stops the run before any work.
        require_multiple("width", output.width, 16, "Wan image-to-video")
        require_multiple("height", output.height, 16, "Wan image-to-video")
        return {
            **super().params(plan, shot, output),
            "prompt": render("diffusion/shot.j2", style=plan.style, character=shot.character, background=shot.background,
                             relation=shot.relation, camera=shot.camera.text, lighting=shot.lighting.text).strip(),
        }

    def load(self) -> None:
        self.pipe = load_pipeline("WanImageToVideoPipeline", self.settings)

    def run(self, job: Job) -> None:
        p, s = job.params, self.settings
        width, height = p["width"], p["height"]
        frames = p["frames"]
        keyframe = ImageOps.fit(Image.open(job.inputs[next(iter(job.inputs))]).convert("RGB"), (width, height))
        video = self.pipe(
            image=keyframe, prompt=p["prompt"], negative_prompt=s.negative_prompt or None,
            height=height, width=width, num_frames=4 * ((frames - 1 + 3) // 4) + 1,
            num_inference_steps=s.steps, guidance_scale=s.guidance, generator=generator(job.seed),
            max_sequence_length=s.max_sequence_length, output_type="np",
        ).frames[0]
        with s.writer(job.output, p["fps"], width, height) as out:
            for frame in video[:frames]:
                out.write_yuv(rgb_to_yuv(Image.fromarray(np.clip(frame * 255 + 0.5, 0, 255).astype(np.uint8))))
