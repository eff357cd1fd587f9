"""The contract between the orchestrator and every backend.

A backend makes one kind of node (a portrait, a keyframe, a clip...). The orchestrator
asks it which slice of the plan it reads (`params`), hashes that slice with the
backend's name, code version, settings and the hashes of the upstream artifacts into
the node's key, and later hands it a `Job` to run. A backend only ever sees its own
slice, so it cannot depend on a field the key does not cover.

Constructors must be cheap (the driver builds backends to compute keys); heavy work
such as loading model weights belongs in `load`, which an executor calls once per
worker before the first job, and undoes with `release` when the stage is over.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from scenegen.errors import UserError


@dataclass(frozen=True)
class Job:
    node: str                 # e.g. "keyframe:s03"
    params: dict[str, Any]    # the backend's own slice of the plan, as JSON data
    inputs: dict[str, Path]   # upstream node id -> its artifact
    output: Path              # write the artifact here (a temp path the orchestrator publishes)
    root: Path                # the run directory, for documents that link to artifacts
    seed: int                 # stable across edits of the node; a new take draws a new one
    keep: Path                # a directory for files kept beside the artifact (e.g. every take)


@dataclass(frozen=True)
class StandIn:
    """Another backend of the same kind, and its settings, to run in a backend's place."""

    name: str
    settings: dict[str, Any]
    reason: str               # printed by `scenegen status`


class NoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Backend(ABC):
    kind: ClassVar[str]                 # node kind made: "portrait", "keyframe", "clip", ...
    name: ClassVar[str]                 # registered name: "animatic", "diffusers", ...
    version: ClassVar[str]              # bump whenever the same job would give other bytes
    suffix: ClassVar[str]               # artifact file suffix, e.g. ".png"
    Settings: ClassVar[type[BaseModel]] = NoSettings
    # Whether one instance may run jobs from several threads at once.
    thread_safe: ClassVar[bool] = True
    # Whether a worker of this backend wants a GPU of its own (distributed executors ask for one).
    uses_gpu: ClassVar[bool] = False

    def __init__(self, settings: dict[str, Any] | None = None):
        try:
            self.settings = self.Settings.model_validate(settings or {})
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            message = first["msg"].removeprefix("Value error, ")
            raise UserError(f"settings for {self.kind} backend {self.name!r}: {where}: {message} "
                            f"(settings.json, or [backends.{self.kind}.settings] in a {{config!n}} file)", config=None) from None

    def stand_in(self) -> StandIn | None:
        """The backend to build instead, for settings this one cannot serve (a language a voice does
        not speak); asked once, when the DAG is built, so the whole run uses one or the other."""
        return None

    def check(self, output) -> None:
        """Raise UserError if this backend cannot make this output format (a size a model refuses)."""

    def files(self) -> list[Path]:
        """Files outside the run whose content decides this backend's output (model weights).

        Their content is part of every key, and changing them makes the run stale.
        """
        return []

    def load(self) -> None:
        """Load what jobs need (weights, fonts); called once per worker, and again after `release`."""

    def release(self) -> None:
        """Let go of what `load` took (a pipeline and its device memory), so another stage fits."""

    def footprint(self) -> int:
        """Bytes this backend holds once loaded, for the executor's memory budget: its weights as stored."""
        return sum(path.stat().st_size for path in self.files())

    @abstractmethod
    def params(self, plan, subject, output) -> dict[str, Any]:
        """The slice of the plan this backend reads for `subject`, as JSON data."""

    @abstractmethod
    def run(self, job: Job) -> dict[str, Any] | None:
        """Write the artifact for `job` to `job.output`; return facts worth recording (scores), if any."""
