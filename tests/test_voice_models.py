"""The transformers voice backend on a tiny random-weight VITS, through its real loading code."""

import math
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from scenegen.errors import UserError
from scenegen.media import read_wav
from scenegen.modules.voice.transformers import PITCH_SEMITONES, TransformersVoice
from scenegen.orchestrator.backend import Job

from support.hub import cache_entry, offline
from support.tiny_models import build, vits

pytestmark = pytest.mark.torch

LINE = "the quick brown fox jumps over the lazy dog"


@pytest.fixture(scope="module")
def tiny_models():
    return build()


@pytest.fixture(scope="module")
def voice(tiny_models):
    backend = TransformersVoice({"model": str(tiny_models / "vits"), "device": "cpu"})
    backend.load()
    yield backend
    backend.release()


@pytest.fixture(scope="module")
def two_speakers(tmp_path_factory):
    model = tmp_path_factory.mktemp("vits") / "vits-2"
    vits(model, speakers=2)
    backend = TransformersVoice({"model": str(model), "device": "cpu"})
    backend.load()
    yield backend
    backend.release()


def say(backend, tmp_path, text=LINE, seed=1, name="line", **voice) -> tuple[bytes, dict]:
    """Run one voice job; the WAV's bytes and the facts returned."""
    job = Job(node="voice:s01.1", params={"text": text, "voice": {"kind": "feminine", "pitch": 0.0, "pace": 1.0} | voice},
              inputs={}, output=tmp_path / f"{name}.wav", root=tmp_path, keep=tmp_path / "kept", seed=seed)
    facts = backend.run(job)
    return job.output.read_bytes(), facts


def test_a_line_is_a_mono_wav_at_the_model_rate_and_slower_pace_is_longer(voice, tmp_path):
    lengths = []
    for pace in (1.5, 1.0, 0.6):
        _, facts = say(voice, tmp_path, pace=pace, name=f"pace{pace}")
        audio, rate = read_wav(tmp_path / f"pace{pace}.wav")
        assert rate == voice.model.config.sampling_rate == 16000 and audio.shape[1] == 1
        assert facts == {"seconds": round(len(audio) / rate, 3)}
        assert np.abs(audio).max() > 0.01, "a line is not silence"
        lengths.append(len(audio))
    assert 0 < lengths[0] < lengths[1] < lengths[2]
    # 2.5x slower in all; each sound's rounding up to a whole frame takes some of that away.
    assert lengths[2] / lengths[0] > 1.7


def test_the_seed_alone_decides_the_take(voice, tmp_path):
    first, _ = say(voice, tmp_path, seed=7, name="first")
    torch.rand(5)  # other draws from the global RNG in between must not matter
    again, _ = say(voice, tmp_path, seed=7, name="again")
    other, _ = say(voice, tmp_path, seed=8, name="other")
    assert first == again and first != other


def test_the_process_keeps_its_own_random_state(voice, tmp_path):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    say(voice, tmp_path)
    assert torch.equal(torch.rand(3), expected), "the backend reseeded the process's RNG"


def test_each_voice_keeps_a_speaker_of_a_multi_speaker_model(two_speakers, voice, tmp_path):
    feminine, masculine = {"kind": "feminine", "pitch": 0.0, "pace": 1.0}, {"kind": "masculine", "pitch": 0.0, "pace": 1.0}
    assert two_speakers._speaker(feminine) != two_speakers._speaker(masculine), "these two voices hash to one speaker"
    assert two_speakers._speaker(feminine) == two_speakers._speaker(dict(reversed(feminine.items())))
    her, _ = say(two_speakers, tmp_path, name="her", **feminine)
    him, _ = say(two_speakers, tmp_path, name="him", **masculine)
    assert her != him
    # A single-speaker model has one voice: the kind alone changes nothing there.
    assert say(voice, tmp_path, name="one-her", **feminine)[0] == say(voice, tmp_path, name="one-him", **masculine)[0]


class Hum:
    """Stands in for VITS to measure pitch: a 200 Hz tone, half a second long at speaking rate 1."""

    speaking_rate = 1.0
    config = SimpleNamespace(sampling_rate=16000, num_speakers=1)

    def __call__(self, input_ids, speaker_id, speaking_rate):
        samples = round(8000 / speaking_rate)
        tone = 0.5 * torch.sin(2 * math.pi * 200 * torch.arange(samples) / 16000)
        return SimpleNamespace(waveform=tone[None], sequence_lengths=torch.tensor([samples]))


def test_pitch_moves_the_tone_and_keeps_the_length(tiny_models, tmp_path):
    backend = TransformersVoice({"model": str(tiny_models / "vits"), "device": "cpu"})
    backend.load()
    backend.model = Hum()
    for pitch in (-1.0, 0.0, 1.0):
        say(backend, tmp_path, pitch=pitch, name=f"pitch{pitch}")
        audio, rate = read_wav(tmp_path / f"pitch{pitch}.wav")
        spectrum = np.abs(np.fft.rfft(audio[:, 0] * np.hanning(len(audio))))
        peak = np.fft.rfftfreq(len(audio), 1 / rate)[spectrum.argmax()]
        assert peak == pytest.approx(200 * 2 ** (PITCH_SEMITONES * pitch / 12), abs=3)
        assert len(audio) == pytest.approx(8000, abs=8)


def test_words_the_model_cannot_say_name_the_node(voice, tmp_path):
    with pytest.raises(UserError, match=r"voice:s01\.1: nothing in '\?!' is in the vocabulary of .*vits; give the line words"):
        say(voice, tmp_path, text="?!")


def test_a_missing_or_other_model_is_an_error_naming_it(tiny_models, tmp_path):
    with pytest.raises(UserError, match=r"settings for voice backend 'transformers': model: '.*nowhere' is not a local directory"):
        TransformersVoice({"model": str(tmp_path / "nowhere")})
    with pytest.raises(UserError, match=r"settings for voice backend 'transformers': model: Field required"):
        TransformersVoice({})
    with pytest.raises(UserError, match=r"^model '.*clip' is a clip model, not a VITS text-to-speech model"):
        TransformersVoice({"model": str(tiny_models / "clip")}).load()


def test_a_model_id_in_the_hugging_face_cache_loads_offline(tiny_models, tmp_path):
    cache_entry(tmp_path / "hub", "acme/tiny-vits", {p.name: p for p in (tiny_models / "vits").iterdir()})
    # huggingface_hub reads its cache location when imported: a fresh interpreter sees this one.
    probe = (
        "import sys; from pathlib import Path; from scenegen.orchestrator.backend import Job; "
        "from scenegen.modules.voice.transformers import TransformersVoice; "
        "b = TransformersVoice({'model': 'acme/tiny-vits', 'device': 'cpu'}); b.load(); out = Path(sys.argv[1]); "
        "voice = {'kind': 'feminine', 'pitch': 0.0, 'pace': 1.0}; "
        "job = Job(node='voice:n', params={'text': 'hello', 'voice': voice}, inputs={}, output=out / 'a.wav', root=out, "
        "keep=out, seed=1); "
        "print(len(b.files()), b.run(job)['seconds'] > 0)"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True,
                            env=offline(tmp_path / "hub"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(len(list((tiny_models / "vits").iterdir()))), "True"]
