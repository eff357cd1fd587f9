"""Sound: the plan's words and score, their nodes, the voices, the pad and the mix."""

import hashlib
import json
import re
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from scenegen.media import loudness, read_wav, write_wav
from scenegen.modules.mix.pyav import RATE, PyAVMix
from scenegen.modules.score.pad import PadScore
from scenegen.modules.voice.espeak import EspeakVoice
from scenegen.orchestrator.backend import Job
from scenegen.orchestrator.render import status
from scenegen.schemas.files import load_plan
from scenegen.schemas.plan import Score, ScoreCue
from scenegen.schemas.timing import FrameLayout, score_scenes

from support.runs import SMALL, edit_plan, rerender, scenegen


def job(node: str, params: dict, output: Path, inputs: dict | None = None, seed: int = 1) -> Job:
    return Job(node, params, inputs or {}, output, output.parent, seed, output.parent)


def rms_db(samples: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(np.square(samples, dtype=np.float64))) + 1e-12)


# -- the plan ---------------------------------------------------------------------------------


def test_the_offline_plan_speaks_and_scores_every_act(small_run):
    plan = load_plan(small_run.plan, 12)
    assert any(shot.dialogue for shot in plan.shots) and plan.shots[0].narration
    cast = {c.id for c in plan.characters}
    assert all(line.speaker in cast for shot in plan.shots for line in shot.dialogue)
    assert all(c.voice is not None for c in plan.characters)
    assert plan.score is not None
    assert len(score_scenes(plan, FrameLayout.of(plan, 12))) >= 2, "each act after the first enters a new piece"


def test_a_line_that_does_not_fit_its_shot_says_how_long_the_shot_must_be(small_run):
    plan = json.loads(small_run.plan.read_text())
    k = next(i for i, s in enumerate(plan["shots"]) if s["dialogue"])
    plan["shots"][k]["dialogue"][0]["text"] = " ".join(["word"] * 40)
    small_run.plan.write_text(json.dumps(plan))
    result = scenegen("render", str(small_run.root))
    assert result.returncode == 2
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert f"shots[{k}].dialogue" in message and "make its duration at least" in message
    assert "output.fps" not in message, "the words are the plan's fault, not the frame rate's"
    needed = float(message.split("at least ")[1].split(" s")[0])
    assert needed >= 40 / 2.5


@pytest.mark.parametrize("text, words", [
    ("I will. I promise.", 4), ("Don't go, Mara.", 3), ("well-known", 2), ("Hello—world—again", 3),
    ("In 1987, 2,345,678 people came.", 23),   # one thousand nine hundred and eighty seven, two million ...
    ("你好你好你好", 6), ("...", 0), ("—!?", 0),
    ("नमस्ते दुनिया, आप कैसे हैं", 5), ("שָׁלוֹם עוֹלָם", 2), ("e\u0301te\u0301", 1),   # marks stay in their word
    ("9" * 40, 40),   # past what inflect can name: a word a digit
])
def test_words_are_counted_as_they_are_said(text, words):
    from scenegen.schemas.timing import spoken_words

    assert spoken_words(text) == words


@pytest.mark.parametrize("change, where", [
    (lambda p, k: p["shots"][k]["dialogue"][0].update(speaker="nobody"), "dialogue[0].speaker"),
    (lambda p, k: p["shots"][k]["dialogue"][0].update(text="—!?"), "dialogue[0].text"),
    (lambda p, k: p["score"]["cues"].append({"shot": "s99", "change": "swell"}), "score.cues"),
    (lambda p, k: p["score"]["cues"].insert(0, {"shot": p["shots"][0]["id"], "change": "drop", "mood": "tense"}),
     "score.cues[0].mood"),
])
def test_bad_words_and_cues_name_their_json_path(small_run, change, where):
    plan = json.loads(small_run.plan.read_text())
    change(plan, next(i for i, s in enumerate(plan["shots"]) if s["dialogue"]))
    small_run.plan.write_text(json.dumps(plan))
    result = scenegen("render", str(small_run.root))
    assert result.returncode == 2 and where in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_cues_in_shot_order_stay_in_film_order_across_a_transition(small_run):
    plan = load_plan(small_run.plan, 12)
    k = next(i for i, s in enumerate(plan.shots[:-1]) if s.transition.type != "cut")
    a, b = plan.shots[k].id, plan.shots[k + 1].id
    cues = [ScoreCue(shot=a, at=0.95, change="swell"), ScoreCue(shot=b, at=0.0, change="drop")]
    plan = plan.model_copy(update={"score": Score(mood="calm", cues=cues)})
    layout = FrameLayout.of(plan, 12)
    (scene,) = [s for s in score_scenes(plan, layout) if s.cues]
    (swell, _), (drop, _) = scene.cues
    assert swell < drop
    # `at` 0 is when the shot comes on screen: halfway through the transition into it.
    assert scene.start + drop == pytest.approx(layout.spans[k + 1].shown[0] / 12)


