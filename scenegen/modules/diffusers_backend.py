"""What the diffusion backends share: the `DiffusersBackend` base, the model families, model settings,
offline loading, memory and speed levers.

A backend declares the `Family` it runs (or, when its settings pick one, the `families`
to pick from) and keeps only `params` and `run`; the base checks the output format and
the levers against the family, lists the weights, and loads and releases the pipeline.

Weights are never downloaded: `model` is a local directory, or a Hugging Face id that
is already in the local cache (`HF_HOME`). Anything else fails at once with a message
naming what is missing and how to provide it; nothing waits on a network. torch and
diffusers are imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, field_validator

from scenegen.errors import UserError
from scenegen.media import EncoderSettings
from scenegen.modules.levers import CACHES, Denoiser, Lora, apply, free_device_memory, refusal
from scenegen.orchestrator.backend import Backend


@dataclass(frozen=True)
class Family:
    """A model family as the backends run it: the pipeline that loads it, and what it can make."""

    pipeline: str                 # the diffusers pipeline class
    denoiser: Denoiser            # decides which levers combine (`levers.refusal`)
    multiple: int | None = None   # frame sizes are multiples of this; None when the film's size is not the model's
    step: int = 1                 # frames come in step*k + 1
    fps: int | None = None        # the frame rate it was trained at
    frames: int | None = None     # the most frames it was trained to make at once
    references: bool = False      # takes reference images (people, a place) beside what it starts from
    called: str | None = None     # its name in messages, when not its pipeline's

    @property
    def name(self) -> str:
        return self.called or self.pipeline


# `AutoPipelineForText2Image` picks the Stable Diffusion pipeline (SD 1.5, SDXL, ...) from the model's own files.
STABLE_DIFFUSION = Family("AutoPipelineForText2Image", "unet", multiple=8, called="Stable Diffusion")
WAN_I2V = Family("WanImageToVideoPipeline", "wan", multiple=16, step=4, fps=16, frames=81)
WAN_VACE = Family("WanVACEPipeline", "wan_vace", multiple=16, step=4, fps=16, frames=81, references=True)
LTX = Family("LTXConditionPipeline", "ltx", multiple=32, step=8, fps=25, frames=161)
# LTX-2 makes a shot's sound with its picture; 24 fps is its pipeline's default rate, 257 frames (10.7 s) its longest take.
LTX2_I2V = Family("LTX2ImageToVideoPipeline", "ltx2", multiple=32, step=8, fps=24, frames=257, called="LTX-2")
SANA_WM = Family("SanaWMPipeline", "sana_wm", multiple=32, step=8, fps=16, frames=161)
STABLE_AUDIO = Family("StableAudioPipeline", "stable_audio")


class PipelineSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(description="local directory, or a Hugging Face id already in the local cache")
    dtype: Literal["bfloat16", "float16", "float32"] = "bfloat16"
    device: str = Field("auto", description="auto (cuda when present, else cpu), cpu, cuda, cuda:1, ...")
    steps: int = Field(30, ge=1, le=200)
    guidance: float = Field(5.0, ge=0.0, le=30.0)
    negative_prompt: str = ""
    shift: float | None = Field(None, gt=0, le=30, description="flow-matching scheduler shift (default: the model's)")
    loras: tuple[Lora, ...] = Field((), description="LoRAs fused into the denoiser after loading, e.g. a step-distilled one")
    vae_dtype: Literal["float32", "bfloat16", "float16"] | None = Field(
        None, description="dtype of the VAE and the image encoder (default: float32 for Wan, else dtype)")
    # Memory levers.
    cpu_offload: bool = Field(False, description="move each model to the GPU only while it runs")
    group_offload: Literal["none", "block", "leaf"] = Field(
        "none", description="keep the denoiser in CPU memory and stream it to the GPU by groups of blocks, or by layer")
    group_offload_blocks: int = Field(1, ge=1, description="blocks per group, for group_offload = \"block\"; "
                                                          "one block streams its copy beside the compute, more do not")
    fp8_storage: bool = Field(False, description="store the denoiser's weights in fp8, compute in dtype")
    vae_tiling: bool = Field(False, description="decode in tiles")
    # Speed levers.
    attention_backend: str | None = Field(None, description="e.g. flash, _native_cudnn, sage")
    compile_blocks: bool = Field(False, description="torch.compile the repeated transformer blocks")
    cache: Literal[CACHES] = Field("none", description="reuse a step's work when it barely changes")
    cache_threshold: float = Field(0.05, gt=0, le=1, description="for cache = \"first_block\"")
    cache_interval: int = Field(3, ge=1, le=20, description="steps between full computations, for cache = \"taylorseer\"")

    @field_validator("group_offload", mode="before")
    @classmethod
    def _group_offload_was_a_switch(cls, value):
        # Settings written before the block/leaf choice held true or false.
        return {False: "none", True: "leaf"}.get(value, value) if isinstance(value, bool) else value

    def weight_files(self) -> list[Path]:
        return weight_files(self.model, *(lora.location() for lora in self.loras))

    @field_validator("model")
    @classmethod
    def _weights_are_here(cls, model: str) -> str:
        # Checked when the DAG is built, so missing weights stop a run before any work.
        return model_here(model, "model_index.json")


def model_here(model: str, marker: str) -> str:
    """`model` if it is a local directory, or a Hugging Face id whose `marker` file (the one
    every model of its library has) is in the local cache; else a ValueError saying how to get it."""
    if Path(model).expanduser().is_dir():
        return model
    from huggingface_hub import try_to_load_from_cache

    try:
        if isinstance(try_to_load_from_cache(model, marker), str):
            return model
    except ValueError:  # not even a valid repository id
        pass
    raise ValueError(
        f"{model!r} is not a local directory ({Path(model).expanduser().resolve()} does not exist) and not in "
        f"the Hugging Face cache ({os.environ.get('HF_HOME', '~/.cache/huggingface')}); download it on a machine "
        f"with a network (`huggingface-cli download {model}`) and set `model` to that directory"
    )


def weight_files(*locations: str | None) -> list[Path]:
    """The files under each location given: a file, a directory, or a model id in the Hugging Face cache."""
    files = []
    for location in filter(None, locations):
        root = Path(location).expanduser()
        if not root.exists():  # validated as a model id in the cache: its snapshot holds the files
            from huggingface_hub import snapshot_download

            root = Path(snapshot_download(location, local_files_only=True))
        # Hidden entries (.git, download metadata) are not the model.
        files += [root] if root.is_file() else sorted(
            p for p in root.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
        )
    return files


@contextmanager
def offline_loading(model: str, loaded_as: str) -> Iterator[str]:
    """Where to load `model` from (its directory, or its id in the cache), with no hub call and no
    library progress bars; a model that will not load is a UserError naming it and `loaded_as`."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: no hub call can be made
    import transformers

    # Our own progress bars show the run; the libraries' would interleave with them.
    transformers.utils.logging.disable_progress_bar()
    source = Path(model).expanduser()
    try:
        yield str(source) if source.is_dir() else model
    except (OSError, ValueError) as e:
        raise UserError(f"model {model!r} could not be loaded as a {loaded_as}: {e}") from None


