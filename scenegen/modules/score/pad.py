"""A temp score: a synthesized pad that follows the mood, so the film has music under it
before anyone composes any. It is honest about what it is: chords of additive sine
tones on a loop, no melody, no model; the storyboard and the film's audio track call it
a temp score.

Each mood is a chord progression (the chords as semitones above the key), how long a
chord lasts and how bright the tone is (the weight of the upper partials). The seed
picks the key, so two pieces in one mood are not the same pad. A chord sounds the same
each time it comes back, so each is synthesized once and laid down again, crossfaded
into the next.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from scenegen.media import write_wav
from scenegen.modules.score import ScoreBackend, dynamics
from scenegen.orchestrator.backend import Job

RATE = 24000           # the pad's partials stay under 3 kHz
CROSSFADE = 1.0        # seconds one chord overlaps the next
DETUNE = 2 ** (4 / 1200)   # the right channel's tones are 4 cents sharp: a wide, slow beating
KEYS = (48, 50, 52, 53, 55)   # MIDI notes the seed picks the key from (C3 to G3)
MOODS: dict[str, dict[str, Any]] = {
    # I - vi - IV - V with sevenths: settled, unhurried.
    "calm": {"chords": [(0, 7, 11, 16), (-3, 4, 7, 12), (-7, 4, 9, 12), (-5, 2, 7, 11)], "seconds": 4.0, "bright": 0.3},
    # I - V - vi - IV, quicker and brighter.
    "joyful": {"chords": [(0, 7, 12, 16), (-5, 7, 11, 14), (-3, 4, 9, 12), (-7, 5, 9, 12)], "seconds": 2.0, "bright": 0.55},
    # IV - I - V - vi: lifting toward the tonic.
    "hopeful": {"chords": [(-7, 5, 9, 12), (0, 7, 12, 16), (-5, 7, 11, 14), (-3, 4, 9, 12)], "seconds": 3.0, "bright": 0.45},
    # i - bII - i - a diminished chord: low, close and unresolved.
    "tense": {"chords": [(0, 3, 7, 12), (1, 5, 8, 13), (0, 3, 7, 12), (-1, 2, 5, 8)], "seconds": 3.0, "bright": 0.5},
    # i - VI - III - VII in the minor.
    "melancholic": {"chords": [(0, 7, 12, 15), (-4, 3, 8, 12), (-9, 3, 7, 10), (-2, 5, 10, 14)], "seconds": 4.0, "bright": 0.25},
    # i(add9) - bVI(maj7 #11): a floating, unresolved pair.
    "mysterious": {"chords": [(0, 7, 14, 15), (-4, 7, 10, 14)], "seconds": 5.0, "bright": 0.35},
}


class PadScore(ScoreBackend):
    name: ClassVar[str] = "pad"
    version: ClassVar[str] = "2"

    def run(self, job: Job) -> dict[str, Any]:
        mood = MOODS[job.params["mood"]]
        key = KEYS[job.seed % len(KEYS)]
        count = round(job.params["seconds"] * RATE)
        step = round(mood["seconds"] * RATE)
        fade = round(CROSSFADE * RATE)
        chords = [_chord(key, notes, step + fade, fade, mood["bright"]) for notes in mood["chords"]]
        music = np.zeros((count + step + fade, 2), np.float32)
        for n, start in enumerate(range(0, count, step)):
            music[start:start + step + fade] += chords[n % len(chords)]
        music = music[:count] * dynamics(job.params, RATE)[:, None]
        write_wav(job.output, music, RATE)
        return {"seconds": round(count / RATE, 3), "key": key}


def _chord(key: int, notes: tuple[int, ...], length: int, fade: int, bright: float) -> np.ndarray:
    """One chord, `length` samples of stereo, rising and falling over `fade` samples at each end."""
    t = np.arange(length, dtype=np.float32) / RATE
    sound = np.zeros((length, 2), np.float32)
    for semitones in notes:
        frequency = 440.0 * 2 ** ((key + semitones - 69) / 12)
        for partial, weight in ((1, 1.0), (2, bright), (3, bright * bright)):
            for channel, detune in ((0, 1.0), (1, DETUNE)):
                sound[:, channel] += weight * np.sin(np.float32(2 * np.pi * frequency * partial * detune) * t)
    ramp = np.sin(np.linspace(0, np.pi / 2, fade, dtype=np.float32)) ** 2   # with its neighbour's, sums to one
    sound[:fade] *= ramp[:, None]
    sound[-fade:] *= ramp[::-1, None]
    return sound * np.float32(0.12 / len(notes))
