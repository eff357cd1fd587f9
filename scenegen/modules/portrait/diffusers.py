"""Diffusion portrait: the character's identity reference, by text-to-image (SD 1.5, SDXL, ...).

`AutoPipelineForText2Image` picks the pipeline from the model's own files, so any
Stable Diffusion family checkpoint works. The prompt is the appearance, framed as a
portrait, fitted to the model's CLIP window (`shot_prompts.portrait_prompt`): the face
every keyframe will keep.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, Field

from scenegen.modules.diffusers_backend import (
    STABLE_DIFFUSION, DiffusersBackend, Family, PipelineSettings, generator, require_levers,
)
from scenegen.modules.levers import device_memory_advice
from scenegen.modules.portrait import PortraitBackend
from scenegen.modules.shot_prompts import portrait_prompt, within
from scenegen.orchestrator.backend import Job


class Settings(PipelineSettings):
    size: int = Field(1024, ge=64, le=2048, multiple_of=8, description="portrait width and height")


class DiffusersPortrait(DiffusersBackend, PortraitBackend):
    name: ClassVar[str] = "diffusers"
    version: ClassVar[str] = "2"
    Settings: ClassVar[type[BaseModel]] = Settings
    family: ClassVar[Family] = STABLE_DIFFUSION

    def check(self, output) -> None:
        # The portrait's size is its own setting, not the film's: only the levers can refuse.
        require_levers(self.kind, self.settings, self.family.denoiser)

    def run(self, job: Job) -> dict:
        s, character = self.settings, job.params["character"]
        prompt = portrait_prompt(job.params["style"], character["appearance"], within(self.pipe.tokenizer))
        with device_memory_advice(self.kind, s):
            image = self.pipe(prompt=prompt, negative_prompt=s.negative_prompt or None, height=s.size, width=s.size,
                              num_inference_steps=s.steps, guidance_scale=s.guidance,
                              generator=generator(job.seed)).images[0]
        image.save(job.output, format="PNG")
        return {"prompt": prompt}
