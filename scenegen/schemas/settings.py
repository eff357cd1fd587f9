"""Render settings of a run: output format and the backend chosen for each node kind.

They live in `settings.json` beside `plan.json`, so `render RUN_DIR` reproduces what
`story` started. A backend's own settings are validated by the backend itself.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# The node kinds of the DAG, in the order stages run, with their default backend.
DEFAULT_BACKENDS: dict[str, str] = {
    "portrait": "animatic",
    "set": "animatic",
    "keyframe": "animatic",
    "clip": "animatic",
    "retake": "animatic",
    "boundary": "animatic",
    "voice": "hibari",
    "score": "pad",
    "segment": "pyav",
    "mix": "pyav",
    "film": "pyav",
    "captions": "srt",
    "timeline": "otio",
    "storyboard": "html",
}


class BackendChoice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    settings: dict[str, Any] = Field(default_factory=dict)


class OutputFormat(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fps: int = Field(24, ge=1, le=120)
    width: int = Field(640, ge=64, le=7680)
    height: int = Field(360, ge=64, le=4320)
    burn_captions: bool = Field(False, description="also draw each shot's caption into the film's frames "
                                                   "(they are always its subtitle track and shots.srt)")
    sound: bool = Field(True, description="give the film a sound track: its narration and lines voiced, "
                                          "and the score under them")
    dialogue: Literal["voices", "clip"] = Field(
        "voices", description="who says the lines and narration: a voice node each (voices), or each shot's clip, "
                              "in its own sound track, where its clip backend makes one (clip, e.g. ltx2)")

    @field_validator("width", "height")
    @classmethod
    def _even(cls, value: int) -> int:
        # yuv420p halves both dimensions for chroma.
        if value % 2:
            raise ValueError(f"must be even for yuv420p video, got {value}")
        return value


class DeviceSettings(BaseModel):
    # An infinite budget would be written to settings.json as null, which no reader takes.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    # The bound is past any machine's memory, and keeps the budget in bytes a finite number.
    memory_budget_gb: float = Field(
        0.0, ge=0, le=1_000_000, description="GPU memory that pipelines of several stages may hold loaded together; "
                               "0 keeps one stage's pipeline loaded at a time")


class RenderSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    output: OutputFormat = OutputFormat()
    device: DeviceSettings = DeviceSettings()
    backends: dict[str, BackendChoice] = Field(
        default_factory=lambda: {kind: BackendChoice(name=name) for kind, name in DEFAULT_BACKENDS.items()}
    )

    @field_validator("backends")
    @classmethod
    def _known_kinds(cls, value: dict[str, BackendChoice]) -> dict[str, BackendChoice]:
        unknown = set(value) - set(DEFAULT_BACKENDS)
        if unknown:
            raise ValueError(f"unknown node kind(s) {sorted(unknown)}; known: {', '.join(DEFAULT_BACKENDS)}")
        # A settings file may name only the kinds it changes.
        return {kind: value.get(kind, BackendChoice(name=name)) for kind, name in DEFAULT_BACKENDS.items()}
