"""Diffusion shot: image-to-video from the keyframe, with Wan 2.x I2V or LTX-Video.

`family` picks the model: `wan` (default) runs `WanImageToVideoPipeline` with the
keyframe as its image; `ltx` runs `LTXConditionPipeline` with the keyframe as the
condition at frame 0. The prompt joins the five domains (prompts/diffusion/shot.j2),
the camera pose's text naming the move the clip should make; neither model takes a
camera trajectory, so the move is asked for in words. Each model makes step*k + 1
frames (Wan 4, LTX 8) at sizes that are multiples of 16 (Wan) or 32 (LTX): the clip
is generated at the first valid length that covers the shot and cut to it; a frame
size the model cannot make is an error, raised while the DAG is built, that names
the sizes it can. The pipeline loads once per worker (`load`) and serves every shot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from PIL import Image, ImageOps
from pydantic import BaseModel

from scenegen.modules.diffusion import (
    VideoSettings, generator, load_pipeline, require_levers, require_size, shot_prompt, valid_length, write_video,
)
from scenegen.modules.levers import device_memory_advice, free_device_memory
from scenegen.modules.shot import ShotBackend
from scenegen.orchestrator.backend import Job
from scenegen.schemas import OutputFormat, Shot, StoryPlan

# family -> (pipeline, size multiple, frame step, denoiser)
FAMILIES = {"wan": ("WanImageToVideoPipeline", 16, 4, "wan"), "ltx": ("LTXConditionPipeline", 32, 8, "ltx")}


class Settings(VideoSettings):
    family: Literal["wan", "ltx"] = "wan"


class DiffusersShot(ShotBackend):
    name: ClassVar[str] = "diffusers"
    version: ClassVar[str] = "1"
    Settings: ClassVar[type[BaseModel]] = Settings
    thread_safe: ClassVar[bool] = False
    uses_gpu: ClassVar[bool] = True

    def params(self, plan: StoryPlan, shot: Shot, output: OutputFormat) -> dict[str, Any]:
        return {**super().params(plan, shot, output), "prompt": shot_prompt(plan, shot)}

    def check(self, output: OutputFormat) -> None:
        pipeline, multiple, _, denoiser = FAMILIES[self.settings.family]
        require_size(output, multiple, pipeline)
        require_levers(self.kind, self.settings, denoiser)

    def files(self) -> list[Path]:
        return self.settings.weight_files()

    def load(self) -> None:
        pipeline, _, _, denoiser = FAMILIES[self.settings.family]
        self.pipe = load_pipeline(pipeline, self.settings, denoiser)

    def release(self) -> None:
        del self.pipe
        free_device_memory()

    def run(self, job: Job) -> None:
        p, s = job.params, self.settings
        width, height, frames = p["width"], p["height"], p["frames"]
        keyframe = ImageOps.fit(Image.open(job.inputs[next(iter(job.inputs))]).convert("RGB"), (width, height))
        if s.family == "ltx":
            from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

            start = {"conditions": [LTXVideoCondition(image=keyframe, frame_index=0)]}
        else:
            start = {"image": keyframe}
        with device_memory_advice(self.kind, s):
            video = self.pipe(
                **start, prompt=p["prompt"], negative_prompt=s.negative_prompt or None, height=height, width=width,
                num_frames=valid_length(frames, FAMILIES[s.family][2]), num_inference_steps=s.steps,
                guidance_scale=s.guidance, generator=generator(job.seed), max_sequence_length=s.max_sequence_length,
                output_type="np",
            ).frames[0]
        write_video(s, job.output, p["fps"], video[:frames])
