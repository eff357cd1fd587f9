"""Every diffusion stage at the public model sizes, through the project's own backends, timed on a GPU.

    python bench/gpu_realscale.py --work /data/realscale --steps 4 --story 3

What it builds. Each stage's models with random weights at the published architecture
sizes (compute and memory do not depend on weight values): SDXL base and an SDXL
IP-Adapter (ViT-H, in h94/IP-Adapter's layout) for portraits, sets and keyframes, Wan2.1 I2V 14B
for clips, WanVACE 14B for boundaries, a stand-in for the step-distilled LoRA the
fast preset names, and LTX-2 (its 19B audio-video transformer, Gemma-3 12B text encoder,
video and audio VAEs and vocoder) for the joint clip backend. They are built on the CPU in bf16 (initialisers skipped, then cheap
random values with an initialisation's statistics) and saved with `save_pretrained`
under `--work`/public/, once: later runs reuse them, and `sizes.json` there refuses a
folder built from other sizes. A component two pipelines share (the UMT5-XXL text
encoder and its tokenizer, the Wan VAE and scheduler) is saved once, in components/, and each folder links its files. All the stages take about
83 GiB of disk and, while building, about 55 GiB of RAM; `--stages clip` alone 44 GiB. Only the models
that the chosen lever sets' backends run on are built: LTX-2's (about 63 GiB more) only for the `ltx2` set.

What it measures. For each stage and each lever set, one job through the stage's backend
(`DiffusersPortrait`, `DiffusersSet` with a location's four views, `DiffusersKeyframe` with
two characters masked side by side and, where the lever set gives it a `place_scale`, the
set's view over the frame, `DiffusersClip` or `LTX2Clip`, `DiffusersRetake` over a whole
clip (its largest stretch), `DiffusersBoundary`), constructed from a settings dict and called as a
render calls it (`check`, `load`, `run`), in a process of its own (below):
  - load s: `backend.load()` and the first `backend.pipe` (the boundary stage loads its
    model there, at the first boundary that needs it): from_pretrained from the local
    folder, then the levers;
  - forwards, s / forward: every call of the denoiser (`pipe.transformer` or `pipe.unet`),
    timed by forward hooks that drain the CUDA queue at both ends; the median, and the
    first call on its own (it pays compilation and first transfers);
  - run s: `backend.run(job)`, the whole job: encoders, denoising, VAE, writing the file;
  - resident / peak GiB: `torch.cuda.memory_allocated()` after load and
    `torch.cuda.max_memory_allocated()` over load and run; null on a CPU.
Each job runs in a fresh process, forked from a server that has only imported the
libraries, and the process ends with the job: that releases the backend and all it
loaded, and no lever set inherits what another left (compiled graphs, cached allocator
blocks, the attention backend, libraries warmed up by an earlier row), so rows compare.
A stage whose upstream stage is not run gets a drawn stand-in input (a still, or a clip
of the right length); a boundary is made between a clip and itself. Pixel values change
neither compute nor memory.

Lever sets. `default` (guidance 5.0), `ltx2` (the same with the clip on `clip.ltx2`: with
its default sound guidance, STG and modality guidance it calls its transformer three times
per step), and each scenegen/presets/*.toml: a preset's
[backends.<stage>] settings, with the bench's models, sizes and step count over them (a
LoRA a preset names becomes the stand-in, at the preset's scale). Every set runs
`--steps` steps, so seconds per job compare like for like; with guidance above 1, Wan
calls its transformer twice per step and SDXL its UNet once with a batch of two. Settings
a backend refuses are reported with the backend's one-line reason; running out of GPU
memory is a result too, and so reported.

`--story N` then renders an N-shot "a woman's life" per lever set, every generative stage
on these models: `scenegen.cli.app` called in a fresh process, the same command-line code
as `python -m scenegen story --config ...` (the config is written beside the run), there
so that `torch.cuda.max_memory_allocated` sees the story's pipelines. Its wall time leaves
out starting an interpreter and importing torch; the weights are hashed into the digest
cache first (as a user's first render does, once), timed apart.

No GPU? `--simulate` runs the same rows and stories on any CPU with the GPU's memory
simulated (bench/memsim.py says how): the models are built weightless (safetensors
headers over holes: the real sizes, no disk) in --work/public-weightless; each row
reports the simulated device memory resident after load and at the peak, the model
running at the peak, and the host memory the process owns at its peak; seconds are not
measured. Simulated rows are independent, so `--jobs N` simulates N at once (one per CPU core), and a
lever set with the same settings for a stage as an earlier one (the presets differ in steps, which the bench
sets, and in compiling, which a simulation does not do) takes that row's figures (`same_as` in --json). `--docs FILE` puts its table into a Markdown file, `--table FILE` writes the
presets' figures that `scenegen check` reads (scenegen/presets/memory.json); both are
written again after every result, as --json is.

Every figure printed is measured (or, with --simulate, simulated) in the run that prints it. `--tiny` runs the same code
at the sizes tests/support/tiny_models.py uses, on the CPU, in seconds: tests/test_gpu_realscale.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
import tomllib
import traceback
from collections import Counter
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import diffusers
import numpy as np
import torch
import transformers
from diffusers import (
    AutoencoderKL, AutoencoderKLLTX2Audio, AutoencoderKLLTX2Video, AutoencoderKLWan, EulerDiscreteScheduler,
    FlowMatchEulerDiscreteScheduler, LTX2VideoTransformer3DModel, UNet2DConditionModel, UniPCMultistepScheduler,
    WanTransformer3DModel, WanVACETransformer3DModel,
)
from diffusers.models.embeddings import ImageProjection
from diffusers.pipelines.ltx2 import LTX2TextConnectors
from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder
from PIL import Image
import safetensors.torch
from transformers import (
    CLIPImageProcessor, CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer, CLIPVisionConfig,
    CLIPVisionModel, CLIPVisionModelWithProjection, Gemma3Config, Gemma3ForConditionalGeneration, Gemma3TextConfig,
    GemmaTokenizer, SiglipVisionConfig, T5Tokenizer, UMT5Config, UMT5EncoderModel,
)

import scenegen

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script or loaded by path, memsim is beside it
import memsim  # noqa: E402
from scenegen.errors import UserError
from scenegen.media import EncoderSettings, rgb_to_yuv
from scenegen.modules.boundary.diffusers import DiffusersBoundary
from scenegen.modules.clip.diffusers import DiffusersClip
from scenegen.modules.clip.ltx2 import LTX2Clip
from scenegen.modules.keyframe.diffusers import DiffusersKeyframe
from scenegen.modules.portrait.diffusers import DiffusersPortrait
from scenegen.modules.retake.diffusers import DiffusersRetake
from scenegen.modules.set.diffusers import BEARINGS, VIEW_ASPECT, DiffusersSet
from scenegen.orchestrator.backend import Job
from scenegen.orchestrator.digests import files_digest
from scenegen.schemas import OutputFormat

try:
    from transformers.initialization import no_init_weights  # transformers 5
except ImportError:
    from transformers.modeling_utils import no_init_weights  # transformers 4

GiB = 2**30


# --- Sizes --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scale:
    """Everything that differs between a real-scale run and a tiny one; the code is the same."""

    name: str
    width: int
    height: int
    frames: int          # of a clip
    fps: int
    portrait: int        # portrait width and height
    set_view: int        # height of each of a set's views (VIEW_ASPECT times as wide)
    overlap: int         # frames of a boundary between two shots
    dtype: str           # the backends' compute dtype, unless a lever set names one
    lora_rank: int       # of the stand-in step-distillation LoRA
    wan: dict            # WanTransformer3DModel settings the I2V and VACE transformers share
    vace_layers: tuple   # the WanVACE blocks that take control hints
    umt5: dict           # UMT5Config: Wan's text encoder
    wan_vae: dict        # AutoencoderKLWan
    clip_vit_h: dict     # CLIPVisionConfig: the ViT-H of Wan I2V's image encoder and of the IP-Adapter's
    sdxl_unet: dict      # UNet2DConditionModel
    sdxl_vae: dict       # AutoencoderKL
    clip_text_l: dict    # CLIPTextConfig: SDXL's first text encoder (CLIP ViT-L)
    clip_text_g: dict    # SDXL's second, with a projection (OpenCLIP bigG)
    ltx2: dict           # LTX2VideoTransformer3DModel: LTX-2's joint audio-video transformer
    ltx2_vae: dict       # AutoencoderKLLTX2Video
    ltx2_audio_vae: dict  # AutoencoderKLLTX2Audio
    ltx2_vocoder: dict   # LTX2Vocoder
    ltx2_connectors: dict  # LTX2TextConnectors: the text encoder's layers to the transformer's two streams
    gemma3: dict         # Gemma3Config: LTX-2's text encoder (Gemma-3 12B), its text_config and the image tower
                         # (vision_config) its class carries


PUBLIC = Scale(
    name="public", width=832, height=480, frames=81, fps=16, portrait=1024, set_view=704, overlap=16, dtype="bfloat16",
    lora_rank=128,
    wan=dict(patch_size=(1, 2, 2), num_attention_heads=40, attention_head_dim=128, text_dim=4096, freq_dim=256,
             ffn_dim=13824, num_layers=40, cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6,
             rope_max_seq_len=1024),
    vace_layers=tuple(range(0, 40, 5)),
    umt5=dict(vocab_size=256384, d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64,
              feed_forward_proj="gated-gelu", relative_attention_num_buckets=32, relative_attention_max_distance=128),
    wan_vae={},  # the published Wan 2.1 VAE is AutoencoderKLWan's default
    clip_vit_h=dict(hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=16,
                    patch_size=14, image_size=224, projection_dim=1024, hidden_act="gelu"),
    sdxl_unet=dict(sample_size=128, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280),
                   down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
                   up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
                   transformer_layers_per_block=(1, 2, 10), attention_head_dim=(5, 10, 20), cross_attention_dim=2048,
                   use_linear_projection=True, addition_embed_type="text_time", addition_time_embed_dim=256,
                   projection_class_embeddings_input_dim=2816),
    sdxl_vae=dict(block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
                  up_block_types=("UpDecoderBlock2D",) * 4, latent_channels=4, layers_per_block=2, sample_size=1024,
                  scaling_factor=0.13025),
    clip_text_l=dict(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                     num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu", projection_dim=768),
    clip_text_g=dict(vocab_size=49408, hidden_size=1280, intermediate_size=5120, num_hidden_layers=32,
                     num_attention_heads=20, max_position_embeddings=77, hidden_act="gelu", projection_dim=1280),
    # LTX-2 (Lightricks/LTX-2, diffusers format): the transformer, the video and audio VAEs, the vocoder and the
    # connectors are their diffusers classes' defaults, which are the "2.0" configs of diffusers'
    # scripts/convert_ltx2_to_diffusers.py (48 layers of 32 x 128 video and 32 x 64 audio heads; 128 latent channels;
    # the 24 kHz vocoder; connectors of 2 layers of 30 x 128 heads with 128 registers reading Gemma's 48 + 1 layers).
    ltx2={}, ltx2_audio_vae={}, ltx2_vocoder={}, ltx2_connectors={},
    # The video VAE's compression that script states: the VAE's formula would make 64x of this layout, and the
    # pipeline would size the latents by it.
    ltx2_vae=dict(spatial_compression_ratio=32, temporal_compression_ratio=8),
    # google/gemma-3-12b-it's config.json, the text encoder that script names (its QAT-unquantized twin is the same
    # architecture): a 48-layer text model and a SigLIP-so400m image tower.
    gemma3=dict(text_config=dict(vocab_size=262208, hidden_size=3840, intermediate_size=15360, num_hidden_layers=48,
                                 num_attention_heads=16, num_key_value_heads=8, head_dim=256, sliding_window=1024,
                                 query_pre_attn_scalar=256, rope_scaling={"rope_type": "linear", "factor": 8.0}),
                vision_config=dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27, num_attention_heads=16,
                                   image_size=896, patch_size=14, vision_use_head=False),
                mm_tokens_per_image=256),
)

TINY_TEXT = dict(vocab_size=64, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                 max_position_embeddings=77, hidden_act="quick_gelu", projection_dim=32)
TINY = Scale(
    # float32 as tests/tiny.toml has it: a CPU without bf16 convolution kernels takes seconds per tiny UNet call.
    name="tiny", width=96, height=64, frames=9, fps=8, portrait=64, set_view=32, overlap=4, dtype="float32", lora_rank=4,
    wan=dict(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, text_dim=32, freq_dim=256, ffn_dim=32,
             num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=32),
    vace_layers=(0,),
    umt5=dict(vocab_size=64, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4, feed_forward_proj="gated-gelu",
              relative_attention_num_buckets=8, relative_attention_max_distance=128),
    wan_vae=dict(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True]),
    clip_vit_h=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2, patch_size=8,
                    image_size=32, projection_dim=16, hidden_act="gelu"),
    sdxl_unet=dict(sample_size=16, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(32, 64),
                   down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
                   transformer_layers_per_block=(1, 2), attention_head_dim=(2, 4), cross_attention_dim=64,
                   use_linear_projection=True, addition_embed_type="text_time", addition_time_embed_dim=8,
                   projection_class_embeddings_input_dim=80, norm_num_groups=8),  # 80 = 6 * 8 + 32, as 2816 = 6 * 256 + 1280
    sdxl_vae=dict(block_out_channels=(16, 32), down_block_types=("DownEncoderBlock2D",) * 2,
                  up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4, sample_size=64, scaling_factor=0.13025,
                  norm_num_groups=8),
    clip_text_l=TINY_TEXT,
    clip_text_g=TINY_TEXT,
    # tests/support/tiny_models.py's ltx2(): an audio VAE and vocoder that make 1600 samples a second.
    ltx2=dict(in_channels=8, out_channels=8, num_attention_heads=2, attention_head_dim=8, cross_attention_dim=16,
              audio_in_channels=4, audio_out_channels=4, audio_num_attention_heads=2, audio_attention_head_dim=4,
              audio_cross_attention_dim=8, num_layers=2, caption_channels=16, rope_double_precision=False,
              rope_type="split"),
    ltx2_vae=dict(latent_channels=8, block_out_channels=(8, 8, 16, 16), decoder_block_out_channels=(8, 16, 32),
                  layers_per_block=(1, 1, 1, 1, 1), decoder_layers_per_block=(1, 1, 1, 1), spatial_compression_ratio=32,
                  temporal_compression_ratio=8),
    ltx2_audio_vae=dict(base_channels=4, ch_mult=(1, 2, 2), num_res_blocks=1, resolution=32, latent_channels=2,
                        sample_rate=1600, mel_hop_length=16, mel_bins=8),
    ltx2_vocoder=dict(in_channels=2 * 8, hidden_channels=16, upsample_kernel_sizes=[8, 8], upsample_factors=[4, 4],
                      resnet_kernel_sizes=[3], resnet_dilations=[[1, 3, 5]], output_sampling_rate=1600),
    ltx2_connectors=dict(caption_channels=16, text_proj_in_factor=3, video_connector_num_attention_heads=2,
                         video_connector_attention_head_dim=8, video_connector_num_layers=1,
                         video_connector_num_learnable_registers=None, audio_connector_num_attention_heads=2,
                         audio_connector_attention_head_dim=8, audio_connector_num_layers=1,
                         audio_connector_num_learnable_registers=None, connector_rope_base_seq_len=32,
                         rope_double_precision=False, rope_type="split"),
    gemma3=dict(text_config=dict(vocab_size=96, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                 num_attention_heads=2, num_key_value_heads=1, head_dim=8, sliding_window=64),
                vision_config=dict(hidden_size=8, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2,
                                   image_size=8, patch_size=4),
                # the image tokens past the tiny vocabulary, as tests/support/tiny_models.py has them
                mm_tokens_per_image=4, boi_token_index=96, eoi_token_index=97, image_token_index=98),
)


# --- Components: one builder each, parametrised by the scale --------------------------------------------------------
# Token ids the bench's tokenizers give their special tokens, which the text encoders' configs must name.
CLIP_BOS, CLIP_EOS, CLIP_PAD = 0, 1, 2
GEMMA_PAD, GEMMA_EOS, GEMMA_BOS = 0, 1, 2   # Gemma's own
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def wan_i2v_transformer(scale: Scale):
    # As published: the image tokens come at the image encoder's width and get their own key/value projections.
    inner = scale.wan["num_attention_heads"] * scale.wan["attention_head_dim"]
    return WanTransformer3DModel(**scale.wan, in_channels=36, out_channels=16,
                                 image_dim=scale.clip_vit_h["hidden_size"], added_kv_proj_dim=inner)


def wan_vace_transformer(scale: Scale):
    return WanVACETransformer3DModel(**scale.wan, in_channels=16, out_channels=16, vace_layers=list(scale.vace_layers),
                                     vace_in_channels=96)


def umt5_encoder(scale: Scale):
    return UMT5EncoderModel(UMT5Config(**scale.umt5))


def umt5_tokenizer(scale: Scale):
    """A T5 tokenizer over letters and made-up words, exactly as many pieces as the encoder has embeddings."""
    words = ["<pad>", "</s>", "<unk>", *LETTERS, ".", ","]  # pad 0, eos 1: UMT5Config's defaults
    words += [f"w{i}" for i in range(scale.umt5["vocab_size"] - len(words))]
    return T5Tokenizer(vocab=[(word, -float(i)) for i, word in enumerate(words)], extra_ids=0)


def wan_vae(scale: Scale):
    return AutoencoderKLWan(**scale.wan_vae)


def wan_scheduler(scale: Scale):
    # What diffusers' Wan 2.1 conversion script gives the published pipelines (shift 3.0 for 480p).
    return UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, num_train_timesteps=1000,
                                   flow_shift=3.0)


def clip_vit_h(scale: Scale):
    """The IP-Adapter's image encoder, with its projection (h94/IP-Adapter's models/image_encoder)."""
    return CLIPVisionModelWithProjection(CLIPVisionConfig(**scale.clip_vit_h))


def wan_image_encoder(scale: Scale):
    """Wan I2V's image encoder: the same ViT-H without the projection, the class its pipeline and the published
    folder name (it reads the penultimate hidden states)."""
    return CLIPVisionModel(CLIPVisionConfig(**scale.clip_vit_h))


def clip_image_processor(scale: Scale):
    size = scale.clip_vit_h["image_size"]
    return CLIPImageProcessor(size=size, crop_size=size)


def sdxl_unet(scale: Scale):
    return UNet2DConditionModel(**scale.sdxl_unet)


def sdxl_vae(scale: Scale):
    return AutoencoderKL(in_channels=3, out_channels=3, **scale.sdxl_vae)


def clip_text_l(scale: Scale):
    return CLIPTextModel(CLIPTextConfig(**scale.clip_text_l, bos_token_id=CLIP_BOS, eos_token_id=CLIP_EOS,
                                        pad_token_id=CLIP_PAD))


def clip_text_g(scale: Scale):
    return CLIPTextModelWithProjection(CLIPTextConfig(**scale.clip_text_g, bos_token_id=CLIP_BOS, eos_token_id=CLIP_EOS,
                                                      pad_token_id=CLIP_PAD))


def clip_tokenizer(scale: Scale):
    """A CLIP tokenizer over single letters and made-up words, as many entries as both text encoders embed."""
    assert scale.clip_text_l["vocab_size"] == scale.clip_text_g["vocab_size"], "SDXL's text encoders share a tokenizer"
    vocab = {"<|startoftext|>": CLIP_BOS, "<|endoftext|>": CLIP_EOS, "!": CLIP_PAD}
    for letter in LETTERS:
        vocab[letter], vocab[letter + "</w>"] = len(vocab), len(vocab) + 1
    while len(vocab) < scale.clip_text_l["vocab_size"]:
        vocab[f"x{len(vocab)}</w>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], pad_token="!", model_max_length=77)


def sdxl_scheduler(scale: Scale):
    # SDXL base's published scheduler.
    return EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                  timestep_spacing="leading", steps_offset=1)


def ltx2_transformer(scale: Scale):
    return LTX2VideoTransformer3DModel(**scale.ltx2)


def ltx2_vae(scale: Scale):
    return AutoencoderKLLTX2Video(**scale.ltx2_vae)


def ltx2_audio_vae(scale: Scale):
    return AutoencoderKLLTX2Audio(**scale.ltx2_audio_vae)


def ltx2_vocoder(scale: Scale):
    return LTX2Vocoder(**scale.ltx2_vocoder)


def ltx2_connectors(scale: Scale):
    return LTX2TextConnectors(**scale.ltx2_connectors)


def ltx2_scheduler(scale: Scale):
    # Its shift schedule changes the sigmas only, neither compute nor memory.
    return FlowMatchEulerDiscreteScheduler()


def gemma3_encoder(scale: Scale):
    config = scale.gemma3
    text = Gemma3TextConfig(**config["text_config"], pad_token_id=GEMMA_PAD, eos_token_id=GEMMA_EOS,
                            bos_token_id=GEMMA_BOS)
    return Gemma3ForConditionalGeneration(Gemma3Config(**config | {"text_config": text,
                                                                   "vision_config": SiglipVisionConfig(**config["vision_config"])}))


def gemma3_tokenizer(scale: Scale):
    """A Gemma tokenizer over single characters and made-up words, as many entries as the encoder embeds; with no
    merges to learn, its 262k words are made in seconds."""
    words = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "▁", *LETTERS, *LETTERS.upper(), *"0123456789.,:;-'\"()!?>"]
    words += [f"w{i}" for i in range(scale.gemma3["text_config"]["vocab_size"] - len(words))]
    return GemmaTokenizer(vocab={word: i for i, word in enumerate(words)}, merges=[])


# Each pipeline folder: its diffusers class and, per component, the builder that makes it. A builder
# named twice (by two pipelines, or twice in one) is built once and saved once.
PIPELINES = {
    "sdxl": ("StableDiffusionXLPipeline", {
        "unet": sdxl_unet, "vae": sdxl_vae, "text_encoder": clip_text_l, "text_encoder_2": clip_text_g,
        "tokenizer": clip_tokenizer, "tokenizer_2": clip_tokenizer, "scheduler": sdxl_scheduler,
    }),
    "wan-i2v": ("WanImageToVideoPipeline", {
        "transformer": wan_i2v_transformer, "text_encoder": umt5_encoder, "tokenizer": umt5_tokenizer, "vae": wan_vae,
        "scheduler": wan_scheduler, "image_encoder": wan_image_encoder, "image_processor": clip_image_processor,
    }),
    "wan-vace": ("WanVACEPipeline", {
        "transformer": wan_vace_transformer, "text_encoder": umt5_encoder, "tokenizer": umt5_tokenizer, "vae": wan_vae,
        "scheduler": wan_scheduler,
    }),
    "ltx2": ("LTX2ImageToVideoPipeline", {
        "transformer": ltx2_transformer, "text_encoder": gemma3_encoder, "tokenizer": gemma3_tokenizer,
        "connectors": ltx2_connectors, "vae": ltx2_vae, "audio_vae": ltx2_audio_vae, "vocoder": ltx2_vocoder,
        "scheduler": ltx2_scheduler,
    }),
}
# The IP-Adapter folder, in h94/IP-Adapter's layout (the presets name its files): SDXL weights for the ViT-H image
# encoder in sdxl_models/, the encoder in models/image_encoder/.
IP_ADAPTER = "sdxl-ip-adapter"
IP_ADAPTER_LAYOUT = {"ip_adapter_kind": "image", "ip_adapter_subfolder": "sdxl_models",
                     "ip_adapter_weight": "ip-adapter_sdxl_vit-h.safetensors", "image_encoder_folder": "models/image_encoder"}
IP_ADAPTER_PARTS = {"image_encoder": clip_vit_h, "unet": sdxl_unet}  # the UNet for its layers' shapes only
IP_TOKENS = 4
# A stand-in for the step-distilled LoRA a preset names (LightX2V's, rank 128, of which a GPU machine without a
# network has no copy): that rank on the linear layers of every block, saved as diffusers saves a LoRA. Loading and
# fusing it is the cost measured; once fused, a forward costs the same whatever the LoRA held.
LORA = "wan-i2v-lora"
LORA_WEIGHT = "pytorch_lora_weights.safetensors"
LORA_PARTS = {"transformer": wan_i2v_transformer}
LORA_TARGETS = ["attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0", "attn2.to_q", "attn2.to_k", "attn2.to_v",
                "attn2.to_out.0", "attn2.add_k_proj", "attn2.add_v_proj", "ffn.net.0.proj", "ffn.net.2"]


# --- Building -------------------------------------------------------------------------------------------------------

@contextmanager
def cheap_construction():
    """Parameters made in bf16 and left unset: initialising 17B of them on a CPU takes minutes, and
    `fill_random` overwrites every one anyway."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with no_init_weights():
            yield
    finally:
        torch.set_default_dtype(previous)


