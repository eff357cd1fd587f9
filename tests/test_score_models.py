"""The diffusion score backend on a tiny random-weight Stable Audio model, through its real loading code.

Random weights make a steady hum rather than music: enough to measure lengths, levels and seams.
Where a level is compared, it is compared with the same seed rendered without the cue or the
fade, so the measured ratio is the envelope's alone.
"""

import wave

import numpy as np
import pytest

from scenegen.errors import UserError
from scenegen.media import read_wav
from scenegen.modules.score.diffusers import CROSSFADE, RATE, DiffusersScore, crossfade, generation_lengths
from scenegen.orchestrator.backend import Job

from support.tiny_models import build

FAST = {"dtype": "float32", "device": "cpu", "steps": 2, "guidance": 1.0}


@pytest.fixture(scope="module")
def model():
    return build() / "stable-audio"


@pytest.fixture(scope="module")
def backend(model):
    backend = DiffusersScore({"model": str(model), **FAST})
    backend.check(None)
    backend.load()
    yield backend
    backend.release()


def score(backend, tmp_path, name: str, seed: int = 7, **params) -> tuple[np.ndarray, dict]:
    """Render one piece (calm, 3 s, no cues unless given) and read it back."""
    params = {"mood": "calm", "seconds": 3.0, "fades_out": False, "cues": [], **params}
    job = Job(node="score:s01", params=params, inputs={}, output=tmp_path / f"{name}.wav", root=tmp_path, seed=seed,
              keep=tmp_path / "kept")
    facts = backend.run(job)
    with wave.open(str(job.output), "rb") as header:
        assert (header.getnchannels(), header.getsampwidth(), header.getframerate()) == (2, 2, RATE)
    samples, _ = read_wav(job.output)
    return samples, facts


def rms(samples: np.ndarray, start: float, stop: float) -> float:
    return float(np.sqrt(np.mean(samples[round(start * RATE):round(stop * RATE)] ** 2)))


@pytest.mark.torch
def test_a_piece_is_stereo_exactly_its_length_and_fades_to_silence_at_a_stop(backend, tmp_path):
    faded, facts = score(backend, tmp_path, "faded", seconds=3.3, fades_out=True)
    held, _ = score(backend, tmp_path, "held", seconds=3.3, fades_out=False)
    assert faded.shape == held.shape == (round(3.3 * RATE), 2)
    assert facts == {"seconds": 3.3, "generations": 1}
    # The fade takes the last half of a short piece (1.65 s); before it both are the same samples.
    start = 3.3 - 1.65
    assert np.array_equal(faded[:round(start * RATE)], held[:round(start * RATE)])
    ratios = [rms(faded, t, t + 0.3) / rms(held, t, t + 0.3) for t in (1.7, 2.1, 2.5, 2.9)]
    assert all(a > b for a, b in zip(ratios, ratios[1:])) and ratios[-1] < 0.3, ratios
    assert rms(faded, 3.25, 3.3) < 0.05 * rms(faded, 1.0, 1.5) and not faded[-1].any()
    assert rms(held, 1.0, 1.5) > 0.005, "the tiny model makes sound to measure"


@pytest.mark.torch
def test_a_swell_makes_the_music_after_it_louder(backend, tmp_path):
    swelled, _ = score(backend, tmp_path, "swelled", seconds=4.5, cues=[{"at": 2.0, "change": "swell"}])
    plain, _ = score(backend, tmp_path, "plain", seconds=4.5)
    assert np.array_equal(swelled[:2 * RATE], plain[:2 * RATE]), "nothing changes before the cue"
    # After its 2 s ramp the swell holds 1.6x the level, until the handover fade (the last 0.3 s).
    assert rms(swelled, 4.0, 4.2) / rms(swelled, 1.5, 2.0) > 1.3
    assert rms(swelled, 4.0, 4.2) / rms(plain, 4.0, 4.2) == pytest.approx(1.6, rel=0.01)


