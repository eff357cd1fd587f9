"""Diffusion keyframe: text-to-image from the five domains, identities held by IP-Adapter.

Each character in the shot is given to the IP-Adapter by their portrait, in one of
two ways (`ip_adapter_kind`):

- image (IP-Adapter, IP-Adapter Plus): the portrait goes through the adapter's CLIP
  image encoder;
- faceid (IP-Adapter FaceID): the portrait's face goes through insightface's ArcFace
  (`face_model`, e.g. buffalo_l's `w600k_r50.onnx`) and its `normed_embedding` is the
  adapter's input. The face is found by insightface's detector (`face_detector`, e.g.
  `det_10g.onnx`) or, without one, taken to be centred, as the portrait prompt asks.

The embeddings enter the denoiser's cross-attention beside the prompt's, so faces and
clothes carry into every shot. With several characters, each one's embedding is
confined to a region of the frame by an IP-Adapter mask, laid out from the relation
domain (close together, facing across the frame, far apart), and each has a scale
(`ip_scale`, or `character_scales[id]`).

A shot in a location takes the place the same way: its set (set/animatic.py, set/diffusers.py)
is cut where the camera faces (`camera_view`, as the animatic keyframe cuts it) and that view is
one more image for the adapter, over the whole frame, at `place_scale` (0, off, by default,
since an animatic set is a drawing; the presets, whose sets are `set.diffusers` plates, take
0.5), beside the characters in their regions. It
carries the place's look and contents into the keyframe, so the shots of one place show one
place and a reverse shot its other side. The set's clear sky (an animatic
set's) is filled with grey: the hour is the prompt's. A FaceID adapter reads faces only, so with
`faceid` a shot's place is left to its words (the job says `place_not_conditioned`). A shot
with no location runs exactly as before.

The IP-Adapter is a directory holding the adapter weights (and, for `image`, its image
encoder), as the published ones are (h94/IP-Adapter: `models/ip-adapter_sd15.safetensors`
beside `models/image_encoder/`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from PIL import Image, ImageDraw
from pydantic import BaseModel, Field, model_validator

from scenegen.faces import FaceEmbedder
from scenegen.modules.diffusers_backend import (
    STABLE_DIFFUSION, DiffusersBackend, Family, PipelineSettings, generator, weight_files,
)
from scenegen.modules.levers import device_memory_advice
from scenegen.modules.keyframe import KeyframeBackend, location_set
from scenegen.modules.set.animatic import place_view
from scenegen.modules.shot_prompts import fit, prompt_domains, within
from scenegen.orchestrator.backend import Job
from scenegen.schemas import OutputFormat, Shot, StoryPlan

# Where character i of n stands, as the share of the frame width between neighbours.
SPACING = [
    (("embrace", "hug", "holding", "together", "beside", "side by side", "close"), 0.25),
    (("facing", "across", "opposite", "confront", "apart", "distance", "away"), 0.6),
]


class Settings(PipelineSettings):
    ip_adapter: str = Field(description="directory with the IP-Adapter weights (and its image encoder), "
                                        "or a Hugging Face id already in the local cache")
    ip_adapter_subfolder: str = Field("", description="folder of the weights inside ip_adapter, e.g. sdxl_models")
    ip_adapter_weight: str = "ip-adapter.safetensors"
    ip_adapter_kind: Literal["image", "faceid"] = "image"
    image_encoder_folder: str = Field(
        "image_encoder", description="the adapter's image encoder: a name inside ip_adapter_subfolder, or a path "
                                     "with a / from ip_adapter's top (h94/IP-Adapter's ViT-H: models/image_encoder)")
    face_model: str | None = Field(None, description="insightface ArcFace ONNX file, for faceid")
    face_detector: str | None = Field(None, description="insightface detector ONNX file; without it faces are centred")
    ip_scale: float = Field(0.6, ge=0.0, le=2.0)
    character_scales: dict[str, float] = Field(default_factory=dict)
    # Off by default: the default set is the animatic's drawing, which would pull a keyframe toward
    # a drawing. The presets draw their sets with `set.diffusers` and take 0.5; whether that weight
    # suits real SDXL weights is unmeasured (tiny models only).
    place_scale: float = Field(0.0, ge=0.0, le=2.0, description="weight of the view of the shot's location set "
                                                                  "as one more image prompt; 0 leaves the place to the prompt")

    def weight_files(self) -> list[Path]:
        return super().weight_files() + weight_files(self.ip_adapter, self.face_model, self.face_detector)

    @model_validator(mode="after")
    def _files_exist(self) -> "Settings":
        if self.ip_adapter_kind == "faceid" and not self.face_model:
            raise ValueError("ip_adapter_kind 'faceid' needs face_model, the path of an ArcFace ONNX file")
        if not Path(self.ip_adapter).expanduser().exists():
            from huggingface_hub import try_to_load_from_cache

            weights = "/".join(filter(None, (self.ip_adapter_subfolder, self.ip_adapter_weight)))
            try:
                cached = isinstance(try_to_load_from_cache(self.ip_adapter, weights), str)
            except ValueError:  # not a repository id either
                cached = False
            if not cached:
                raise ValueError(f"ip_adapter: {self.ip_adapter!r} is not a directory here and {weights} of it is not "
                                 "in the Hugging Face cache; weights are never downloaded, so put them there or "
                                 "point this setting at them")
        for name in ("face_model", "face_detector"):
            path = getattr(self, name)
            if path is not None and not Path(path).expanduser().exists():
                raise ValueError(f"{name}: {Path(path).expanduser().resolve()} does not exist; weights are never "
                                 "downloaded, so put them there or point this setting at them")
        return self


class DiffusersKeyframe(DiffusersBackend, KeyframeBackend):
    name: ClassVar[str] = "diffusers"
    version: ClassVar[str] = "2"
    Settings: ClassVar[type[BaseModel]] = Settings
    family: ClassVar[Family] = STABLE_DIFFUSION

    def params(self, plan: StoryPlan, shot: Shot, output: OutputFormat) -> dict[str, Any]:
        return {
            **super().params(plan, shot, output),
            # The text encoder is CLIP: the prompt is fitted to its 77 tokens when the model's tokenizer counts them.
            "domains": prompt_domains(plan, shot),
        }

    def load(self) -> None:
        super().load()
        if self.settings.ip_adapter_kind == "faceid":
            self.faces = FaceEmbedder(self.settings.face_model, self.settings.face_detector)

    def attach_adapters(self, pipe) -> None:
        s = self.settings
        # The image encoder is the adapter's input only for `image`; faceid is given insightface's embedding.
        pipe.load_ip_adapter(s.ip_adapter, subfolder=s.ip_adapter_subfolder, weight_name=s.ip_adapter_weight,
                             image_encoder_folder=None if s.ip_adapter_kind == "faceid" else s.image_encoder_folder,
                             local_files_only=True)

    def face_embedding(self, portrait: Image.Image) -> np.ndarray | None:
        """insightface's `normed_embedding` of the portrait's face (512 numbers, unit length), if it has one."""
        # Portraits are asked for head and shoulders, so without a detector the face is taken as centred.
        return self.faces.embed(portrait, centred_if_undetected=self.faces.detector is None)

    def run(self, job: Job) -> dict[str, Any]:
        p, s = job.params, self.settings
        width, height = p["width"], p["height"]
        people = p["characters"]
        portraits = [Image.open(job.inputs[f"portrait:{c}"]).convert("RGB") for c in people]
        scales = [s.character_scales.get(c, s.ip_scale) for c in people]
        extra: dict[str, Any] = {}
        facts: dict[str, Any] = {}
        faces = None
        if s.ip_adapter_kind == "faceid":
            faces = [self.face_embedding(im) for im in portraits]
            # A portrait whose face the detector cannot find keeps no identity, rather than a wrong one.
            missing = [who for who, face in zip(people, faces) if face is None]
            if missing:
                facts["faces_not_found"] = missing
                scales = [0.0 if face is None else scale for face, scale in zip(faces, scales)]
                faces = [np.zeros(512, np.float32) if face is None else face for face in faces]
        place = location_set(job)
        if place and faces is not None:
            facts["place_not_conditioned"] = "a FaceID adapter takes faces, not a place"
        elif place and s.place_scale:
            portraits.append(place_view(Image.open(place), p["camera"], width, height))
            scales.append(s.place_scale)
        if not portraits:
            # Nobody to keep: the adapter still needs an input, at no weight.
            portraits, people, scales = [Image.new("RGB", (64, 64), (127, 127, 127))], ["nobody"], [0.0]
            if faces is not None:
                faces = [np.zeros(512, np.float32)]
        if len(portraits) > 1:
            from diffusers.image_processor import IPAdapterMaskProcessor

            # Each character in their region; the place, after them, over the whole frame they stand in.
            areas = (regions(p["relation"], len(people), width, height)
                     + [Image.new("L", (width, height), 255)] * (len(portraits) - len(people)))
            masks = IPAdapterMaskProcessor().preprocess(areas, height=height, width=width)
            extra["cross_attention_kwargs"] = {"ip_adapter_masks": [masks.reshape(1, len(portraits), *masks.shape[2:])]}
            self.pipe.set_ip_adapter_scale([scales])
        else:
            self.pipe.set_ip_adapter_scale(scales[0])
        if faces is not None:
            extra["ip_adapter_image_embeds"] = [self._face_embeds(faces)]
        else:
            extra["ip_adapter_image"] = [portraits] if len(portraits) > 1 else portraits[0]
        facts["prompt"] = fit(p["domains"], within(self.pipe.tokenizer))
        with device_memory_advice(self.kind, s):
            image = self.pipe(
                prompt=facts["prompt"], negative_prompt=s.negative_prompt or None,
                height=height, width=width, num_inference_steps=s.steps, guidance_scale=s.guidance,
                generator=generator(job.seed), **extra,
            ).images[0]
        image.save(job.output, format="PNG")
        return facts

    def _face_embeds(self, embeddings: list[np.ndarray]):
        import torch

        faces = torch.from_numpy(np.stack(embeddings)).to(self.pipe.device, self.pipe.unet.dtype).unsqueeze(0)  # (1, characters, 512)
        if self.settings.guidance > 1:
            # With classifier-free guidance the pipeline splits off a negative half: no face.
            faces = torch.cat([torch.zeros_like(faces), faces])
        return faces


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