def load_pipeline(pipeline_class: str, settings: PipelineSettings, denoiser: Denoiser, adapters=None):
    """Load `diffusers.<pipeline_class>` from local files, let `adapters(pipe)` attach an IP-Adapter, apply the levers.

    Adapters come first: an offload hook, a cast or a compiled graph only covers the
    layers that exist when it is applied.
    """
    with offline_loading(settings.model, pipeline_class) as location:
        import diffusers
        import torch

        diffusers.utils.logging.disable_progress_bar()
        pipe = getattr(diffusers, pipeline_class).from_pretrained(
            location, dtype=getattr(torch, settings.dtype), local_files_only=True
        )
    pipe.set_progress_bar_config(disable=True)
    if adapters is not None:
        adapters(pipe)
    apply(pipe, settings, denoiser, device_of(settings))
    return pipe


class VideoSettings(PipelineSettings, EncoderSettings):
    max_sequence_length: int = Field(512, ge=8, description="prompt tokens the text encoder reads")


def valid_length(frames: int, step: int) -> int:
    """The smallest step*k + 1 frames that cover `frames` (Wan: step 4, LTX: step 8)."""
    return step * ((frames - 1 + step - 1) // step) + 1


def device_of(settings: PipelineSettings) -> str:
    import torch

    if settings.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return settings.device


def generator(seed: int):
    """A seeded generator on the CPU: the same noise on any device, so takes reproduce."""
    import torch

    return torch.Generator("cpu").manual_seed(seed)


def chunk_seed(seed: int, chunk: int) -> int:
    """The seed of one generation of several (a shot's chunks, a piece's parts): the first keeps
    the node's seed; each later one gets its own, from it."""
    if chunk == 0:
        return seed
    return int.from_bytes(hashlib.sha256(f"{seed}:{chunk}".encode()).digest()[:8], "big") >> 1


def require_levers(kind: str, settings: PipelineSettings, denoiser: Denoiser) -> None:
    """Refuse lever settings that cannot combine on this denoiser, naming the stage's settings."""
    if reason := refusal(settings, denoiser):
        raise UserError(f"settings for {kind} backend 'diffusers': {reason} "
                        f"(settings.json, or [backends.{kind}.settings] in a {{config!n}} file)", config=None)


def require_size(output, multiple: int, model: str) -> None:
    """Refuse a frame size `model` cannot make, naming the sizes it can."""
    require_multiple("width", output.width, multiple, model)
    require_multiple("height", output.height, multiple, model)


def require_multiple(name: str, value: int, multiple: int, model: str) -> None:
    if value % multiple:
        lower, upper = value - value % multiple, value - value % multiple + multiple
        raise UserError(f"{model} needs the frame {name} to be a multiple of {multiple}, not {value}; "
                        f"use {{size!n}} with {lower} or {upper}", size=None)


def masked_video(frames: list[Image.Image | None], size: tuple[int, int]) -> tuple[list[Image.Image], list[Image.Image]]:
    """The video and mask WanVACE takes for `frames` of `size`: each frame given is kept (mask black),
    each None is generated (mask white) from mid-grey."""
    grey = Image.new("RGB", size, (127, 127, 127))
    keep, make = Image.new("L", size, 0), Image.new("L", size, 255)
    return [grey if frame is None else frame for frame in frames], [make if frame is None else keep for frame in frames]


class DiffusersBackend(Backend):
    """A backend that runs one diffusers pipeline: it declares the `Family`, and keeps `params` and `run`.

    A backend whose settings pick the model (`family = "wan"`, ...) declares the `families`
    to pick from instead; `family` is then the one its settings pick.
    """

    family: ClassVar[Family]
    families: ClassVar[dict[str, Family]] = {}
    # Whether the pipeline waits for the first job that uses it (boundaries that are all dissolves use none).
    loads_when_needed: ClassVar[bool] = False
    thread_safe: ClassVar[bool] = False
    uses_gpu: ClassVar[bool] = True

    def __init__(self, settings: dict[str, Any] | None = None):
        super().__init__(settings)
        if self.families:
            self.family = self.families[self.settings.family]
        self._pipe = None   # until `load`, or the first use of a backend that waits

    def check(self, output) -> None:
        super().check(output)   # the kind's own checks (a clip backend's sound), then the model's
        if self.family.multiple:
            require_size(output, self.family.multiple, self.family.name)
        require_levers(self.kind, self.settings, self.family.denoiser)

    def files(self) -> list[Path]:
        return self.settings.weight_files()

    def load(self) -> None:
        self._pipe = None if self.loads_when_needed else self.load_pipe()

    @property
    def pipe(self):
        """The family's pipeline, loaded by `load` or, for a backend that waits, by its first use."""
        if self._pipe is None:
            self._pipe = self.load_pipe()
        return self._pipe

    def load_pipe(self):
        return load_pipeline(self.family.pipeline, self.settings, self.family.denoiser, adapters=self.attach_adapters)

    def attach_adapters(self, pipe) -> None:
        """Attach what the pipeline needs beside its own weights (an IP-Adapter), before the levers apply."""

    def release(self) -> None:
        self._pipe = None
        free_device_memory()
