"""Offline neural voices by hibari: Kokoro-82M distilled to 6M parameters, an 8 MB ONNX model
inside its wheel, with its own lexicon and letter-to-sound rules (no eSpeak, no GPU).

Whisper understands its lines far better than eSpeak NG's formant voices: docs/sound.md has
the word error rates, measured by bench/hearing.py.

hibari's wheel holds one voice, an American woman's ("heart"); its other voices download at
first use, which an offline machine cannot do. So the three voice kinds are made from that
one by the WORLD vocoder (pyworld): the speech is analysed into its pitch (F0), spectral
envelope and aperiodicity, the pitch is scaled and the envelope warped along frequency,
and the speech synthesised again. Warping the envelope moves the formants, which are set
by the length of the vocal tract: an adult man's are about 15% lower than a woman's and a
child's about 15% higher (Peterson & Barney, 1952); a lower pitch without lower formants
sounds like a woman's voice slowed down, not a man's. A voice's `pitch` moves its kind's
pitch by up to PITCH_SEMITONES either way; its `pace` is hibari's speed.

hibari speaks English only: for another `language` the DAG is built with eSpeak NG in its
place (`stand_in`), and `scenegen status` says so. The same words, voice and seed give the
same bytes: hibari draws its noise from the seed, and WORLD draws none.
"""

from __future__ import annotations

import math
import threading
from importlib.util import find_spec
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from scenegen.errors import UserError
from scenegen.media import loudness, write_wav
from scenegen.modules.voice import VoiceBackend
from scenegen.orchestrator.backend import Job, StandIn

LANGUAGES = ("en", "en-us")  # the bundled voice is American, and so are its lexicon's readings
# Per kind: the factor on the bundled voice's pitch (a median of about 205 Hz) and on its
# formants' frequencies, so a masculine voice speaks near 125 Hz and a childlike one near 290 Hz.
KINDS = {"feminine": (1.0, 1.0), "masculine": (0.6, 0.85), "childlike": (1.4, 1.15)}
PITCH_SEMITONES = 4.0
FRAME_MS = 10.0  # WORLD's analysis hop: half the work of its default 5 ms, and the same words heard
SILENCE = 1e-3   # trimmed from both ends, so a line starts where the mix places it
# Every line is brought to one loudness (EBU R128), about eSpeak's, which the mix's score level was set
# against: hibari speaks some 6 dB quieter, and its kinds differ after WORLD; peaks stay under PEAK_DBFS.
LINE_LUFS, PEAK_DBFS = -20.0, -1.0
GATE_SECONDS = 0.5  # R128 measures in 400 ms blocks: a shorter line ("No.") is measured repeated to this


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    language: str = Field("en", pattern=r"^[a-z]{2,3}(-[a-z0-9]+)*$",
                          description="en; any other language is spoken by eSpeak NG in its place")


class HibariVoice(VoiceBackend):
    name: ClassVar[str] = "hibari"
    version: ClassVar[str] = "1"
    Settings: ClassVar[type[BaseModel]] = Settings

    def stand_in(self) -> StandIn | None:
        if self.settings.language.lower() in LANGUAGES:
            return None
        return StandIn("espeak", {"language": self.settings.language},
                       f"hibari speaks American English only ({', '.join(LANGUAGES)}), and the voice language "
                       f"is {self.settings.language!r}")

    def files(self) -> list[Path]:
        # What decides the bytes: hibari whole (its model, lexicons and letter-to-sound nets, and the code
        # that reads numbers and synthesises), the onnxruntime that runs it and the WORLD that reshapes it.
        # Found without importing them: the DAG is built before any work starts.
        found = []
        for package, pattern in (("hibari", "*"), ("onnxruntime", "capi/*.so*"), ("pyworld", "*.so*")):
            folder = Path(find_spec(package).origin).parent
            found += [p for p in folder.glob(f"**/{pattern}" if pattern == "*" else pattern)
                      if p.is_file() and "__pycache__" not in p.parts]
        return sorted(found)

    def load(self) -> None:
        import hibari

        self.tts = hibari.Hibari()  # one onnxruntime thread: the render's workers are the parallelism
        # Reading text into phonemes loads its letter-to-sound net at the first unknown word, and is
        # not known to be thread-safe; the model and WORLD are, and take nearly all the time.
        self._reading = threading.Lock()

    def release(self) -> None:
        del self.tts

    def run(self, job: Job) -> dict[str, Any]:
        text, voice = job.params["text"], job.params["voice"]
        with self._reading:
            sentences = self.tts.phonemize(text)
        if not sentences:
            raise UserError(f"{job.node}: hibari reads no words in {text!r}; give the line English words")
        audio = np.concatenate([self.tts.from_phonemes(s, speed=voice["pace"], seed=job.seed) for s in sentences])
        loud = np.flatnonzero(np.abs(audio) > SILENCE)
        if not loud.size:
            raise UserError(f"{job.node}: hibari says nothing for {text!r}; give the line words it can pronounce")
        rate = self.tts.sample_rate
        pitch, formants = KINDS[voice["kind"]]
        pitch *= 2 ** (PITCH_SEMITONES * voice["pitch"] / 12)
        if (pitch, formants) != (1.0, 1.0):
            audio = reshape(audio, rate, pitch, formants)
            loud = np.flatnonzero(np.abs(audio) > SILENCE)
        audio = audio[loud[0]:loud[-1] + 1, None]
        measured, peak = loudness(np.tile(audio, (math.ceil(GATE_SECONDS * rate / len(audio)), 1)), rate)
        audio *= np.float32(min(10 ** ((LINE_LUFS - measured) / 20), 10 ** (PEAK_DBFS / 20) / peak))
        write_wav(job.output, audio, rate)
        return {"seconds": round(len(audio) / rate, 3)}


def reshape(audio: np.ndarray, rate: int, pitch: float, formants: float) -> np.ndarray:
    """`audio` with its pitch times `pitch` and its formants' frequencies times `formants`, by WORLD."""
    import pyworld

    x = audio.astype(np.float64)
    # DIO at speed 2 (analysing a half-rate copy) halves its time; StoneMask then refines F0 on the full
    # signal, and on the README story's lines the result is the same to the cent, voicing 0.6% apart.
    f0, times = pyworld.dio(x, rate, frame_period=FRAME_MS, speed=2)
    f0 = pyworld.stonemask(x, f0, times, rate)
    envelope = pyworld.cheaptrick(x, f0, times, rate)
    aperiodicity = pyworld.d4c(x, f0, times, rate)
    # The warped envelope at a frequency is the original's at that frequency / `formants`: each output
    # bin reads between two source bins, the same two in every frame.
    source = np.minimum(np.arange(envelope.shape[1]) / formants, envelope.shape[1] - 1)
    below = np.floor(source).astype(int)
    above, share = np.minimum(below + 1, envelope.shape[1] - 1), source - below
    envelope, aperiodicity = (np.ascontiguousarray(m[:, below] * (1 - share) + m[:, above] * share)
                              for m in (envelope, aperiodicity))
    return pyworld.synthesize(f0 * pitch, envelope, aperiodicity, rate, frame_period=FRAME_MS).astype(np.float32)
