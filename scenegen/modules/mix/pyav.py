"""The mix: the dialogue at its place in the film, the score under it, one AAC track.

1. Each piece of the score is laid at its start. The dialogue stem is each voice where
   `speech_cues` puts it (its shot's utterances one after the other, from just after the
   shot comes on screen); or, with `dialogue = "clip"`, each speaking shot's clip's own
   sound track, from where the shot comes on screen to where it goes off (its frames the
   film shows, cut at the middle of each transition), in mono as the voices are.
2. The score ducks under the dialogue: it falls by `duck_db` a little before a voice (or
   a clip's track) starts and comes back a little after it ends, over ramps, never in a
   step. A clip's track ducks the score over all of its span: where in it the model put
   the words is not known.
3. The whole is brought to the loudness target (EBU R128 integrated loudness, measured by
   FFmpeg's ebur128 filter), unless that would push the true peak over the ceiling; then
   the ceiling wins, and the loudness it reached is what the node reports.
4. It is written as AAC in an .m4a as long as the film to the sample, which the film
   copies in packet for packet.

A line edited re-voices that line and re-runs this node: a few seconds of the film's
whole sound, never a frame of picture.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from scenegen.media import loudness, read_sound_track, read_wav, resample, write_aac
from scenegen.modules.cues import speech_cues, speech_params
from scenegen.orchestrator.backend import Backend, Job
from scenegen.schemas import OutputFormat, StoryPlan
from scenegen.schemas.timing import FrameLayout, score_scenes

RATE = 48000
# A duck is a step DUCK_LEAD outside each voice, smoothed into a DUCK_RAMP ramp centred on
# it: the score is fully down by the first word and starts back up at the last.
DUCK_LEAD = 0.15
DUCK_RAMP = 0.3


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    loudness_lufs: float = Field(-16.0, ge=-40.0, le=-5.0, description="integrated loudness target "
                                 "(EBU R128 measure; -16 for web video, -23 for broadcast)")
    true_peak_dbtp: float = Field(-1.0, ge=-20.0, le=0.0, description="the ceiling for the true peak "
                                  "(between samples too, measured 4x oversampled as EBU R128 asks)")
    score_db: float = Field(-8.0, ge=-40.0, le=6.0, description="the score's level against the voices")
    duck_db: float = Field(-10.0, ge=-40.0, le=0.0, description="how far the score falls under speech")
    bit_rate: int = Field(160_000, ge=32_000, le=512_000, description="AAC bits per second")


class PyAVMix(Backend):
    kind: ClassVar[str] = "mix"
    name: ClassVar[str] = "pyav"
    version: ClassVar[str] = "3"
    suffix: ClassVar[str] = ".m4a"
    Settings: ClassVar[type[BaseModel]] = Settings

    def params(self, plan: StoryPlan, subject: None, output: OutputFormat) -> dict[str, Any]:
        layout = FrameLayout.of(plan, output.fps)
        speech = speech_params(plan, output)
        # Where each voice lands, not who says what: a renamed speaker or a reworded line
        # reaches the mix through its voice node's bytes alone, if at all.
        # Nor, where the clips say the lines, the lines at all: the clip's track is laid whole.
        speech["speech"] = [{**shot, "said": [] if "track" in shot else [{"node": said["node"]} for said in shot["said"]]}
                            for shot in speech["speech"]]
        return {**speech, "film_frames": layout.total_frames,
                "score": [{"node": scene.node, "start": scene.start} for scene in score_scenes(plan, layout)]}

    def run(self, job: Job) -> dict[str, Any]:
        p, s = job.params, self.settings
        length = p["film_frames"] * RATE // p["fps"]
        music = np.zeros((length, 2), np.float32)
        for piece in p["score"]:
            _lay(music, _audio(read_wav(job.inputs[piece["node"]])), piece["start"])
        stems = _dialogue(p, job.inputs)
        speech = np.zeros(length, np.float32)
        for start, audio in stems:
            _lay(speech, audio, start)
        spoken = [(start, start + len(audio) / RATE) for start, audio in stems]
        mixed = music * (_decibels(s.score_db) * _ducking(spoken, length, s.duck_db))[:, None] + speech[:, None]

        measured, peak = loudness(mixed, RATE)
        gain = 1.0
        if measured is not None:
            gain = min(_decibels(s.loudness_lufs - measured), _decibels(s.true_peak_dbtp) / peak)
        mixed *= np.float32(gain)
        write_aac(job.output, mixed, RATE, s.bit_rate)
        return {"loudness_lufs": round(measured + 20 * np.log10(gain), 2) if measured is not None else None,
                "true_peak_dbtp": round(20 * np.log10(peak * gain), 2) if peak else None,
                "speech_seconds": round(sum(end - start for start, end in spoken), 3)}


def _dialogue(p: dict[str, Any], inputs: dict) -> list[tuple[float, np.ndarray]]:
    """The dialogue stem's parts, each (film seconds where it starts, mono samples at RATE):
    every voice where its cue is, and every speaking shot's clip track where the shot is on screen."""
    fps, parts = p["fps"], []
    voices = {said["node"]: _audio(read_wav(inputs[said["node"]]))[:, 0] for shot in p["speech"] for said in shot["said"]}
    for cue in speech_cues(p, {node: len(audio) / RATE for node, audio in voices.items()}):
        parts.append((cue["start"], voices[cue["node"]]))
    for shot in p["speech"]:
        if "track" in shot:
            track = shot["track"]
            sound = read_sound_track(inputs[track["node"]])
            if sound is None:
                raise ValueError(f"{inputs[track['node']]} has no sound track to say shot {shot['shot']}'s lines")
            first = track["first"] * RATE // fps
            audio = _audio(sound).mean(axis=1)[first:first + track["frames"] * RATE // fps]
            parts.append((shot["shown_from"] / fps, audio))
    return parts


def _audio(sound: tuple[np.ndarray, int]) -> np.ndarray:
    samples, rate = sound
    return resample(samples, rate, RATE)


def _lay(track: np.ndarray, audio: np.ndarray, start: float) -> None:
    """Add `audio` into `track` from `start` seconds, cut at the track's end."""
    at = round(start * RATE)
    part = audio[:max(0, len(track) - at)]
    track[at:at + len(part)] += part


def _ducking(spoken: list[tuple[float, float]], length: int, duck_db: float) -> np.ndarray:
    """The score's gain per sample: 1, falling to `duck_db` around each (start, end) of dialogue, over ramps."""
    speaking = np.zeros(length, np.float32)
    for start, end in spoken:
        speaking[max(0, round((start - DUCK_LEAD) * RATE)):round((end + DUCK_LEAD) * RATE)] = 1.0
    # A moving average turns each step into a ramp DUCK_RAMP long (a running sum: linear time).
    width = round(DUCK_RAMP * RATE)
    sums = np.concatenate([[0.0], np.cumsum(np.pad(speaking, (width // 2, width - width // 2)), dtype=np.float64)])
    ramped = ((sums[width:] - sums[:-width]) / width)[:length].astype(np.float32)
    return 1.0 - (1.0 - _decibels(duck_db)) * ramped


def _decibels(db: float) -> float:
    return 10 ** (db / 20)