def test_a_stopped_score_needs_an_enter_before_it_swells():
    from scenegen.schemas.checks import _score_errors
    from scenegen.schemas.plan import Score, ScoreCue

    score = Score(mood="calm", cues=[ScoreCue(shot="a", change="stop"), ScoreCue(shot="b", change="swell"),
                                     ScoreCue(shot="c", change="enter"), ScoreCue(shot="c", at=0.5, change="swell")])
    assert _score_errors(score, ["a", "b", "c"]) == [
        ("score.cues[1].change", "the music stopped at an earlier cue; put an enter before this swell")]
    # The first piece is named by the first shot, and plays from its first frame.
    assert [where for where, _ in _score_errors(Score(mood="calm", cues=[ScoreCue(shot="a", at=0.5, change="enter")]),
                                                ["a", "b"])] == ["score.cues[0].at"]


# -- the nodes ----------------------------------------------------------------------------------


def test_editing_one_line_re_renders_its_voice_and_the_mix_and_no_picture(small_run):
    plan = load_plan(small_run.plan, 12)
    k = next(i for i, s in enumerate(plan.shots) if s.dialogue)
    edit_plan(small_run, lambda p: p["shots"][k]["dialogue"][0].update(text="Wait for me."))
    pending = {s.node.id for s in status(small_run) if s.state != "done"}
    report = rerender(small_run)
    assert report.ok
    # The film is remuxed with the new sound (no frame encoded); the documents show the new words.
    expected = {f"voice:{plan.shots[k].id}.1", "mix", "film", "captions", "storyboard", "timeline"}
    assert set(report.executed) == pending == expected


def test_a_blank_line_inside_words_does_not_end_their_subtitle(small_run):
    plan = load_plan(small_run.plan, 12)
    k = next(i for i, s in enumerate(plan.shots) if s.narration)
    edit_plan(small_run, lambda p: p["shots"][k].update(narration="She left at dawn.\n\nShe did not look back."))
    assert rerender(small_run).ok
    blocks = (small_run.root / "shots.srt").read_text().strip().split("\n\n")
    assert all(re.match(r"\d+\n[\d:,]+ --> [\d:,]+\n\S", block) for block in blocks)
    assert "<i>She left at dawn.\nShe did not look back.</i>" in blocks[[b.count("dawn") for b in blocks].index(1)]


def test_renaming_a_speaker_changes_the_words_shown_and_mixes_nothing_again(small_run):
    plan = load_plan(small_run.plan, 12)
    speaker = next(line.speaker for shot in plan.shots for line in shot.dialogue)
    k = next(i for i, c in enumerate(plan.characters) if c.id == speaker)
    edit_plan(small_run, lambda p: p["characters"][k].update(name="Zora"))
    report = rerender(small_run)
    assert report.ok and "mix" not in report.executed and not any(n.startswith("voice:") for n in report.executed)
    assert "ZORA:" in (small_run.root / "shots.srt").read_text()


def test_a_language_espeak_does_not_have_is_refused_before_anything_is_made(tmp_path):
    config = tmp_path / "voices.toml"
    config.write_text('[backends.voice]\nname = "espeak"\nsettings = { language = "xx" }\n')
    result = scenegen("story", "a woman's life", "--shots", "3", "--out", str(tmp_path / "run"), "--config", str(config),
                      *SMALL)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "language 'xx' is not an eSpeak NG language" in result.stderr
    assert not (tmp_path / "run").exists()
    # A silent film runs no voice stage, so its settings refuse nothing; asking for sound does.
    result = scenegen("story", "a woman's life", "--shots", "3", "--out", str(tmp_path / "run"), "--config", str(config),
                      "--no-sound", *SMALL)
    assert result.returncode == 0, result.stderr
    result = scenegen("render", str(tmp_path / "run"), "--sound")
    assert result.returncode == 2 and result.stderr.startswith("error: --sound: ") and "language 'xx'" in result.stderr


