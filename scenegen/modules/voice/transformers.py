"""Neural voices by transformers: VITS text-to-speech, e.g. Meta's MMS-TTS (facebook/mms-tts-eng
and its siblings for some 1100 languages).

`model` is a VITS checkpoint (`VitsModel` and its `VitsTokenizer`), loaded from local
files only, as the diffusion backends load theirs. Other transformers speech models
(SpeechT5, Bark, Parler-TTS, ...) have other inputs (speaker embeddings, voice presets,
a description of the voice) and would need work of their own. A checkpoint whose
tokenizer phonemizes (`"phonemize": true` in tokenizer_config.json) also needs the
`phonemizer` package and eSpeak; MMS-TTS reads plain letters.

How a voice maps onto the model, and what does not:
- pace scales VITS's own `speaking_rate`: the duration predictor stretches every sound.
- the voice picks the speaker of a multi-speaker model by a hash of its kind, pitch and
  pace, so each character keeps one speaker in every line and every run; nothing makes
  a "feminine" voice land on a female speaker. A single-speaker model (all of MMS-TTS)
  has one voice: there the kind changes nothing, and characters differ only by their
  pitch and pace.
- pitch is a shift of up to PITCH_SEMITONES (3) either way, done as a tape played faster or
  slower: the model speaks slower by the same factor, and the audio is resampled so
  that, played at the model's rate, it is that much higher and back to the length the
  pace gives (up to the rounding of each sound to the model's frames). Formants move
  with the pitch, so a large shift sounds more like another size of person than
  another voice.

VITS draws its noise (durations, then the spectrogram) from torch's global RNG and takes
no generator; each line reseeds it with the job's seed inside `fork_rng`, so a line
depends only on its words, voice and seed, and the rest of the process keeps its own
random state. The same seed gives the same bytes on the same device; CPU and GPU differ.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from scenegen.errors import UserError
from scenegen.media import resample, write_wav
from scenegen.modules.diffusers_backend import device_of, model_here, offline_loading, weight_files
from scenegen.modules.levers import free_device_memory
from scenegen.modules.voice import VoiceBackend
from scenegen.orchestrator.backend import Job
from scenegen.orchestrator.graph import canonical_json

PITCH_SEMITONES = 3.0


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(description="local directory, or a Hugging Face id already in the local cache")
    # VITS models are small (MMS-TTS: 36M parameters), so half precision saves little.
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    device: str = Field("auto", description="auto (cuda when present, else cpu), cpu, cuda, cuda:1, ...")
    noise_scale: float | None = Field(None, ge=0.0, le=2.0, description="spread of the noise VITS draws the sound "
                                      "with: lower is steadier and flatter (default: the model's, 0.667 for MMS-TTS)")

    @field_validator("model")
    @classmethod
    def _weights_are_here(cls, model: str) -> str:
        # Checked when the DAG is built, so missing weights stop a run before any work.
        return model_here(model, "config.json")


class TransformersVoice(VoiceBackend):
    name: ClassVar[str] = "transformers"
    version: ClassVar[str] = "1"
    Settings: ClassVar[type[BaseModel]] = Settings
    thread_safe: ClassVar[bool] = False
    uses_gpu: ClassVar[bool] = True

    def files(self) -> list[Path]:
        return weight_files(self.settings.model)

    def load(self) -> None:
        s = self.settings
        with offline_loading(s.model, "VitsModel") as location:
            import torch
            import transformers

            config = transformers.AutoConfig.from_pretrained(location, local_files_only=True)
            # VitsModel loads any checkpoint, leaving what it lacks random: a voice of noise.
            if config.model_type != "vits":
                raise UserError(f"model {s.model!r} is a {config.model_type} model, not a VITS text-to-speech "
                                "model (e.g. facebook/mms-tts-eng)")
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(location, local_files_only=True)
            self.model = transformers.VitsModel.from_pretrained(location, config=config, dtype=getattr(torch, s.dtype),
                                                                local_files_only=True)
        self.device = torch.device(device_of(s))
        self.model.to(self.device).eval()
        if s.noise_scale is not None:
            self.model.noise_scale = s.noise_scale  # forward reads it from here, not from the config

    def release(self) -> None:
        del self.model, self.tokenizer
        free_device_memory()

    def _speaker(self, voice: dict[str, Any]) -> int | None:
        speakers = self.model.config.num_speakers
        if speakers <= 1:
            return None
        return int(hashlib.sha256(canonical_json(voice).encode()).hexdigest(), 16) % speakers

    def run(self, job: Job) -> dict[str, Any]:
        import torch

        text, voice = job.params["text"], job.params["voice"]
        ids = self.tokenizer(text, return_tensors="pt").input_ids
        if not ids.numel():
            raise UserError(f"{job.node}: nothing in {text!r} is in the vocabulary of {self.settings.model}; "
                            "give the line words in the alphabet of the model's language")
        shift = 2 ** (PITCH_SEMITONES * voice["pitch"] / 12)
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []), torch.no_grad():
            torch.manual_seed(job.seed)
            out = self.model(input_ids=ids.to(self.device), speaker_id=self._speaker(voice),
                             speaking_rate=self.model.speaking_rate * voice["pace"] / shift)
        rate = self.model.config.sampling_rate
        audio = out.waveform[0, :out.sequence_lengths[0]].float().cpu().numpy()[:, None]
        audio = resample(audio, rate, round(rate / shift))
        write_wav(job.output, audio, rate)
        return {"seconds": round(len(audio) / rate, 3)}
