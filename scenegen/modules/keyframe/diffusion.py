"""Diffusion keyframe: text-to-image from the five domains, identities held by IP-Adapter.

Each character in the shot is given to the IP-Adapter as their portrait; the image
embeddings enter the denoiser's cross-attention beside the prompt's, so the face and
clothes of the portrait carry into every shot. With several characters, each one's
embedding is confined to a region of the frame by an IP-Adapter mask, laid out from
the relation domain (close together, facing across the frame, far apart), and each
has a scale (`ip_scale`, or `character_scales[id]`).

The IP-Adapter is a directory holding the adapter weights and its image encoder, as
the published ones are (h94/IP-Adapter: `models/ip-adapter_sd15.safetensors` beside
`models/image_encoder/`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from PIL import Image, ImageDraw
from pydantic import BaseModel, Field

from scenegen.modules.diffusion import PipelineSettings, generator, load_pipeline, require_multiple
from scenegen.modules.keyframe import KeyframeBackend
from scenegen.orchestrator.backend import Job
from scenegen.prompts import render
from scenegen.schemas import OutputFormat, Shot, StoryPlan

# Where character i of n stands, as the share of the frame width between neighbours.
SPACING = [
    (("embrace", "hug", "holding", "together", "beside", "side by side", "close"), 0.25),
    (("facing", "across", "opposite", "confront", "apart", "distance", "away"), 0.6),
]


class Settings(PipelineSettings):
    ip_adapter: str = Field(description="directory with the IP-Adapter weights and its image encoder")
    ip_adapter_weight: str = "ip-adapter.safetensors"
    image_encoder_folder: str = "image_encoder"
    ip_scale: float = Field(0.6, ge=0.0, le=2.0)
    character_scales: dict[str, float] = Field(default_factory=dict)


class DiffusersKeyframe(KeyframeBackend):
    name: ClassVar[str] = "diffusers"
    version: ClassVar[str] = "1"
    Settings: ClassVar[type[BaseModel]] = Settings
    thread_safe: ClassVar[bool] = False

    def params(self, plan: StoryPlan, shot: Shot, output: OutputFormat) -> dict[str, Any]:
        require_multiple("width", output.width, 8, "Stable Diffusion")
        require_multiple("height", output.height, 8, "Stable Diffusion")
        return {
            **super().params(plan, shot, output),
            "prompt": render("diffusion/shot.j2", style=plan.style, character=shot.character, background=shot.background,
                             relation=shot.relation, camera=shot.camera.text, lighting=shot.lighting.text).strip(),
        }

    def load(self) -> None:
        s = self.settings
        self.pipe = load_pipeline("AutoPipelineForText2Image", s)
        self.pipe.load_ip_adapter(s.ip_adapter, subfolder="", weight_name=s.ip_adapter_weight,
                                  image_encoder_folder=s.image_encoder_folder, local_files_only=True)

    def run(self, job: Job) -> None:
        p, s = job.params, self.settings
        width, height = p["width"], p["height"]
        people = p["characters"]
        portraits = [Image.open(job.inputs[f"portrait:{c}"]).convert("RGB") for c in people]
        scales = [s.character_scales.get(c, s.ip_scale) for c in people]
        extra: dict[str, Any] = {}
        if not portraits:
            # Nobody to keep: the adapter still needs an image, at no weight.
            portraits, scales = [Image.new("RGB", (64, 64), (127, 127, 127))], [0.0]
        if len(portraits) > 1:
            from diffusers.image_processor import IPAdapterMaskProcessor

            masks = IPAdapterMaskProcessor().preprocess(regions(p["relation"], len(portraits), width, height),
                                                        height=height, width=width)
            extra["cross_attention_kwargs"] = {"ip_adapter_masks": [masks.reshape(1, len(portraits), *masks.shape[2:])]}
            self.pipe.set_ip_adapter_scale([scales])
            images = [portraits]
        else:
            self.pipe.set_ip_adapter_scale(scales[0])
            images = portraits[0]
        image = self.pipe(
            prompt=p["prompt"], negative_prompt=s.negative_prompt or None, ip_adapter_image=images,
            height=height, width=width, num_inference_steps=s.steps, guidance_scale=s.guidance,
            generator=generator(job.seed), **extra,
        ).images[0]
        image.save(job.output, format="PNG")


def regions(relation: str, count: int, width: int, height: int) -> list[Image.Image]:
    """One white band per character, left to right, as close together as the relation says."""
    text = relation.lower()
    spread = next((share for words, share in SPACING if any(w in text for w in words)), 0.45)
    band = width / count * (1.2 if spread < 0.3 else 1.0)
    masks = []
    for i in range(count):
        centre = width / 2 + (i - (count - 1) / 2) * spread * width / max(1, count - 1)
        mask = Image.new("L", (width, height), 0)
        ImageDraw.Draw(mask).rectangle((centre - band / 2, 0, centre + band / 2, height), fill=255)
        masks.append(mask)
    return masks
