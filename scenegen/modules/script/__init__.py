"""Script stage: one sentence becomes a `StoryPlan`.

The plan is the DAG's input, not a node of it: users edit it and every node's key
hashes its own slice. A script backend gets a `ScriptRequest` and returns a validated
plan; one that calls a service may cache its answers under `request.workdir`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from scenegen.schemas import StoryPlan


@dataclass(frozen=True)
class ScriptRequest:
    sentence: str
    shots: int
    seed: int = 0
    workdir: Path | None = None   # where a backend may keep answers between attempts


class ScriptBackend(ABC):
    name: ClassVar[str]
    description: str   # shown to the user: which planner made the plan

    def __init__(self, settings: dict[str, Any] | None = None):
        self.settings = settings or {}

    @abstractmethod
    def plan(self, request: ScriptRequest) -> StoryPlan:
        """A plan with exactly `request.shots` shots that passes `plan_errors`."""