def test_a_film_without_sound_has_no_audio_and_no_sound_nodes(tmp_path):
    out = tmp_path / "silent"
    result = scenegen("story", "a woman's life", "--shots", "3", "--out", str(out), "--no-sound", *SMALL)
    assert result.returncode == 0, result.stderr
    with av.open(str(out / "film.mp4")) as container:
        assert not container.streams.audio
    assert not any(kind in result.stdout for kind in ("voice", "score", "mix"))
    assert json.loads((out / "settings.json").read_text())["output"]["sound"] is False


# -- the voices -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def espeak():
    backend = EspeakVoice()
    backend.load()
    yield backend
    backend.release()


def say(backend, path: Path, text: str, kind: str = "feminine", pitch: float = 0.0, pace: float = 1.0, seed: int = 1):
    backend.run(job("voice:s01.1", {"text": text, "voice": {"kind": kind, "pitch": pitch, "pace": pace}}, path, seed=seed))
    return path.read_bytes()


def test_another_espeak_makes_the_voices_stale_and_no_picture(small_run, tmp_path, monkeypatch):
    import shutil

    import espeakng_loader

    settings = json.loads(small_run.settings.read_text())
    settings["backends"]["voice"] = {"name": "espeak"}
    small_run.settings.write_text(json.dumps(settings))
    assert rerender(small_run).ok
    data = tmp_path / "espeak-ng-data"
    shutil.copytree(espeakng_loader.get_data_path(), data)
    monkeypatch.setattr(espeakng_loader, "get_data_path", lambda: str(data))
    small_run.clear_stamp()   # it lists the files the last render read, and the copy is not one of them
    report = rerender(small_run)   # the data's path is in the key too: voiced again from the copy
    assert report.ok and any(node.startswith("voice:") for node in report.executed)
    assert [s.node.id for s in status(small_run) if s.state != "done"] == []
    with open(data / "en_dict", "ab") as dictionary:   # as an upgrade of espeakng-loader would
        dictionary.write(b"\0")
    states = {s.node.id: s.state for s in status(small_run)}
    assert all(state != "done" for node, state in states.items() if node.startswith("voice:"))
    pictures = ("portrait", "keyframe", "clip", "boundary", "segment")
    assert all(state == "done" for node, state in states.items() if node.split(":")[0] in pictures)
    report = rerender(small_run)
    assert report.ok and any(node.startswith("voice:") for node in report.executed)
    assert not any(node.split(":")[0] in pictures for node in report.executed)


def test_a_voice_is_the_same_bytes_whatever_was_said_before(espeak, tmp_path):
    first = say(espeak, tmp_path / "a.wav", "The tide is coming in.")
    say(espeak, tmp_path / "b.wav", "Something else entirely, said louder!", kind="masculine", pitch=0.8)
    assert say(espeak, tmp_path / "c.wav", "The tide is coming in.") == first


def test_each_voice_kind_and_pitch_sounds_different_and_pace_sets_the_length(espeak, tmp_path):
    text = "I have waited for you all my life."
    heard = {(kind, pitch): hashlib.sha256(say(espeak, tmp_path / "v.wav", text, kind, pitch)).hexdigest()
             for kind in ("feminine", "masculine", "childlike") for pitch in (-0.5, 0.5)}
    assert len(set(heard.values())) == 6

    def seconds(pace):
        say(espeak, tmp_path / "p.wav", text, pace=pace)
        with wave.open(str(tmp_path / "p.wav")) as w:
            return w.getnframes() / w.getframerate()
    assert seconds(0.7) > seconds(1.0) * 1.2 > seconds(1.4) * 1.2


def test_a_line_espeak_cannot_say_is_a_clear_error(espeak, tmp_path):
    from scenegen.errors import UserError

    with pytest.raises(UserError, match="voice:s01.1"):
        say(espeak, tmp_path / "x.wav", "   ")


# -- the pad and the mix ----------------------------------------------------------------------------