def fill_random(named_tensors) -> None:
    """Values with a fresh initialisation's statistics, at copying speed: the 1-D weights (the gains of norm
    layers) 1, other 1-D tensors (biases) small, every matrix or kernel normal with variance 1 / fan-in.

    The random values are one block, repeated; its length is prime, so the rows of a matrix differ. (Small
    values everywhere would shrink activations layer by layer into subnormal floats, slow on a CPU.)"""
    block = torch.randn(1_000_003, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for name, tensor in named_tensors:
            if tensor.dim() == 1 and name.endswith("weight"):
                tensor.fill_(1.0)
                continue
            std = 0.02 if tensor.dim() == 1 else (tensor[0].numel() or 1) ** -0.5
            source = (block * std).to(tensor.dtype)
            flat = tensor.view(-1)
            rows, rest = divmod(flat.numel(), source.numel())
            flat[: rows * source.numel()].view(rows, source.numel()).copy_(source.expand(rows, -1))
            flat[rows * source.numel():].copy_(source[:rest])


def construct(builder, scale: Scale, weightless: bool):
    """The component `builder` makes at `scale`: a model gets random bf16 weights (none at all on the meta
    device when `weightless`), anything else is as built."""
    if weightless and builder in (wan_scheduler, sdxl_scheduler, ltx2_scheduler):  # a scheduler's few tensors are made as they are
        return builder(scale)
    with construction(weightless):
        component = builder(scale)
    if isinstance(component, torch.nn.Module) and not weightless:
        fill_random(component.named_parameters())
    return component


def construction(weightless: bool):
    if weightless:
        return memsim.meta_construction()
    return cheap_construction()


def link_files(source: Path, target: Path) -> None:
    """`target` mirrors `source` with a relative link per file (the loaders and the weight hashing follow file
    links; Python 3.11's rglob does not descend into linked folders)."""
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        link = target / path.relative_to(source)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(path, link.parent))


