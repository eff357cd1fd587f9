"""Executors run jobs; the scheduler in `render.py` decides which and records results.

An executor receives a `Task` (which backend, with which settings, and the job) and
returns a future of its `Result`. `execute` is the whole worker side: run the backend,
fsync and rename the artifact into place, hash it. Only the driver writes records.
The in-process executor runs tasks on a thread pool; a distributed executor (Ray)
implements the same two methods with one actor per device holding loaded backends.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenegen.atomic import publish
from scenegen.orchestrator.backend import Backend, Job
from scenegen.orchestrator.registry import backend_class
from scenegen.orchestrator.store import file_sha256


@dataclass(frozen=True)
class Task:
    kind: str
    backend: str
    settings: dict[str, Any]
    job: Job
    artifact: Path            # where the finished artifact goes


@dataclass(frozen=True)
class Result:
    sha256: str
    bytes: int
    seconds: float
    facts: dict


def execute(backend: Backend, task: Task) -> Result:
    start = time.perf_counter()
    job = task.job
    job.output.unlink(missing_ok=True)
    try:
        facts = backend.run(job) or {}
        if not job.output.is_file():
            raise RuntimeError(f"{task.kind} backend {task.backend!r} wrote no artifact for {job.node}")
        task.artifact.parent.mkdir(parents=True, exist_ok=True)
        publish(job.output, task.artifact)
    finally:
        job.output.unlink(missing_ok=True)
    return Result(file_sha256(task.artifact), task.artifact.stat().st_size, time.perf_counter() - start, facts)


class Executor(ABC):
    @abstractmethod
    def submit(self, task: Task) -> Future:
        """Start the task; the future yields a `Result` or raises the backend's error."""

    def stages(self, running: set[str], waiting: set[str]) -> None:
        """Called after every change: the kinds with nodes running, and those with nodes still waiting.

        A submitted kind in neither is finished: its workers (and their devices) may go. A
        kind only waiting is idle: an executor short of devices may lend them meanwhile.
        """

    def close(self) -> None:
        """Release workers and loaded backends."""


class InProcessExecutor(Executor):
    """Runs tasks on `workers` threads of this process, loading each backend once."""

    def __init__(self, workers: int = 2, address: str | None = None):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scenegen")
        self._backends: dict[str, tuple[Backend, threading.Lock | None]] = {}
        self._loading = threading.Lock()

    def _backend(self, task: Task) -> tuple[Backend, threading.Lock | None]:
        spec = f"{task.kind}.{task.backend}:{sorted(task.settings.items())}"
        with self._loading:
            if spec not in self._backends:
                backend = backend_class(task.kind, task.backend)(task.settings)
                backend.load()
                # A backend that is not thread-safe (one GPU pipeline) runs one job at a time.
                self._backends[spec] = (backend, None if backend.thread_safe else threading.Lock())
            return self._backends[spec]

    def _run(self, task: Task) -> Result:
        backend, lock = self._backend(task)
        if lock is None:
            return execute(backend, task)
        with lock:
            return execute(backend, task)

    def submit(self, task: Task) -> Future:
        return self._pool.submit(self._run, task)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._backends.clear()