def test_the_pad_swells_at_its_cue_and_fades_out_at_a_stop(tmp_path):
    params = {"mood": "tense", "seconds": 12.0, "fades_out": True, "cues": [{"at": 4.0, "change": "swell"}]}
    PadScore().run(job("score:s01", params, tmp_path / "pad.wav", seed=3))
    music, rate = read_wav(tmp_path / "pad.wav")
    assert music.shape == (12 * rate, 2)
    before, after = music[2 * rate:4 * rate], music[6 * rate:8 * rate]
    assert rms_db(after) > rms_db(before) + 3
    assert rms_db(music[-rate // 10:]) < rms_db(before) - 25


@pytest.mark.parametrize("cues", [
    [{"at": 0.3, "change": "swell"}],                                        # during the fade in
    [{"at": 5.0, "change": "swell"}, {"at": 5.5, "change": "drop"}],         # a drop mid-swell
    [{"at": 5.0, "change": "drop"}, {"at": 5.2, "change": "swell"}],
])
def test_a_cue_during_a_ramp_moves_the_gain_from_where_it_stands_never_in_a_step(cues):
    from scenegen.modules.score import dynamics

    rate = 1000
    gain = dynamics({"seconds": 10.0, "fades_out": True, "cues": cues}, rate)
    assert np.abs(np.diff(gain)).max() < 0.01


def test_the_mix_ducks_the_score_under_speech_and_meets_the_loudness_target(tmp_path):
    import pyloudnorm

    t = np.arange(10 * 24000) / 24000
    write_wav(tmp_path / "score.wav", np.stack([0.2 * np.sin(2 * np.pi * 220 * t)] * 2, axis=1), 24000)
    write_wav(tmp_path / "voice.wav", np.zeros((2 * 22050, 1)), 22050)   # silence: only the duck is heard
    params = {"fps": 12, "film_frames": 120, "score": [{"node": "score:s01", "start": 0.0}],
              "speech": [{"shot": "s01", "shown_from": 36, "said": [{"node": "voice:s01.1", "speaker": "Ana", "text": "…"}]}]}
    facts = PyAVMix().run(job("mix", params, tmp_path / "mix.m4a",
                              {"score:s01": tmp_path / "score.wav", "voice:s01.1": tmp_path / "voice.wav"}))
    with av.open(str(tmp_path / "mix.m4a")) as container:
        audio = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1).T
    assert abs(len(audio) - 10 * RATE) <= 1024, "the sound lasts as long as the film, to one AAC frame"
    # The voice is said from 3.25 s to 5.25 s; the score is 10 dB down under it.
    under, clear = audio[round(3.6 * RATE):round(4.9 * RATE)], audio[round(7 * RATE):round(9 * RATE)]
    assert rms_db(under) - rms_db(clear) == pytest.approx(-10, abs=0.5)
    assert facts["loudness_lufs"] == pytest.approx(-16, abs=0.1)
    assert pyloudnorm.Meter(RATE).integrated_loudness(audio) == pytest.approx(-16, abs=1.0)


def decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1).T


def test_a_mix_whose_peaks_stand_out_stops_at_the_true_peak_ceiling_instead_of_the_target(tmp_path):
    # A quiet hum with one loud knock: reaching -16 LUFS would push the knock far past full scale.
    t = np.arange(10 * 24000) / 24000
    music = 0.03 * np.sin(2 * np.pi * 220 * t)
    music[120000:120240] = 0.95 * np.sin(2 * np.pi * 1000 * t[:240])
    write_wav(tmp_path / "score.wav", np.stack([music] * 2, axis=1), 24000)
    params = {"fps": 12, "film_frames": 120, "score": [{"node": "score:s01", "start": 0.0}], "speech": []}
    facts = PyAVMix().run(job("mix", params, tmp_path / "mix.m4a", {"score:s01": tmp_path / "score.wav"}))
    assert facts["true_peak_dbtp"] == pytest.approx(-1.0, abs=0.05)
    assert facts["loudness_lufs"] < -20
    audio = decode(tmp_path / "mix.m4a")
    assert loudness(audio, RATE)[0] == pytest.approx(facts["loudness_lufs"], abs=0.3)
    assert 20 * np.log10(np.abs(audio).max()) < -0.5