def build_models(root: Path, scale: Scale, names: list[str], weightless: bool = False) -> dict[str, Path]:
    """Each model folder named, built into `root` unless it is there already; their paths.

    `weightless` models (for the memory simulation) are built on the meta device and saved as safetensors
    headers over a hole: the files have their real sizes and take no disk."""
    if weightless:
        with memsim.patched(memsim.header_only_saving()):
            return _build_models(root, scale, names, True)
    return _build_models(root, scale, names, False)


def _build_models(root: Path, scale: Scale, names: list[str], weightless: bool) -> dict[str, Path]:
    sizes = json.loads(json.dumps(dataclasses.asdict(scale)))
    record = root / "sizes.json"
    if record.exists() and json.loads(record.read_text()) != sizes:
        sys.exit(f"{root} holds models built at other sizes than this bench's {scale.name!r} table; remove it or "
                 "choose another --work")
    root.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(sizes, indent=2))

    missing = [name for name in dict.fromkeys(names) if not (root / name).is_dir()]
    parts = {name: {IP_ADAPTER: IP_ADAPTER_PARTS, LORA: LORA_PARTS}.get(name) or PIPELINES[name][1] for name in missing}
    # A component stays in memory only while a folder still to build names it: the 14B transformers do not fit twice.
    uses = Counter(builder for name in missing for builder in parts[name].values())
    built: dict = {}

    def component(builder):
        if builder not in built:
            built[builder] = construct(builder, scale, weightless)
        return built[builder]

    def saved(builder) -> Path:
        folder = root / "components" / builder.__name__
        if not folder.is_dir():
            partial = folder.with_suffix(".partial")
            shutil.rmtree(partial, ignore_errors=True)
            component(builder).save_pretrained(partial)
            partial.rename(folder)
        return folder

    for name in missing:
        partial = root / f"{name}.partial"  # renamed when complete, so an interrupted build is never taken for a model
        shutil.rmtree(partial, ignore_errors=True)
        if name == IP_ADAPTER:
            link_files(saved(clip_vit_h), partial / IP_ADAPTER_LAYOUT["image_encoder_folder"])
            weights = partial / IP_ADAPTER_LAYOUT["ip_adapter_subfolder"] / IP_ADAPTER_LAYOUT["ip_adapter_weight"]
            save_ip_adapter_weights(weights, component(sdxl_unet), scale, weightless)
        elif name == LORA:
            save_lora(partial, component(wan_i2v_transformer), scale, weightless)
        else:
            pipeline, components = PIPELINES[name]
            for attr, builder in components.items():
                link_files(saved(builder), partial / attr)
            getattr(diffusers, pipeline)(**{attr: component(b) for attr, b in components.items()}).save_config(partial)
        partial.rename(root / name)
        uses.subtract(parts[name].values())
        for builder in [b for b in built if uses[b] <= 0]:
            del built[builder]
    return {name: root / name for name in names}


