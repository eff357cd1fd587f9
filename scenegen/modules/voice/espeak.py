"""Offline voices by eSpeak NG: formant synthesis, no weights, no GPU, a few ms a line.

libespeak-ng and its voice data come in the `espeakng-loader` wheel, and are driven here
through ctypes (the wheel ships the library, not a Python API for speaking). A voice
kind is an eSpeak voice variant: its formants make it sound feminine, masculine or
childlike; the voice's pitch moves eSpeak's base pitch, its pace the words per minute
(150 at pace 1, the pace plans are checked at).

eSpeak keeps state from one utterance to the next (the phase of its pitch "flutter", its
echo buffer), so a line would sound different after another line. Each line is therefore
said by a library loaded afresh: the backend loads its own copy of libespeak-ng, and
unloads it after every line, which costs about 5 ms. The same words, voice and seed give
the same bytes in any order, and two backends in two threads share nothing.
"""

from __future__ import annotations

import _ctypes
import ctypes
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import espeakng_loader
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from scenegen.errors import UserError
from scenegen.media import write_wav
from scenegen.modules.voice import VoiceBackend
from scenegen.orchestrator.backend import Job

# The stock variant each voice kind is (espeak-ng-data/voices/!v), and its base pitch on
# eSpeak's 0-100 scale; a voice's pitch moves it by up to PITCH_SPAN.
VARIANTS = {"feminine": ("f2", 55), "masculine": ("m3", 40), "childlike": ("f5", 75)}
PITCH_SPAN = 25
WORDS_PER_MINUTE = 150
# espeak_ng API constants (speak_lib.h).
AUDIO_OUTPUT_SYNCHRONOUS, POS_CHARACTER, CHARS_UTF8, ENDPAUSE = 2, 1, 1, 0x1000
RATE, PITCH, RANGE = 1, 3, 4
SILENCE = 1e-3   # trimmed from both ends, so a line starts where the mix places it

_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    language: str = Field("en", pattern=r"^[a-z]{2,3}(-[a-z0-9]+)*$", description="an eSpeak NG language, e.g. en, en-us, fr")


class EspeakVoice(VoiceBackend):
    name: ClassVar[str] = "espeak"
    version: ClassVar[str] = "1"
    Settings: ClassVar[type[BaseModel]] = Settings
    thread_safe: ClassVar[bool] = False

    def check(self, output) -> None:
        # Each language is a file under espeak-ng-data/lang/<family>/: refused before any node runs.
        languages = {path.name.lower() for path in Path(espeakng_loader.get_data_path(), "lang").rglob("*")}
        if self.settings.language.lower() not in languages:
            raise UserError(f"settings for voice backend 'espeak': language {self.settings.language!r} is not an "
                            "eSpeak NG language; try en, en-us, fr, de, es "
                            "(settings.json, or [backends.voice.settings] in a {config!n} file)", config=None)

    def files(self) -> list[Path]:
        # The library and the data it speaks from (phonemes, dictionaries, languages, variants):
        # a new espeakng-loader may say the same words otherwise, so its voices are made again.
        data = Path(espeakng_loader.get_data_path())
        return [Path(espeakng_loader.get_library_path()), *(p for p in data.rglob("*") if p.is_file())]

    def load(self) -> None:
        self._copy = tempfile.TemporaryDirectory(prefix="scenegen-espeak-")
        self._library_path = Path(self._copy.name) / "libespeak-ng.so"
        shutil.copyfile(espeakng_loader.get_library_path(), self._library_path)

    def release(self) -> None:
        self._copy.cleanup()

    @contextmanager
    def _fresh_library(self):
        """The backend's copy of libespeak-ng, loaded and started with no state from earlier
        lines, and its sample rate; unloaded afterwards."""
        library = ctypes.CDLL(str(self._library_path))
        try:
            rate = library.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
            if rate <= 0:
                raise UserError(f"eSpeak NG could not start from {espeakng_loader.get_data_path()}; "
                                "reinstall espeakng-loader")
            yield library, rate
            library.espeak_Terminate()
        finally:
            _ctypes.dlclose(library._handle)

    def run(self, job: Job) -> dict[str, Any]:
        text, voice = job.params["text"], job.params["voice"]
        variant, base_pitch = VARIANTS[voice["kind"]]
        heard: list[np.ndarray] = []

        @_Callback
        def hear(samples, count: int, events) -> int:
            if count > 0:
                heard.append(np.ctypeslib.as_array(samples, shape=(count,)).copy())
            return 0

        encoded = text.encode()
        with self._fresh_library() as (library, rate):
            library.espeak_SetSynthCallback(hear)
            library.espeak_SetVoiceByName(f"{self.settings.language}+{variant}".encode())
            library.espeak_SetParameter(PITCH, round(base_pitch + PITCH_SPAN * voice["pitch"]), 0)
            library.espeak_SetParameter(RANGE, 50, 0)
            library.espeak_SetParameter(RATE, round(WORDS_PER_MINUTE * voice["pace"]), 0)
            library.espeak_ng_SetRandSeed(ctypes.c_long(job.seed))  # breath noise
            library.espeak_Synth(encoded, len(encoded) + 1, 0, POS_CHARACTER, 0, CHARS_UTF8 | ENDPAUSE, None, None)
            library.espeak_Synchronize()
        audio = np.concatenate(heard).astype(np.float32) / 32768 if heard else np.zeros(0, np.float32)
        loud = np.flatnonzero(np.abs(audio) > SILENCE)
        if not loud.size:
            raise UserError(f"{job.node}: eSpeak NG says nothing for {text!r}; give the line words it can pronounce")
        audio = audio[loud[0]:loud[-1] + 1]
        write_wav(job.output, audio[:, None], rate)
        return {"seconds": round(len(audio) / rate, 3)}