def test_the_meter_reads_ebu_tech_3341s_tones_and_never_under_reads_a_peak_between_samples():
    tone = lambda db, seconds: 10 ** (db / 20) * np.sin(2 * np.pi * 1000 * np.arange(round(seconds * RATE)) / RATE)
    stereo = lambda signal: np.stack([signal, signal], axis=1)
    # Tech 3341 cases 1, 2 and 4: steady tones, and a -23 LUFS tone between quieter ones that the gates drop.
    assert loudness(stereo(tone(-23, 20)), RATE)[0] == pytest.approx(-23, abs=0.1)
    assert loudness(stereo(tone(-33, 20)), RATE)[0] == pytest.approx(-33, abs=0.1)
    gated = np.concatenate([tone(-72, 10), tone(-36, 10), tone(-23, 60), tone(-36, 10), tone(-72, 10)])
    assert loudness(stereo(gated), RATE)[0] == pytest.approx(-23, abs=0.1)
    assert loudness(np.zeros((RATE, 2)), RATE)[0] is None
    # A tone at a quarter of the rate, 45 degrees off: its samples reach 0.354, the wave itself 0.5.
    between = 0.5 * np.sin(np.pi / 2 * np.arange(RATE) + np.pi / 4)
    assert 0.5 <= loudness(stereo(between), RATE)[1] < 0.5 * 10 ** (1 / 20)
    # A peak in the last, shorter-than-a-block stretch counts too.
    knocked = stereo(tone(-20, 5.05))
    knocked[-100:] = 0.9
    assert loudness(knocked, RATE)[1] >= 0.9



def test_the_timeline_lays_a_line_that_runs_on_beside_the_next_one_where_the_mix_does(tmp_path):
    import opentimelineio as otio

    from scenegen.modules.timeline.otio import OtioTimeline

    write_wav(tmp_path / "long.wav", np.full((3 * 8000, 1), 0.1), 8000)    # 3 s: past its 1 s shot
    write_wav(tmp_path / "short.wav", np.full((8000, 1), 0.1), 8000)
    spans = [{"shot": shot, "frames": 12, "start": start, "overlap_in": 0, "overlap_out": 0, "shown": [start, start + 12],
              "transition": "cut"} for shot, start in (("s01", 0), ("s02", 12), ("s03", 24))]
    said = lambda shot, n: {"shot": shot, "shown_from": n, "said": [{"node": f"voice:{shot}.1", "speaker": "Ana", "text": "…"}]}
    params = {"fps": 12, "spans": spans, "contexts": ["a", "b", "c"], "title": "t", "score": [],
              "clips": ["clip:s01", "clip:s02", "clip:s03"],
              "speech": [said("s01", 0), said("s02", 12), said("s03", 24)]}
    inputs = {"voice:s01.1": tmp_path / "long.wav", "voice:s02.1": tmp_path / "short.wav",
              "voice:s03.1": tmp_path / "short.wav", **{f"clip:{s}": tmp_path / f"{s}.mp4" for s in ("s01", "s02", "s03")}}
    OtioTimeline().run(job("timeline", params, tmp_path / "timeline.otio", inputs))
    timeline = otio.adapters.read_from_file(str(tmp_path / "timeline.otio"))
    laid = {clip.name: (track.name, clip.range_in_parent().start_time.to_seconds())
            for track in timeline.audio_tracks() for clip in track.find_clips()}
    # Each line starts 0.25 s after its shot comes on; s01's plays until 3.25 s, so s02's and
    # then s03's (once s02's has ended) go beside it.
    assert laid == {"s01.1": ("dialogue", 0.25), "s02.1": ("dialogue 2", 1.25), "s03.1": ("dialogue 2", 2.25)}


def test_pieces_back_to_back_share_one_score_track_whatever_their_rounding(tmp_path):
    from scenegen.modules.timeline.otio import OtioTimeline

    # 10.48 + 3.528 is 14.008000000000001 in floating point: still back to back.
    pieces = [(10.48, 3.528, "score:s02", {}, 0.0), (14.008, 2.0, "score:s03", {}, 0.0)]
    inputs = {"score:s02": tmp_path / "a.wav", "score:s03": tmp_path / "b.wav"}
    tracks = OtioTimeline._audio_tracks("score", pieces, job("timeline", {}, tmp_path / "t.otio", inputs), 25)
    assert [track.name for track in tracks] == ["score"]