def save_ip_adapter_weights(path: Path, unet, scale: Scale, weightless: bool) -> None:
    """The adapter's image projection and, for every cross-attention layer in checkpoint numbering (1, 3, 5, ...),
    the key and value of its image branch, shaped like that layer's text key."""
    with construction(weightless):
        projection = ImageProjection(cross_attention_dim=unet.config.cross_attention_dim,
                                     image_embed_dim=scale.clip_vit_h["projection_dim"],
                                     num_image_text_embeds=IP_TOKENS).state_dict()
    weights = {"image_proj.proj.weight": projection["image_embeds.weight"],
               "image_proj.proj.bias": projection["image_embeds.bias"],
               "image_proj.norm.weight": projection["norm.weight"], "image_proj.norm.bias": projection["norm.bias"]}
    path.parent.mkdir(parents=True, exist_ok=True)
    cross_attention = [name.removesuffix(".processor") for name in unet.attn_processors if name.endswith("attn2.processor")]
    for number, layer in zip(range(1, 2 * len(cross_attention), 2), cross_attention):
        shape = unet.get_submodule(layer).to_k.weight.shape
        for branch in ("to_k_ip", "to_v_ip"):
            weights[f"ip_adapter.{number}.{branch}.weight"] = torch.empty(shape, dtype=torch.bfloat16,
                                                                          device=unet.device)
    if not weightless:
        fill_random(weights.items())
    safetensors.torch.save_file({key: value.contiguous() for key, value in weights.items()}, str(path))


def save_lora(folder: Path, transformer, scale: Scale, weightless: bool) -> None:
    """A LoRA of the scale's rank on `transformer`'s block layers (the transformer keeps the adapter: it is done)."""
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    with construction(weightless):
        transformer.add_adapter(LoraConfig(r=scale.lora_rank, lora_alpha=scale.lora_rank, target_modules=LORA_TARGETS,
                                           init_lora_weights=False))
    layers = get_peft_model_state_dict(transformer)
    if not weightless:
        fill_random(layers.items())
    diffusers.WanImageToVideoPipeline.save_lora_weights(folder, transformer_lora_layers=layers, weight_name=LORA_WEIGHT)


