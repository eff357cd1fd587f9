"""Pydantic schemas: the story plan users edit and the render settings of a run."""

from scenegen.schemas.plan import (
    CameraAngle,
    CameraMovement,
    CameraPose,
    Character,
    Contrast,
    Grammar,
    KeyLight,
    LayoutItem,
    Lighting,
    Location,
    Mood,
    Season,
    Shot,
    ShotSize,
    StoryPlan,
    TimeOfDay,
    Transition,
    TransitionType,
)
from scenegen.schemas.settings import BackendChoice, OutputFormat, RenderSettings

__all__ = [
    "BackendChoice", "CameraAngle", "CameraMovement", "CameraPose", "Character", "Contrast", "Grammar",
    "KeyLight", "LayoutItem", "Lighting", "Location", "Mood", "Season", "OutputFormat", "RenderSettings", "Shot", "ShotSize",
    "StoryPlan", "TimeOfDay", "Transition", "TransitionType",
]
