"""Diffusion set: a location's plate, four views round the place by text-to-image (SD 1.5, SDXL, ...),
joined into one 360° strip that the keyframes cut their views from.

**Why views and not one panorama.** A 360° panorama needs a model trained on
equirectangular pictures, and none is a diffusers pipeline; a Stable Diffusion model asked
for a 4:1 or 8:1 picture at once repeats its subject across it. The family the keyframes
already run (`STABLE_DIFFUSION`, so one model serves portraits, sets and keyframes) makes a
view at the sizes it was trained at: SDXL's buckets include 1408x704, a 2:1 view, which is 90°
across and 45° up and down, exactly a quarter of the animatic strip's 360° by 45°. Four views,
each the size of one 1024x1024 picture in memory and time, make the place at full resolution.

**The views.** One per quarter, facing bearings 0, 90, 180 and -90. Each is prompted with the
location's name and description, what its layout puts within 45° of that bearing, and the
look of the film; the set is empty of people and lit by plain daylight, as the animatic set
is: the hour, the weather and the cast are the shots'. View k is drawn from its own seed
(`chunk_seed(seed, k)`), so a plate is the same bytes for the same plan and seed.

**The strip.** The views stand side by side in the animatic strip's geometry (set/animatic.py):
x = (bearing + 180) / 360 * width, the horizon on the middle row, the view facing 180
split across both ends. So `view_of` cuts a camera's view from either set. The views are
made apart, so where two meet the place does not continue seamlessly; the keyframe takes
its view as an image prompt (keyframe/diffusers.py), which carries the place's look and
contents rather than its pixels, and a seam costs little there.
"""

from __future__ import annotations

from typing import ClassVar

from PIL import Image
from pydantic import BaseModel, Field

from scenegen.modules.diffusers_backend import (
    STABLE_DIFFUSION, DiffusersBackend, Family, PipelineSettings, chunk_seed, generator, require_levers,
)
from scenegen.modules.levers import device_memory_advice
from scenegen.modules.set import SetBackend
from scenegen.modules.set.animatic import PITCH_SPAN
from scenegen.modules.shot_prompts import set_view_prompt, within
from scenegen.orchestrator.backend import Job

BEARINGS = (0, 90, 180, -90)       # the views, in the order their seeds are drawn
VIEW_FOV = 360 / len(BEARINGS)     # degrees across one view
VIEW_ASPECT = round(VIEW_FOV / PITCH_SPAN)  # 90° by 45°: a view twice as wide as it is tall


class Settings(PipelineSettings):
    view_height: int = Field(704, ge=16, le=2048, multiple_of=8,
                             description=f"height of each view, {VIEW_ASPECT} times as wide (SDXL: 704 makes 1408x704, "
                                         "one of its trained sizes; SD 1.5: 384)")


class DiffusersSet(DiffusersBackend, SetBackend):
    name: ClassVar[str] = "diffusers"
    version: ClassVar[str] = "1"
    Settings: ClassVar[type[BaseModel]] = Settings
    family: ClassVar[Family] = STABLE_DIFFUSION

    def check(self, output) -> None:
        # The views' size is the set's own setting, not the film's: only the levers can refuse.
        require_levers(self.kind, self.settings, self.family.denoiser)

    def run(self, job: Job) -> dict:
        s, location = self.settings, job.params["location"]
        height = s.view_height
        width = VIEW_ASPECT * height
        fits = within(self.pipe.tokenizer)
        prompts = [set_view_prompt(job.params["style"], location, bearing, VIEW_FOV, fits) for bearing in BEARINGS]
        views = []
        for k, prompt in enumerate(prompts):
            with device_memory_advice(self.kind, s):
                views.append(self.pipe(prompt=prompt, negative_prompt=s.negative_prompt or None, height=height,
                                       width=width, num_inference_steps=s.steps, guidance_scale=s.guidance,
                                       generator=generator(chunk_seed(job.seed, k))).images[0])
        joined(views, BEARINGS).save(job.output, format="PNG")
        return {"prompts": prompts}


def joined(views: list[Image.Image], bearings: tuple[float, ...]) -> Image.Image:
    """Views of equal size, each facing its bearing, side by side in the strip's geometry:
    x = (bearing + 180) / 360 * width, a view that crosses an end coming back in at the other."""
    width, height = views[0].size
    turn = width * len(views)
    strip = Image.new("RGB", (turn, height))
    for view, bearing in zip(views, bearings):
        left = round((bearing - VIEW_FOV / 2 + 180) % 360 / 360 * turn)
        for shift in (-turn, 0):
            strip.paste(view.convert("RGB"), (left + shift, 0))
    return strip