def component_classes(folder: Path) -> dict[str, str]:
    """The class of each model a built folder holds, as its loader will see it: a pipeline's components, or the
    models beside an adapter's weights (the IP-Adapter's image encoder; a LoRA has none)."""
    index = folder / "model_index.json"
    if index.exists():
        return {attr: entry[1] for attr, entry in json.loads(index.read_text()).items()
                if isinstance(entry, list) and entry[0] is not None}
    return {str(config.parent.relative_to(folder)): json.loads(config.read_text())["architectures"][0]
            for config in sorted(folder.rglob("config.json"))}


# --- Stages, jobs and lever sets ------------------------------------------------------------------------------------

# Each (stage, backend name) a lever set can choose: its backend class and the model folders it runs on.
BACKENDS = {("portrait", "diffusers"): DiffusersPortrait, ("set", "diffusers"): DiffusersSet,
            ("keyframe", "diffusers"): DiffusersKeyframe, ("clip", "diffusers"): DiffusersClip,
            ("clip", "ltx2"): LTX2Clip, ("retake", "diffusers"): DiffusersRetake,
            ("boundary", "diffusers"): DiffusersBoundary}
BACKEND_MODELS = {("portrait", "diffusers"): ["sdxl"], ("set", "diffusers"): ["sdxl"],
                  ("keyframe", "diffusers"): ["sdxl", IP_ADAPTER], ("clip", "diffusers"): ["wan-i2v", LORA],
                  ("clip", "ltx2"): ["ltx2"], ("retake", "diffusers"): ["wan-vace"],
                  ("boundary", "diffusers"): ["wan-vace"]}
STAGES = tuple(dict.fromkeys(stage for stage, _ in BACKENDS))
PRESETS = Path(scenegen.__file__).parent / "presets"
DEFAULT_LEVERS = {"backends": {stage: {"name": "diffusers", "settings": {"guidance": 5.0}} for stage in STAGES}}
# The bench's own lever sets, beside the presets: `ltx2` is the default's with the shot's picture and sound made
# together by LTX-2 (clip.ltx2).
BENCH_LEVERS = {"default": DEFAULT_LEVERS, "ltx2": {"backends": DEFAULT_LEVERS["backends"] | {
    "clip": {"name": "ltx2", "settings": {"guidance": 5.0}}}}}
CAST = {"mara": ("Mara", "long auburn hair, a green wool coat"), "ivo": ("Ivo", "short grey hair, a navy fisherman's jumper")}
PIER = {"id": "pier", "name": "the pier", "description": "a windswept wooden pier over a grey sea, a lamplit harbour behind",
        "season": "autumn", "layout": [{"what": "the open sea", "bearing": 0}, {"what": "the harbour lamps", "bearing": 180}]}
# The keyframe's camera in the set, as a shot in a location gives it (keyframe/__init__.py).
CAMERA = {"shot_size": "medium", "angle": "eye_level", "fov_deg": 50.0, "bearing": 30.0}
STYLE = "cinematic film still, 35mm, natural colour"
PROMPT = (f"{STYLE}. Mara and Ivo stand side by side on a windswept pier at dusk, waves breaking below; medium shot, "
          "eye level, the camera slowly pushes in; warm low sun from the left, cool fill")
SEAM = f"{STYLE}. A windswept pier at dusk gives way to a lamplit harbour street"
# The same shot as the keyframe backend gets it: its domains in phrases, fitted to CLIP's window there.
DOMAINS = {"subject": ["a woman with long auburn hair and a man with short grey hair", "stand side by side"],
           "place": ["a windswept pier at dusk", "waves breaking below"], "light": ["warm low sun from the left", "cool fill"],
           "camera": ["medium shot", "eye level angle", "dolly in"], "relation": ["side by side"],
           "style": ["cinematic film still", "35mm", "natural colour"]}


# Settings a simulation cannot tell apart: torch.compile does not run under fake tensors, so a compiled row's memory
# is its eager memory (bench/memsim.py), and a lever set differing only in these takes the other's figures.
SIMULATION_NEUTRAL = ("compile_blocks",)


def lever_sets(names: list[str] | None) -> dict[str, dict]:
    """The lever sets asked for (all by default), each shaped like a --config file."""
    found = dict(BENCH_LEVERS)
    if PRESETS.is_dir():
        found |= {path.stem: tomllib.loads(path.read_text()) for path in sorted(PRESETS.glob("*.toml"))}
    unknown = sorted(set(names or []) - set(found))
    if unknown:
        sys.exit(f"--levers: no lever set {', '.join(unknown)}; there are {', '.join(found)}")
    return {name: found[name] for name in names or found}


def backend_name(levers: dict, stage: str) -> str:
    return levers.get("backends", {}).get(stage, {}).get("name", "diffusers")


def stage_settings(levers: dict, stage: str, models: dict[str, Path], scale: Scale, steps: int) -> dict | str:
    """The lever set's settings for `stage`, or why it has none to run.

    Under them, the scale's dtype and the built IP-Adapter's layout (the presets name the same files); over them
    what the bench decides: its models, its sizes, its step count, and the stand-in LoRA for any LoRA named."""
    choice = levers.get("backends", {}).get(stage)
    if choice is None:
        return f"no [backends.{stage}] table"
    name = backend_name(levers, stage)
    if (stage, name) not in BACKENDS:
        return f"puts {stage} on the {name!r} backend, which the bench builds no models for"
    layout = IP_ADAPTER_LAYOUT if stage == "keyframe" else {}
    settings = {"dtype": scale.dtype, **layout, **choice.get("settings", {})}
    settings |= {"model": str(models[BACKEND_MODELS[stage, name][0]]), "steps": steps}
    if stage == "portrait":
        settings["size"] = scale.portrait
    if stage == "set":
        settings["view_height"] = scale.set_view
    if stage == "keyframe":
        settings["ip_adapter"] = str(models[IP_ADAPTER])
    if stage == "clip" and settings.get("loras"):
        settings["loras"] = [{"path": str(models[LORA]), "weight_name": LORA_WEIGHT, "scale": lora.get("scale", 1.0)}
                             for lora in settings["loras"]]
    return settings


def make_job(backend: tuple[str, str], scale: Scale, frames: int, made: dict[str, Path], folder: Path) -> Job:
    """The stage's one job, its inputs the outputs of earlier stages in this run, or drawn stand-ins."""
    stage = backend[0]
    size = {"width": scale.width, "height": scale.height}
    if stage == "portrait":
        name, appearance = CAST["mara"]
        params = {"style": STYLE, "plan_seed": 0, "character": {"id": "mara", "name": name, "appearance": appearance}}
        inputs = {}
    elif stage == "set":
        params = {"style": STYLE, "plan_seed": 0, "location": PIER}
        inputs = {}
    elif stage == "keyframe":
        portrait = made.get("portrait") or still(folder / "stand-in-portrait.png", scale.portrait, scale.portrait)
        plate = made.get("set") or still(folder / "stand-in-set.png", len(BEARINGS) * VIEW_ASPECT * scale.set_view,
                                           scale.set_view)
        params = {"characters": list(CAST), "relation": "side by side", "domains": DOMAINS, "camera": CAMERA, **size}
        inputs = {f"portrait:{who}": portrait for who in CAST} | {f"set:{PIER['id']}": plate}
    elif stage == "clip":
        params = {"prompt": PROMPT, "frames": frames, "fps": scale.fps, **size}
        inputs = {"keyframe:s01": made.get("keyframe") or still(folder / "stand-in-keyframe.png", scale.width, scale.height)}
    elif stage == "retake":
        # The largest stretch, the whole clip: a retake's window grows with its stretch.
        clip = made.get("clip") or stand_in_clip(folder / "stand-in-clip.mp4", scale, frames)
        params = {"prompt": PROMPT, "start": 0, "stop": frames, "fps": scale.fps, **size}
        inputs = {"clip:s01": clip}
    else:
        clip = made.get("clip") or stand_in_clip(folder / "stand-in-clip.mp4", scale, frames)
        params = {"prompt": SEAM, "type": "smooth", "frames": scale.overlap, "fps": scale.fps, **size}
        inputs = {"clip:s01": clip, "clip:s02": clip}
    return Job(node=f"{stage}:bench", params=params, inputs=inputs, output=folder / f"{stage}{BACKENDS[backend].suffix}",
               root=folder, seed=0, keep=folder / "kept")


