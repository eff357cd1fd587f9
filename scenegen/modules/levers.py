"""Memory and speed levers of a diffusers pipeline: which combine, in which order, and why.

`apply` takes a pipeline just loaded (its IP-Adapter already attached by the keyframe
backend) and applies the settings in the one order in which they compose:

1. adapters: LoRAs are loaded and fused into every denoiser, then unloaded, so
   nothing later sees an adapter layer (casting, offload hooks and compiled graphs all
   capture the weights as they are when applied);
2. dtypes: the VAE and the image encoder in `vae_dtype`: float32 by default for Wan,
   as diffusers' Wan examples keep them (its pipelines cast the latents for the VAE;
   the Stable Diffusion and LTX pipelines do not, so they keep `dtype`), cast on the device
   they will run on, so no host copy is made;
3. fp8 storage (layerwise casting) of every denoiser (`transformer`, and Wan 2.2's
   `transformer_2`);
4. attention backend of every denoiser, without changing the process-wide default;
5. placement: model CPU offload, or group offload (the denoisers stay on the CPU and
   stream to the GPU block by block; only the other components move), or the whole
   pipeline on the device;
6. a step cache on every denoiser;
7. compiling the repeated blocks, last, over whatever hooks wrap them: with a hook
   `fullgraph` would break, so it is asked for only when there is none.

`refusal` names a combination that cannot work, before any work starts (it is called
when the DAG is built); docs/levers.md holds the whole table.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from scenegen.errors import UserError

# The denoiser a backend's family runs; refusals depend on it.
Denoiser = Literal["unet", "wan", "wan_vace", "ltx", "ltx2", "sana_wm", "stable_audio"]

CACHES = ("none", "first_block", "taylorseer")
WAN = ("wan", "wan_vace")


class Lora(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="a LoRA file (.safetensors), a directory holding one, "
                                  "or a Hugging Face id already in the local cache")
    weight_name: str | None = Field(None, description="the file inside `path` when it is a directory or an id")
    scale: float = Field(1.0, ge=-4.0, le=4.0)

    @model_validator(mode="after")
    def _weights_are_here(self) -> "Lora":
        if Path(self.path).expanduser().exists():
            return self
        from huggingface_hub import try_to_load_from_cache

        try:
            cached = self.weight_name is not None and isinstance(try_to_load_from_cache(self.path, self.weight_name), str)
        except ValueError:  # not a repository id either
            cached = False
        if not cached:
            raise ValueError(f"LoRA {self.path!r}: not a file or directory here, and not an id whose weight_name is in "
                             "the Hugging Face cache; weights are never downloaded, so download it elsewhere first")
        return self

    def location(self) -> str:
        """The file or folder whose content is this LoRA: of an id, its one cached file."""
        if Path(self.path).expanduser().exists():
            return self.path
        from huggingface_hub import try_to_load_from_cache

        return try_to_load_from_cache(self.path, self.weight_name)


def refusal(settings, denoiser: Denoiser) -> str | None:
    """Why these settings cannot work on this denoiser, or None when they combine."""
    if settings.cpu_offload and settings.group_offload != "none":
        return "cpu_offload and group_offload both move weights between CPU and GPU; choose one"
    if settings.device == "cpu" and (settings.cpu_offload or settings.group_offload != "none"):
        return "cpu_offload and group_offload move weights to a GPU; with device = \"cpu\" leave them off"
    if settings.cache != "none" and denoiser == "unet":
        return (f"cache = {settings.cache!r}: diffusers' step caches hook transformer blocks and a UNet has none; "
                "leave cache at \"none\" for Stable Diffusion stages")
    if settings.vae_dtype not in (None, settings.dtype) and denoiser not in WAN:
        return (f"vae_dtype = {settings.vae_dtype!r} beside dtype = {settings.dtype!r}: only the Wan pipelines "
                "cast latents for a VAE of another dtype; leave vae_dtype unset")
    if settings.cache == "first_block" and denoiser == "wan_vace":
        return ("cache = \"first_block\" adds WanVACE's control hints twice (the cached residual already holds them); "
                "use cache = \"taylorseer\" for boundaries")
    if denoiser == "sana_wm" and settings.cache != "none":
        return (f"cache = {settings.cache!r}: diffusers' step caches are not checked on SANA-WM's blocks "
                "(linear and softmax attention with camera inputs); leave cache at \"none\"")
    if denoiser == "ltx2" and settings.cache != "none":
        return (f"cache = {settings.cache!r}: diffusers' step caches are not checked on LTX-2's joint audio-video "
                "blocks (each step's video and audio attend to each other); leave cache at \"none\"")
    if denoiser == "sana_wm" and settings.loras:
        return "loras: SanaWMPipeline loads no LoRA (diffusers 0.42); leave loras empty"
    if settings.cache == "first_block" and denoiser == "ltx":
        return ("cache = \"first_block\" fails inside LTX-Video's transformer (diffusers 0.42); "
                "use cache = \"taylorseer\" for LTX")
    return None


def denoisers(pipe) -> list:
    """Every denoiser of the pipeline: a UNet, a transformer, and Wan 2.2's second transformer."""
    return [model for name in ("unet", "transformer", "transformer_2") if (model := getattr(pipe, name, None)) is not None]


