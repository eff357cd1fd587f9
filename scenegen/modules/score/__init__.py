"""Score stage: one node per piece of music (from an enter cue to the next enter or stop), a WAV of it.

A piece reads only its mood, its length and its own cues, so moving a shot earlier in the
film moves the music with it in the mix without composing it again.
"""

from typing import Any, ClassVar

import numpy as np

from scenegen.orchestrator.backend import Backend
from scenegen.schemas import OutputFormat, StoryPlan
from scenegen.schemas.timing import ScoreScene


class ScoreBackend(Backend):
    """Writes `job.output` as a WAV file: stereo, 16-bit, at the backend's own sample rate,
    exactly `seconds` long; it swells and drops at its cues (seconds from its start) and,
    where `fades_out`, fades to silence by its end."""

    kind: ClassVar[str] = "score"
    suffix: ClassVar[str] = ".wav"

    def params(self, plan: StoryPlan, scene: ScoreScene, output: OutputFormat) -> dict[str, Any]:
        return {"mood": scene.mood, "seconds": scene.seconds, "fades_out": scene.fades_out,
                "cues": [{"at": at, "change": change} for at, change in scene.cues]}


# Levels a piece moves between, as gains, and how long it takes to get there (seconds).
LEVELS = {"enter": 1.0, "swell": 1.6, "drop": 0.45}
RAMPS = {"enter": 1.5, "swell": 2.0, "drop": 1.0}
FADE_OUT = 2.5   # to silence, at a stop
HANDOVER = 0.3   # out, at the next piece's enter: just enough to never click


def dynamics(params: dict[str, Any], rate: int) -> np.ndarray:
    """The piece's gain per sample: it fades in, moves to each cue's level, and fades at its end.

    Every score backend applies this to what it makes, so a swell is as loud, and a stop as
    long, whichever made the music.
    """
    count = round(params["seconds"] * rate)
    t = np.arange(count) / rate
    gain = np.minimum(1.0, t / RAMPS["enter"]) * LEVELS["enter"]
    for cue in params["cues"]:
        target, ramp = LEVELS[cue["change"]], RAMPS[cue["change"]]
        after = t >= cue["at"]
        if not after.any():
            continue
        # From wherever the gain stands when the cue comes (a ramp may be half way): never a step.
        reached = gain[after][0]
        gain[after] = reached + (target - reached) * np.minimum(1.0, (t[after] - cue["at"]) / ramp)
    tail = min(FADE_OUT if params["fades_out"] else HANDOVER, params["seconds"] / 2)
    gain *= np.clip((params["seconds"] - t) / tail, 0.0, 1.0)
    return gain.astype(np.float32)