def gradient(width: int, height: int, phase: float = 0.0) -> Image.Image:
    x, y = np.meshgrid(np.linspace(0, 1, width), np.linspace(0, 1, height))
    rgb = np.stack([x, y, (x + y + phase) % 1], axis=-1)
    return Image.fromarray((rgb * 255).astype(np.uint8))


def still(path: Path, width: int, height: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    gradient(width, height).save(path)
    return path


def stand_in_clip(path: Path, scale: Scale, frames: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with EncoderSettings().writer(path, scale.fps, scale.width, scale.height) as video:
        for i in range(frames):
            video.write_yuv(rgb_to_yuv(gradient(scale.width, scale.height, i / frames)))
    return path


# --- Measuring ------------------------------------------------------------------------------------------------------

class ForwardClock:
    """Wall time of each call of a denoiser. On CUDA the queue is drained before and after, so a call's time is
    the time of its own kernels, not of whatever was queued before it."""

    def __init__(self, denoiser: torch.nn.Module):
        self.seconds: list[float] = []
        denoiser.register_forward_pre_hook(self._start)
        denoiser.register_forward_hook(self._stop)

    def _start(self, module, args) -> None:
        synchronize()
        self._began = time.perf_counter()

    def _stop(self, module, args, output) -> None:
        synchronize()
        self.seconds.append(time.perf_counter() - self._began)


def synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


class CudaMemory:
    """Device memory as torch.cuda counts it; None without CUDA, where memory is not measured (never made up).
    Host memory is not measured on a GPU run (`--simulate` gives it)."""

    def reset(self) -> None:
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()

    def resident(self) -> float | None:
        return torch.cuda.memory_allocated() / GiB if torch.cuda.is_available() else None

    def device_peak(self) -> float | None:
        return torch.cuda.max_memory_allocated() / GiB if torch.cuda.is_available() else None

    def host_peak(self) -> None:
        return None

    def peak_in(self) -> None:
        return None


def device_name() -> str:
    return torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"


def out_of_memory(error: BaseException) -> bool:
    """A CUDA out-of-memory error, or the backend's one-line error raised while handling one."""
    return any(isinstance(e, torch.cuda.OutOfMemoryError) for e in (error, error.__cause__, error.__context__))


def one_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


# Rows run in processes forked from a server that has imported the libraries and done nothing else: no CUDA,
# no thread pools, no compiled graphs. It saves each row the seconds of importing them again.
FRESH = multiprocessing.get_context("forkserver")
FRESH.set_forkserver_preload(["torch", "diffusers", "transformers", "scenegen.cli", *{c.__module__ for c in BACKENDS.values()}])


def apart(function, *args) -> dict:
    """`function(*args)` in a fresh process, which ends with it. No row inherits what an earlier one left
    (compiled graphs, cached allocator blocks, an attention backend, warmed-up libraries), each row's peak is
    its own, and the backend and everything it loaded are released when its process exits."""
    with ProcessPoolExecutor(max_workers=1, mp_context=FRESH) as pool:
        try:
            return pool.submit(function, *args).result()
        except BrokenProcessPool:
            return {"status": "failed", "reason": "its process died without a report (killed; the kernel does that when host memory runs out)"}


MEASURES = ("load_s", "forwards", "forward_s", "first_forward_s", "run_s", "resident_gib", "peak_gib", "host_peak_gib",
            "peak_in")


def measure_stage(backend: tuple[str, str], settings: dict, job: Job, output: OutputFormat, memory=None) -> dict:
    """One job through a stage's backend (`backend`: the stage and the backend's name), as a render runs it: load, forwards, run and memory
    (`memory` counts it: CUDA's counters, or a simulation's meter)."""
    memory = memory or CudaMemory()
    row: dict = {"device": device_name(), **dict.fromkeys(MEASURES)}
    memory.reset()
    clock = None
    try:
        backend = BACKENDS[backend](settings)
        backend.check(output)
        start = time.perf_counter()
        backend.load()
        pipe = backend.pipe   # the boundary stage loads its model here, at first use
        row["load_s"] = time.perf_counter() - start
        row["resident_gib"] = memory.resident()
        if isinstance(memory, memsim.Meter):
            memory.watch(pipe)   # the peak's phase: the model that runs
        clock = ForwardClock(pipe.transformer if getattr(pipe, "transformer", None) is not None else pipe.unet)
        start = time.perf_counter()
        backend.run(job)
        row["run_s"] = time.perf_counter() - start
        row["status"] = "ok"
    except UserError as e:  # settings the backend refuses, before or while loading
        row |= {"status": "refused", "reason": one_line(e)}
    except Exception as e:  # noqa: BLE001 - one failing lever set must not end a long GPU run; it is reported
        traceback.print_exc()
        row |= {"status": "out of memory" if out_of_memory(e) else "failed", "reason": one_line(e)}
    if clock is not None:
        row["forwards"] = len(clock.seconds)
        if clock.seconds:
            row["forward_s"], row["first_forward_s"] = statistics.median(clock.seconds), clock.seconds[0]
    row |= {"peak_gib": memory.device_peak(), "host_peak_gib": memory.host_peak(), "peak_in": memory.peak_in()}
    return row


def simulate_stage(backend: tuple[str, str], settings: dict, job: Job, output: OutputFormat, guard: Path) -> dict:
    """`measure_stage` on a CPU with the GPU's memory simulated (bench/memsim.py): its memory figures are the
    meter's; its seconds are the simulation's own, not a GPU's, and are left out."""
    with memsim.simulation(guard) as meter:
        row = measure_stage(backend, settings | {"device": "cuda"}, job, output, meter)
    return row | {"device": "simulated CUDA", "load_s": None, "forward_s": None, "first_forward_s": None, "run_s": None}


# --- The story, end to end ------------------------------------------------------------------------------------------

def toml_value(value) -> str:
    """A settings value as TOML (strings, numbers, booleans, lists and tables, as settings hold)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{ " + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items()) + " }"


def write_config(path: Path, tables: dict[str, dict]) -> None:
    lines = []
    for name, table in tables.items():
        lines += [f"[{name}]", *(f"{key} = {toml_value(value)}" for key, value in table.items()), ""]
    path.write_text("\n".join(lines))


def story_config(levers: dict, choices: dict[str, dict], scale: Scale, path: Path) -> None:
    """A --config file for the story: the bench's output format, the lever set's other tables, the stages' backends
    (`choices`: each stage's [backends.<stage>] table, its name and settings)."""
    tables = {"output": {"fps": scale.fps, "width": scale.width, "height": scale.height}}
    # A preset's other tables ([device]: what may stay loaded together) are part of what it sets.
    tables |= {key: value for key, value in levers.items() if key not in ("output", "backends")}
    tables |= {f"backends.{stage}": choice for stage, choice in choices.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_config(path, tables)


def render_story(shots: int, choices: dict[str, dict], config: Path, out: Path, memory=None) -> dict:
    """`scenegen story` with `config`, run by the CLI's own command in this process, so its peak memory is seen."""
    from scenegen.cli import app

    memory = memory or CudaMemory()
    result: dict = {"device": device_name(), "digest_s": None, "wall_s": None, "peak_gib": None, "host_peak_gib": None,
                    "peak_in": None, "film": None}
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    try:
        for stage, choice in choices.items():
            files_digest(BACKENDS[stage, choice["name"]](choice["settings"]).files())
    except UserError as e:
        return result | {"status": "refused", "reason": one_line(e)}
    result["digest_s"] = time.perf_counter() - start
    memory.reset()
    start = time.perf_counter()
    try:
        # The command's own messages join the progress on stderr; stdout carries the table.
        with redirect_stdout(sys.stderr):
            code = app(["story", "a woman's life", "--shots", str(shots), "--config", str(config), "--out", str(out)],
                       prog_name="scenegen", standalone_mode=False) or 0
        result["status"] = "ok" if code == 0 else f"exit {code}"
    except Exception as e:  # noqa: BLE001 - reported like a failing stage
        traceback.print_exc()
        result |= {"status": "out of memory" if out_of_memory(e) else "failed", "reason": one_line(e)}
    result["wall_s"] = time.perf_counter() - start
    result |= {"peak_gib": memory.device_peak(), "host_peak_gib": memory.host_peak(), "peak_in": memory.peak_in()}
    if (out / "film.mp4").exists():
        result["film"] = str(out / "film.mp4")
    return result


def simulate_story(shots: int, choices: dict[str, dict], config: Path, out: Path, guard: Path) -> dict:
    """`render_story` on a CPU with the GPU's memory simulated. The render loads and runs every pipeline on its
    executor's device lane, a thread of its own, so the simulation counts there; the rest of the command (the
    plan, the animatic's sound, the assembly) runs for real. Its wall time is the simulation's and is left out."""
    from scenegen.orchestrator.executor import InProcessExecutor

    meter = memsim.Meter()
    lane, run = InProcessExecutor._device_lane, InProcessExecutor._run

    def counted_lane(executor):
        with memsim.counting(meter):
            return lane(executor)

    def named_run(executor, spec, task):   # the peak's phase: the stage whose job runs (or loads)
        meter.phase = task.kind
        return run(executor, spec, task)

    with memsim.prepared(guard), memsim.patched([(InProcessExecutor, "_device_lane", counted_lane),
                                                 (InProcessExecutor, "_run", named_run)]):
        result = render_story(shots, choices, config, out, meter)
    return result | {"device": "simulated CUDA", "wall_s": None}


# --- Report ---------------------------------------------------------------------------------------------------------

def number(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(header: list[str], rows) -> list[str]:
    """A Markdown table's lines."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(row) + " |" for row in rows)]


def reasons(report: dict) -> list[str]:
    """Why a row or a story did not run, or failed, one line each."""
    return ([f"- {r['stage']} / {r['levers']}: {r['reason']}" for r in report["rows"] if r["reason"]]
            + [f"- {s['shots']}-shot story / {s['levers']}: {s['reason']}" for s in report["story"] if s["reason"]])


def stories(report: dict) -> dict[int, list[dict]]:
    """The stories by their number of shots."""
    return {shots: [s for s in report["story"] if s["shots"] == shots] for shots in
            dict.fromkeys(s["shots"] for s in report["story"])}


def markdown(report: dict) -> str:
    scale = report["scale"]
    lines = [
        f"# Real-scale benchmark: {scale} sizes, {report['width']}x{report['height']}, {report['frames']} frames at "
        f"{report['fps']} fps, {report['steps']} steps per job",
        "",
        f"device {report['device']}; torch {report['versions']['torch']}, diffusers {report['versions']['diffusers']}, "
        f"transformers {report['versions']['transformers']}; models ready in {number(report['build_s'], 1)} s "
        "(built, or found from an earlier run)",
        "",
    ]
    default = {r["stage"]: r["run_s"] for r in report["rows"] if r["levers"] == "default" and r["status"] == "ok"}

    def ratio(r: dict) -> str:
        return f"{r['run_s'] / default[r['stage']]:.2f}x" if r["status"] == "ok" and default.get(r["stage"]) else "-"

    lines += table(["stage", "levers", "status", "load s", "forwards", "s / forward", "first forward s", "run s",
                    "run vs default", "resident GiB", "peak GiB"],
                   ([r["stage"], r["levers"], r["status"], number(r["load_s"]),
                     "-" if r["forwards"] is None else str(r["forwards"]), number(r["forward_s"], 3),
                     number(r["first_forward_s"], 3), number(r["run_s"]), ratio(r), number(r["resident_gib"]),
                     number(r["peak_gib"])] for r in report["rows"]))
    for shots, told in stories(report).items():
        lines += ["", f"## {shots}-shot story, every generative stage on these models", ""]
        lines += table(["levers", "status", "hashing weights s", "wall s", "peak GiB", "film"],
                       ([s["levers"], s["status"], number(s["digest_s"], 1), number(s["wall_s"], 1),
                         number(s["peak_gib"]), s["film"] or "-"] for s in told))
    notes = reasons(report)
    return "\n".join(lines + ([""] + notes if notes else []))


def simulated_markdown(report: dict) -> str:
    """The simulated figures, per stage and per story, with what the simulation leaves out."""
    versions = ", ".join(f"{name} {v}" for name, v in report["versions"].items())
    lines = [
        f"Simulated on a CPU (`python bench/gpu_realscale.py --simulate`, bench/memsim.py): {report['scale']} sizes, "
        f"{report['width']}x{report['height']}, {report['frames']} frames at {report['fps']} fps, {report['steps']} "
        f"denoising step(s) per job (memory does not grow with steps); {versions}.",
        "",
    ]
    lines += table(["stage", "levers", "status", "resident GiB", "device peak GiB", "peak while", "host GiB"],
                   ([r["stage"], r["levers"], r["status"], number(r["resident_gib"]), number(r["peak_gib"]),
                     r["peak_in"] or "-", number(r["host_peak_gib"])] for r in report["rows"]))
    for shots, told in stories(report).items():
        lines += ["", f"{shots}-shot story (`scenegen story` through the CLI, every generative stage):", ""]
        lines += table(["levers", "status", "device peak GiB", "peak in", "host GiB", "film"],
                       ([s["levers"], s["status"], number(s["peak_gib"]), s["peak_in"] or "-",
                         number(s["host_peak_gib"]), "made" if s["film"] else "-"] for s in told))
    lines += ["", "Resident: device memory held after loading; peak: the most held at once over load and run, and "
              "the model running then; host: host memory the process owns at its peak (weights read from a "
              "safetensors file stay a mapping of it, which the kernel can drop, and are not counted). "
              f"{memsim.NOT_MODELLED}"]
    notes = reasons(report)
    return "\n".join(lines + ([""] + notes if notes else []))


DOCS_BEGIN, DOCS_END = "<!-- simulated by bench/gpu_realscale.py --simulate -->", "<!-- end of simulated -->"


def write_docs(path: Path, table: str) -> None:
    """Put `table` between the markers in `path`, in place of what they held."""
    before, rest = path.read_text().split(DOCS_BEGIN, 1)
    path.write_text(f"{before}{DOCS_BEGIN}\n{table}\n{DOCS_END}{rest.split(DOCS_END, 1)[1]}")


def expected_memory(report: dict, levers: dict[str, dict]) -> dict:
    """The pre-flight table (`scenegen check`): each shipped preset's stages as the preset sets them, with the
    simulated figures. Only rows that ran are kept: a figure is never filled in."""
    rows = [{"stage": r["stage"], "preset": r["levers"],
             "settings": levers[r["levers"]]["backends"][r["stage"]].get("settings", {}),
             "device_gib": round(r["peak_gib"], 2), "host_gib": round(r["host_peak_gib"], 2)}
            for r in report["rows"] if r["status"] == "ok" and r["levers"] not in BENCH_LEVERS]
    return {"simulated_with": report["versions"], "steps": report["steps"], "margin": memsim.MARGIN,
            "output": {"width": report["width"], "height": report["height"], "fps": report["fps"],
                       "frames": report["frames"]}, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "scenegen-realscale",
                        help="where the models are built (and reused) and the jobs write")
    parser.add_argument("--stages", default=",".join(STAGES),
                        help="comma-separated, from " + ", ".join(STAGES) + " (empty: only the --story runs)")
    parser.add_argument("--levers", default=None, help="comma-separated lever sets (default: default and every preset)")
    parser.add_argument("--steps", type=int, default=4, help="denoising steps of every job")
    parser.add_argument("--frames", type=int, default=None, help="frames of a clip (default: the scale's)")
    parser.add_argument("--tiny", action="store_true", help="tests/support/tiny_models.py's sizes, for the tests")
    parser.add_argument("--simulate", action="store_true",
                        help="no GPU: simulate its memory on this CPU at real size (bench/memsim.py); seconds are not measured")
    parser.add_argument("--jobs", type=int, default=1,
                        help="with --simulate: rows simulated at once, each in its own process (one per CPU core)")
    parser.add_argument("--json", type=Path, default=None, help="write every measurement here")
    parser.add_argument("--story", default="", metavar="N[,N]",
                        help="then render an N-shot story per lever set (several sizes: 3,30)")
    parser.add_argument("--docs", type=Path, default=None, help="with --simulate: put the table into this Markdown file")
    parser.add_argument("--table", type=Path, default=None,
                        help="with --simulate: write the presets' figures for `scenegen check` here "
                             "(scenegen/presets/memory.json)")
    args = parser.parse_args()

    if (args.docs or args.table) and not args.simulate:
        sys.exit("--docs and --table write simulated figures; add --simulate")
    if args.jobs < 1 or (args.jobs > 1 and not args.simulate):
        sys.exit("--jobs: a number of simulated rows at once, 1 or more, with --simulate (a GPU runs its rows one at a time)")
    if args.simulate and args.tiny:
        sys.exit("--simulate runs the public sizes; leave out --tiny")
    if args.simulate:
        memsim.require_versions()
    if args.docs and not {DOCS_BEGIN, DOCS_END} <= set(args.docs.read_text().splitlines()):
        sys.exit(f"--docs: {args.docs} has no block to replace; put the lines {DOCS_BEGIN} and {DOCS_END} where it goes")
    scale = TINY if args.tiny else PUBLIC
    frames = args.frames or scale.frames
    stages = [stage for stage in args.stages.split(",") if stage]   # none: only the stories
    if unknown := sorted(set(stages) - set(STAGES)):
        sys.exit(f"--stages: no stage {', '.join(unknown)}; there are {', '.join(STAGES)}")
    try:
        story_sizes = [int(n) for n in args.story.split(",") if n]
    except ValueError:
        sys.exit(f"--story: {args.story!r} is not a number of shots, or several joined by commas")
    levers = lever_sets(args.levers.split(",") if args.levers else None)
    root = args.work / (f"{scale.name}-weightless" if args.simulate else scale.name)
    guard = args.work / "simulated-cuda-guard"
    # The models of the backends the lever sets choose for the stages run; a story runs every stage.
    needed = list(dict.fromkeys(m for stage in (STAGES if story_sizes else stages) for config in levers.values()
                                for m in BACKEND_MODELS.get((stage, backend_name(config, stage)), [])))

    start = time.perf_counter()
    models = build_models(root, scale, needed, weightless=args.simulate)
    report = {
        "scale": scale.name, "device": None, "simulated": args.simulate,  # named by the first process that measures
        "versions": {"torch": torch.__version__, "diffusers": diffusers.__version__, "transformers": transformers.__version__},
        "steps": args.steps, "frames": frames, "width": scale.width, "height": scale.height, "fps": scale.fps,
        "build_s": time.perf_counter() - start,
        "models": {name: {"path": str(path), "components": component_classes(path)} for name, path in models.items()},
        "rows": [], "story": [],
    }

    def record(results: list, result: dict) -> None:
        results.append(result)
        report["device"] = report["device"] or result.get("device")
        # After every result: a run cut short keeps what it measured.
        if args.json:
            args.json.write_text(json.dumps(report, indent=2))
        if args.docs:
            write_docs(args.docs, simulated_markdown(report))
        if args.table:
            args.table.write_text(json.dumps(expected_memory(report, levers), indent=2) + "\n")

    output = OutputFormat(fps=scale.fps, width=scale.width, height=scale.height)
    made: dict[str, Path] = {}  # stage -> an output of this run, the next stage's input

    def finish(row: dict) -> None:
        print(f"{row['stage']} / {row['levers']}: {row['status']}" + (f" ({row['reason']})" if row["reason"] else "")
              + (f", load {row['load_s']:.2f} s, {row['forwards']} forwards, run {row['run_s']:.2f} s"
                 if row["status"] == "ok" and not args.simulate else "")
              + (f", peak {row['peak_gib']:.2f} GiB, host {row['host_peak_gib']:.2f} GiB"
                 if row["status"] == "ok" and args.simulate else ""), file=sys.stderr, flush=True)
        record(report["rows"], row)

    # Simulated rows are independent: a simulated output holds no picture for the next stage, and a row's memory is
    # its own process's. So `--jobs` of them run at once, each in a fresh process, and a lever set whose settings
    # for a stage another set already has, SIMULATION_NEUTRAL ones aside (the presets differ in steps, which the
    # bench sets), takes that row's figures instead of simulating the same load and step again. On a GPU, rows run
    # one at a time.
    simulating = ProcessPoolExecutor(max_workers=args.jobs, mp_context=FRESH, max_tasks_per_child=1) if args.simulate else None
    simulated: dict[str, tuple[str, Future]] = {}   # backend and settings -> the first lever set with them, its row
    pending: list[tuple[dict, Future | None]] = []   # rows in the table's order, and what they wait for

    def report_done(wait: bool = False) -> None:
        """Record the rows whose figures are in, in order: after every result, a run cut short keeps them."""
        while pending and (wait or pending[0][1] is None or pending[0][1].done()):
            row, future = pending.pop(0)
            try:
                finish(row | (future.result() if future else {}))
            except BrokenProcessPool:
                finish(row | {"status": "failed", "reason": "its process, or one beside it, died without a report "
                                                            "(killed; the kernel does that when host memory runs out)"})

    for stage in stages:
        for name, config in levers.items():
            row = {"stage": stage, "levers": name, "settings": None, "status": "skipped", "reason": None,
                   **dict.fromkeys(MEASURES)}
            settings = stage_settings(config, stage, models, scale, args.steps)
            backend = (stage, backend_name(config, stage))
            key = json.dumps([backend, settings if isinstance(settings, str) or not args.simulate else
                              {k: v for k, v in settings.items() if k not in SIMULATION_NEUTRAL}], sort_keys=True)
            if isinstance(settings, str):
                pending.append((row | {"reason": settings}, None))
            elif args.simulate and key in simulated:
                first, future = simulated[key]
                pending.append((row | {"settings": settings, "same_as": first}, future))
            else:
                folder = root / "jobs" / f"{stage}-{name}"
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True)
                job = make_job(backend, scale, frames, made, folder)
                if args.simulate:
                    simulated[key] = name, simulating.submit(simulate_stage, backend, settings, job, output, guard)
                    pending.append((row | {"settings": settings}, simulated[key][1]))
                else:
                    row |= {"settings": settings, **apart(measure_stage, backend, settings, job, output)}
                    if row["status"] == "ok":
                        made.setdefault(stage, job.output)
                    pending.append((row, None))
            report_done()
    report_done(wait=True)
    if simulating:
        simulating.shutdown()
    for shots in story_sizes:
        for name, config in levers.items():
            story = {"levers": name, "shots": shots, "status": "skipped", "reason": None, "digest_s": None,
                     "wall_s": None, "peak_gib": None, "host_peak_gib": None, "peak_in": None, "film": None}
            settings = {stage: stage_settings(config, stage, models, scale, args.steps) for stage in STAGES}
            if skipped := [f"{stage}: {why}" for stage, why in settings.items() if isinstance(why, str)]:
                story["reason"] = "; ".join(skipped)
            else:
                out = root / "story" / f"{name}-{shots}"
                device = {"device": "cuda"} if args.simulate else {}
                choices = {stage: {"name": backend_name(config, stage), "settings": choice | device}
                           for stage, choice in settings.items()}
                story_config(config, choices, scale, out.with_name(f"{name}-{shots}.toml"))
                story |= (apart(simulate_story, shots, choices, out.with_name(f"{name}-{shots}.toml"), out, guard)
                          if args.simulate else apart(render_story, shots, choices, out.with_name(f"{name}-{shots}.toml"), out))
            print(f"{shots}-shot story / {name}: {story['status']}" + (f" ({story['reason']})" if story["reason"] else ""),
                  file=sys.stderr, flush=True)
            record(report["story"], story)
    print(simulated_markdown(report) if args.simulate else markdown(report))


if __name__ == "__main__":
    main()
