"""Diffusion score: each piece of music by text-to-audio, with Stable Audio Open (`StableAudioPipeline`).

The prompt is the piece's mood in a film composer's words (prompts/diffusion/score.j2),
with the stage's `negative_prompt`. Stable Audio makes at most a fixed length in one
generation (Stable Audio Open: 1024 latents of 2048 samples at 44.1 kHz, 47.55 s), and
is told how long each one is. A longer piece is made in consecutive generations of
equal length, at most `piece_seconds` each, each with a seed of its own from the piece's
(the first keeps it), overlapping by `CROSSFADE` and joined there by an equal-power
crossfade: two unrelated signals keep their loudness through the seam, where a linear
one would dip.

The joined audio is resampled to `RATE` if the model makes another rate, cut to exactly
the piece's length, and shaped by the stage's `dynamics` (its fade in, each cue's swell
or drop, its fade out), so cues land where the plan puts them whichever backend made
the music.

The denoiser is a DiT: fp8 storage, offloading and VAE tiling apply to it. The levers
with nothing to act on in StableAudioPipeline (diffusers 0.42: step caches, compiled
blocks, attention backends, LoRAs, shift) are refused when the DAG is built, as is a
`piece_seconds` longer than the model makes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, Field

from scenegen.errors import UserError
from scenegen.media import resample, write_wav
from scenegen.modules.diffusers_backend import STABLE_AUDIO, DiffusersBackend, Family, PipelineSettings, chunk_seed, generator
from scenegen.modules.levers import device_memory_advice
from scenegen.modules.score import ScoreBackend, dynamics
from scenegen.orchestrator.backend import Job
from scenegen.prompts import fill_template

RATE = 44100       # what this backend writes: Stable Audio Open's own rate, so its output is written as it comes
CROSSFADE = 0.5    # seconds two consecutive generations overlap


class Settings(PipelineSettings):
    # StableAudioPipeline's own defaults, not the video models' (30 steps, guidance 5).
    steps: int = Field(100, ge=1, le=200)
    guidance: float = Field(7.0, ge=0.0, le=30.0)
    piece_seconds: float = Field(47.0, ge=2 * CROSSFADE, description="most seconds one generation makes; at most "
                                                                     "the model's (Stable Audio Open: 47.55)")


class DiffusersScore(DiffusersBackend, ScoreBackend):
    name: ClassVar[str] = "diffusers"
    version: ClassVar[str] = "2"
    Settings: ClassVar[type[BaseModel]] = Settings
    family: ClassVar[Family] = STABLE_AUDIO

    def check(self, output) -> None:
        super().check(output)
        if reason := refusal(self.settings, longest_generation(self.settings.model, self.files())):
            raise UserError(f"settings for {self.kind} backend 'diffusers': {reason} "
                            f"(settings.json, or [backends.{self.kind}.settings] in a {{config!n}} file)", config=None)

    def run(self, job: Job) -> dict[str, Any]:
        p, s = job.params, self.settings
        rate = self.pipe.vae.config.sampling_rate
        prompt = fill_template("diffusion/score.j2", mood=p["mood"]).strip()
        overlap = round(CROSSFADE * rate)
        lengths = generation_lengths(math.ceil(p["seconds"] * rate), math.floor(s.piece_seconds * rate), overlap)
        audio = None
        with device_memory_advice(self.kind, s):
            for n, length in enumerate(lengths):
                made = self.pipe(prompt=prompt, negative_prompt=s.negative_prompt or None, audio_end_in_s=length / rate,
                                 num_inference_steps=s.steps, guidance_scale=s.guidance,
                                 generator=generator(chunk_seed(job.seed, n)), output_type="np").audios[0].T
                audio = made if audio is None else crossfade(audio, made, overlap)
        audio = resample(audio, rate, RATE)
        count = round(p["seconds"] * RATE)
        # The model and the resampler may come a sample or two short; the piece is faded out there anyway.
        audio = np.pad(audio[:count], ((0, count - min(count, len(audio))), (0, 0)))
        write_wav(job.output, audio * dynamics(p, RATE)[:, None], RATE)
        return {"seconds": round(count / RATE, 3), "generations": len(lengths)}


def generation_lengths(frames: int, most: int, overlap: int) -> list[int]:
    """Samples of each generation for a piece of `frames`: as few as cover it, of equal length,
    at most `most` each, each overlapping the one before by `overlap`."""
    count = 1 if frames <= most else math.ceil((frames - overlap) / (most - overlap))
    return [math.ceil((frames + (count - 1) * overlap) / count)] * count


def crossfade(before: np.ndarray, after: np.ndarray, overlap: int) -> np.ndarray:
    """`before` then `after`, the last `overlap` samples of one faded into the first of the other
    at equal power (cos² + sin² = 1)."""
    angle = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap * (np.pi / 2)
    seam = before[-overlap:] * np.cos(angle)[:, None] + after[:overlap] * np.sin(angle)[:, None]
    return np.concatenate([before[:-overlap], seam, after[overlap:]])


def longest_generation(model: str, files: list[Path]) -> float:
    """Seconds the model makes in one generation: the DiT's latent length, times the VAE's samples
    per latent, at the VAE's rate, as StableAudioPipeline reckons it."""
    configs = {path.parent.name: path for path in files if path.name == "config.json"}
    if "transformer" not in configs or "vae" not in configs:
        raise UserError(f"model {model!r} is not a StableAudioPipeline: it has no transformer/ and vae/ configs")
    transformer, vae = (json.loads(configs[name].read_text()) for name in ("transformer", "vae"))
    return transformer["sample_size"] * math.prod(vae["downsampling_ratios"]) / vae["sampling_rate"]


def refusal(settings: Settings, longest: float) -> str | None:
    """Why these settings cannot work on StableAudioPipeline, beyond what `levers.refusal` knows."""
    if settings.piece_seconds > longest:
        return (f"piece_seconds = {settings.piece_seconds:g}: {settings.model} makes at most {longest:.2f} s in one "
                f"generation; set piece_seconds to that or less")
    if settings.cache != "none":
        return f"cache = {settings.cache!r}: StableAudioDiTModel has no step-cache hooks; leave cache at \"none\""
    if settings.compile_blocks:
        return "compile_blocks: StableAudioDiTModel marks no repeated blocks to compile; leave it off"
    if settings.attention_backend:
        # Its attention processor calls torch's attention itself: a backend set on it would change nothing.
        return (f"attention_backend = {settings.attention_backend!r}: Stable Audio's attention does not dispatch "
                "to attention backends; leave it unset")
    if settings.loras:
        return "loras: StableAudioPipeline loads no LoRA; leave loras empty"
    if settings.shift is not None:
        return "shift: Stable Audio's scheduler (cosine DPM-Solver) has no shift; leave it unset"
    return None
