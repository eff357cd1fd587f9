"""Diffusion portrait: the character's identity reference, by text-to-image (SD 1.5, SDXL, ...).

`AutoPipelineForText2Image` picks the pipeline from the model's own files, so any
Stable Diffusion family checkpoint works. The prompt is the appearance, framed as a
portrait, fitted to the model's CLIP window (`shot_prompts.portrait_prompt`): the face
every keyframe will keep.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, Field

from scenegen.modules.diffusion import PipelineSettings, generator, load_pipeline, require_levers
from scenegen.modules.levers import device_memory_advice, free_device_memory
from scenegen.modules.portrait import PortraitBackend
from scenegen.modules.shot_prompts import portrait_prompt, within
from scenegen.orchestrator.backend import Job


class Settings(PipelineSettings):
    size: int = Field(1024, ge=64, le=2048, multiple_of=8, description="portrait width and height")


class DiffusersPortrait(PortraitBackend):
    name: ClassVar[str] = "diffusers"
    version: ClassVar[str] = "2"
    Settings: ClassVar[type[BaseModel]] = Settings
    thread_safe: ClassVar[bool] = False
    uses_gpu: ClassVar[bool] = True

    def check(self, output) -> None:
        require_levers(self.kind, self.settings, "unet")

    def files(self) -> list[Path]:
        return self.settings.weight_files()

    def load(self) -> None:
        self.pipe = load_pipeline("AutoPipelineForText2Image", self.settings, "unet")

    def release(self) -> None:
        del self.pipe
        free_device_memory()

    def run(self, job: Job) -> dict:
        s, character = self.settings, job.params["character"]
        prompt = portrait_prompt(job.params["style"], character["appearance"], within(self.pipe.tokenizer))
        with device_memory_advice(self.kind, s):
            image = self.pipe(prompt=prompt, negative_prompt=s.negative_prompt or None, height=s.size, width=s.size,
                              num_inference_steps=s.steps, guidance_scale=s.guidance,
                              generator=generator(job.seed)).images[0]
        image.save(job.output, format="PNG")
        return {"prompt": prompt}
