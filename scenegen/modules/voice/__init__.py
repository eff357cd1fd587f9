"""Voice stage: one node per thing said (a shot's narration, each of its lines), a WAV of it.

A voice node reads only its words and the speaker's voice, so editing one line re-voices
that line and nothing else; where it lands in the film is the mix's business.
"""

from typing import Any, ClassVar

from scenegen.orchestrator.backend import Backend
from scenegen.schemas import OutputFormat, StoryPlan
from scenegen.schemas.plan import voice_of
from scenegen.schemas.timing import Utterance


class VoiceBackend(Backend):
    """Writes `job.output` as a WAV file: mono, 16-bit, at the backend's own sample rate,
    as long as the words take (the mix resamples and places it)."""

    kind: ClassVar[str] = "voice"
    suffix: ClassVar[str] = ".wav"

    def params(self, plan: StoryPlan, said: Utterance, output: OutputFormat) -> dict[str, Any]:
        return {"text": said.text, "voice": voice_of(plan, said.speaker).model_dump(mode="json")}
