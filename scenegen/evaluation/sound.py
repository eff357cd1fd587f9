"""What the film's sound track does, per shot, measured from film.mp4 itself.

Per shot: how many things are said, how long their voices last against the time the shot
is on screen (and whether the last word ends before the shot does), the level where speech
is laid and where it is not (RMS, dBFS), and the shot's loudness (EBU R128, LUFS). For the
film: its integrated loudness and true peak (dBTP). Speech is "present" where the level
under a line is above SPEECH_FLOOR and above the level around it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scenegen.media import loudness, read_sound_track
from scenegen.modules.cues import speech_cues, speech_params, line_seconds
from scenegen.schemas import OutputFormat, StoryPlan
from scenegen.schemas.timing import FrameLayout

SPEECH_FLOOR = -40.0   # dBFS: quieter than this under a line, the line is not heard


def sound_facts(plan: StoryPlan, output: OutputFormat, film: Path, artifacts: dict[str, Path]) -> dict | None:
    """Per-shot and film-wide sound facts, or None for a film without a sound track."""
    track = read_sound_track(film)
    if track is None:
        return None
    audio, rate = track[0].astype(np.float64), track[1]
    params = speech_params(plan, output)
    cues = speech_cues(params, line_seconds(params, artifacts))
    speaking = np.zeros(len(audio), bool)
    for cue in cues:
        speaking[round(cue["start"] * rate):round(cue["end"] * rate)] = True

    shots = []
    for span in FrameLayout.of(plan, output.fps).spans:
        start, end = (round(frame / output.fps * rate) for frame in span.shown)
        said = [c for c in cues if c["shot"] == span.shot_id]
        window, speech = audio[start:end], speaking[start:end]
        under, around = _rms_db(window[speech]), _rms_db(window[~speech])
        shots.append({
            "shot": span.shot_id,
            "said": len(said),
            "speech_seconds": round(sum(c["end"] - c["start"] for c in said), 3),
            "shown_seconds": round((span.shown[1] - span.shown[0]) / output.fps, 3),
            "speech_ends_in_shot": all(c["end"] * output.fps <= span.shown[1] for c in said) if said else None,
            "speech_rms_db": under,
            "rest_rms_db": around,
            "speech_present": (under is not None and under > SPEECH_FLOOR and (around is None or under > around))
            if said else None,
            "loudness_lufs": loudness(window, rate)[0],
        })
    film_loudness, true_peak = loudness(audio, rate)
    return {"shots": shots, "film": {"loudness_lufs": film_loudness, "true_peak_dbtp": _db(true_peak)}}


def _rms_db(samples: np.ndarray) -> float | None:
    return _db(np.sqrt(np.mean(np.square(samples)))) if samples.size else None


def _db(value: float) -> float | None:
    return round(float(20 * np.log10(value)), 2) if value > 0 else None