@pytest.mark.torch
def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_bytes(backend, model, tmp_path):
    score(backend, tmp_path, "first", cues=[{"at": 1.0, "change": "drop"}])
    again = DiffusersScore({"model": str(model), **FAST})
    again.load()   # a fresh pipeline: nothing carried over from the pieces before
    score(again, tmp_path, "again", cues=[{"at": 1.0, "change": "drop"}])
    score(again, tmp_path, "other", seed=8, cues=[{"at": 1.0, "change": "drop"}])
    assert (tmp_path / "first.wav").read_bytes() == (tmp_path / "again.wav").read_bytes()
    assert (tmp_path / "first.wav").read_bytes() != (tmp_path / "other.wav").read_bytes()


@pytest.mark.torch
def test_a_piece_longer_than_one_generation_is_made_in_several_and_keeps_its_length(backend, model, tmp_path):
    short = DiffusersScore({"model": str(model), **FAST, "piece_seconds": 1.0})
    calls, pipe = [], short.load_pipe()

    def recording(**kwargs):
        calls.append((kwargs["audio_end_in_s"], kwargs["generator"].initial_seed()))
        return pipe(**kwargs)

    recording.vae = pipe.vae   # where run reads the model's rate
    short.load_pipe = lambda: recording
    short.load()
    samples, facts = score(short, tmp_path, "long", seed=5, seconds=3.3)
    assert samples.shape == (round(3.3 * RATE), 2)
    assert facts == {"seconds": 3.3, "generations": len(calls)} and len(calls) > 3
    lengths = [seconds for seconds, _ in calls]
    assert max(lengths) <= 1.0 and sum(lengths) - CROSSFADE * (len(calls) - 1) >= 3.3
    assert calls[0][1] == 5 and len({seed for _, seed in calls}) == len(calls)
    # Through every seam the level holds (after the fade in, before the handover).
    levels = [rms(samples, t, t + 0.25) for t in np.arange(1.5, 2.75, 0.25)]
    assert max(levels) / min(levels) < 1.3, levels


def test_the_crossfade_keeps_the_loudness_of_unrelated_signals_and_the_lengths_cover_the_piece():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3000, 2)), rng.standard_normal((3000, 2))
    joined = crossfade(a, b, 1000)
    assert len(joined) == 5000 and np.array_equal(joined[:2000], a[:2000]) and np.array_equal(joined[3000:], b[1000:])
    assert np.sqrt(np.mean(joined[2000:3000] ** 2)) == pytest.approx(1.0, abs=0.06)
    for frames in (1, 100, 512, 513, 1690, 10_000):
        lengths = generation_lengths(frames, most=512, overlap=256)
        assert max(lengths) <= 512 and sum(lengths) - 256 * (len(lengths) - 1) >= frames
        fewer = len(lengths) - 1
        assert fewer == 0 or 512 * fewer - 256 * (fewer - 1) < frames, "no more generations than needed"


@pytest.mark.torch
def test_missing_weights_and_settings_that_cannot_apply_are_refused_before_any_work(model, tmp_path):
    with pytest.raises(UserError, match=r"backend 'diffusers': model: .*nowhere does not exist"):
        DiffusersScore({"model": str(tmp_path / "nowhere")})
    (tmp_path / "lora.safetensors").write_bytes(b"")
    for lever, reason in (({"piece_seconds": 50}, r"piece_seconds = 50: .* at most 48.00 s in one generation"),
                          ({"cache": "first_block"}, "no step-cache hooks"),
                          ({"compile_blocks": True}, "no repeated blocks"),
                          ({"attention_backend": "flash"}, "does not dispatch"),
                          ({"loras": [{"path": str(tmp_path / "lora.safetensors")}]}, "loads no LoRA"),
                          ({"vae_dtype": "float32"}, "only the Wan pipelines")):
        with pytest.raises(UserError, match=reason):
            DiffusersScore({"model": str(model), "device": "cpu", **lever}).check(None)