def apply(pipe, settings, denoiser: Denoiser, device: str) -> None:
    """Apply `settings`' levers to a loaded pipeline, in the order that composes (see the module docstring)."""
    import torch

    fuse_loras(pipe, settings.loras)
    if settings.shift is not None:
        # Flow-match Euler calls it shift; UniPC with flow sigmas (Wan's own checkpoints) flow_shift.
        name = next((key for key in ("shift", "flow_shift") if key in pipe.scheduler.config), None)
        if name is None:
            raise UserError(f"model {settings.model!r}: shift = {settings.shift} needs a flow-matching scheduler; "
                            f"{type(pipe.scheduler).__name__} has no shift")
        pipe.scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config, **{name: settings.shift})
    dtype = getattr(torch, settings.dtype)
    vae_dtype = settings.vae_dtype or ("float32" if denoiser in WAN else settings.dtype)
    for name in ("vae", "image_encoder"):
        if (component := getattr(pipe, name, None)) is not None:
            # Cast where it will run: a cast on the host first would be a host copy, and a new one in fp32.
            component.to(device=None if settings.cpu_offload else device, dtype=getattr(torch, vae_dtype))
    models = denoisers(pipe)
    hooked = False
    if settings.fp8_storage:
        for model in models:
            model.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn, compute_dtype=dtype)
        hooked = True
    if settings.vae_tiling:
        pipe.vae.enable_tiling()
    if settings.attention_backend:
        from diffusers.models.attention_dispatch import attention_backend

        # set_attention_backend also changes the process-wide default; the context puts it back.
        with attention_backend(os.environ.get("DIFFUSERS_ATTN_BACKEND", "native")):
            for model in models:
                model.set_attention_backend(settings.attention_backend)
    if settings.cpu_offload or settings.group_offload != "none":
        if not device.startswith("cuda"):
            raise UserError(f"model {settings.model!r}: cpu_offload and group_offload need a CUDA device, not {device!r}")
    if settings.cpu_offload:
        pipe.enable_model_cpu_offload(device=device)
    elif settings.group_offload != "none":
        # Never the whole pipeline first: that would put every weight on the GPU before streaming any.
        for component in pipe.components.values():
            if isinstance(component, torch.nn.Module) and all(component is not m for m in models):
                component.to(device)
        for model in models:
            model.enable_group_offload(**group_offload_options(settings, device))
        hooked = True
    else:
        pipe.to(device)
    if settings.cache != "none":
        for model in models:
            model.enable_cache(cache_config(settings))
        hooked = True
    if settings.compile_blocks:
        for model in models:
            model.compile_repeated_blocks(fullgraph=not hooked)


def group_offload_options(settings, device: str) -> dict:
    """`enable_group_offload`'s arguments for these settings.

    A CUDA stream copies the next group while this one computes, but diffusers streams only one block per
    group (given more, it warns and takes one): so several blocks per group go without a stream, as asked,
    and one block (the default) or a leaf streams. Streamed groups are pinned as they go
    (`low_cpu_mem_usage`): pinning them all up front would hold a second host copy of the whole model."""
    import torch

    blocks = settings.group_offload_blocks if settings.group_offload == "block" else None
    stream = blocks in (None, 1)
    return {"onload_device": torch.device(device), "offload_device": torch.device("cpu"),
            "offload_type": f"{settings.group_offload}_level", "num_blocks_per_group": blocks,
            "use_stream": stream, "low_cpu_mem_usage": stream}


def fuse_loras(pipe, loras) -> None:
    """Load each LoRA into every denoiser, fuse them at their scales, and drop the adapter layers."""
    if not loras:
        return
    names = [f"lora{i}" for i in range(len(loras))]
    second = getattr(pipe, "transformer_2", None) is not None
    for name, lora in zip(names, loras):
        try:
            pipe.load_lora_weights(lora.path, weight_name=lora.weight_name, adapter_name=name, local_files_only=True)
            if second:  # Wan 2.2 A14B: the low-noise expert takes the LoRA too
                pipe.load_lora_weights(lora.path, weight_name=lora.weight_name, adapter_name=name,
                                       local_files_only=True, load_into_transformer_2=True)
        except (OSError, ValueError) as e:
            raise UserError(f"LoRA {lora.path!r} could not be loaded into {type(pipe).__name__}: {e}".splitlines()[0]) from None
    pipe.set_adapters(names, adapter_weights=[lora.scale for lora in loras])
    pipe.fuse_lora(adapter_names=names, lora_scale=1.0)
    pipe.unload_lora_weights()


def cache_config(settings):
    from diffusers import FirstBlockCacheConfig, TaylorSeerCacheConfig

    if settings.cache == "first_block":
        return FirstBlockCacheConfig(threshold=settings.cache_threshold)
    return TaylorSeerCacheConfig(cache_interval=settings.cache_interval)


@contextmanager
def device_memory_advice(stage: str, settings):
    """Turn running out of GPU memory into one line: the stage, the model, the memory, the levers left."""
    import torch

    try:
        yield
    except torch.cuda.OutOfMemoryError:
        total = peak = None
        if torch.cuda.is_available():
            device = torch.device(settings.device if settings.device != "auto" else "cuda")
            total = torch.cuda.get_device_properties(device).total_memory / 2**30
            peak = torch.cuda.max_memory_allocated(device) / 2**30
        free_device_memory()
        untried = [lever for lever, on in (("fp8_storage", settings.fp8_storage), ("vae_tiling", settings.vae_tiling),
                                           ("cpu_offload", settings.cpu_offload),
                                           ("group_offload", settings.group_offload != "none")) if not on]
        memory = f"{peak:.1f} of {total:.1f} GiB at the peak" if total is not None else "device memory"
        raise DeviceOutOfMemory(
            f"{stage} ran out of GPU memory with {settings.model} ({memory}); "
            + (f"try {', '.join(untried)} in its settings, " if untried else "")
            + "a smaller --size, fewer frames, or a preset for a smaller GPU (--config gpu-24gb)"
        ) from None


class DeviceOutOfMemory(RuntimeError):
    """A node ran out of GPU memory; the node fails, the run goes on."""


def free_device_memory() -> None:
    """Return what dropped pipelines held: collect them, then give the CUDA cache back."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
