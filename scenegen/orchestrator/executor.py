"""Executors run jobs; the scheduler in `render.py` decides which and records results.

An executor receives a `Task` (which backend, with which settings, and the job) and
returns a future of its `Result`. `execute` is the whole worker side: run the backend,
fsync and rename the artifact into place, hash it. Only the driver writes records.
The in-process executor runs tasks on a thread pool; a distributed executor (Ray)
implements the same two methods with one actor per device holding loaded backends.
"""

from __future__ import annotations

import heapq
import itertools
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
from scenegen.schemas.settings import DEFAULT_BACKENDS

# Node kinds in the order their stages run; device jobs of an earlier stage go first.
STAGES = list(DEFAULT_BACKENDS)


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

    def set_memory_budget(self, budget: int) -> None:
        """Bytes of device memory that backends of several kinds may hold loaded together (0: one kind)."""

    def close(self) -> None:
        """Release workers and loaded backends."""


class InProcessExecutor(Executor):
    """Runs tasks in this process: CPU work on `workers` threads, device work on one lane.

    Backends that `uses_gpu` share the device, so their jobs run one at a time on a thread
    of their own, the earliest stage first (portraits, keyframes, clips, boundaries: the
    order of `STAGES`). A DAG's stages therefore follow one another on the device: each
    kind's backend loads once, when its first job runs, and is released as soon as the
    scheduler reports the kind finished. Before a device backend loads, the others still
    loaded are released unless all of them fit the memory budget together (their
    `footprint`); with the default budget of 0 one pipeline is resident at a time. A
    re-render loads only the kinds that have stale nodes, since only they get jobs.

    Device jobs never overlapping also keeps renders repeatable: a job computes alone on
    the device, whatever else the run is doing.
    """

    def __init__(self, workers: int = 2, address: str | None = None):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scenegen")
        self._backends: dict[str, Backend] = {}   # by spec: made on first submit, loaded on first run
        # A backend that is not thread-safe (one pipeline) runs one job at a time.
        self._locks: dict[str, threading.Lock | None] = {}
        self._loaded: set[str] = set()
        self._loading = threading.Lock()          # one load or release at a time
        self._budget = 0
        self._queue: list[tuple[int, int, tuple[str, Task], Future]] = []   # device jobs by (stage, arrival)
        self._arrivals = itertools.count()
        self._queued = threading.Condition()
        self._closing = False
        self._lane = threading.Thread(target=self._device_lane, name="scenegen-device", daemon=True)
        self._lane.start()

    def submit(self, task: Task) -> Future:
        spec = f"{task.kind}.{task.backend}:{sorted(task.settings.items())}"
        if spec not in self._backends:
            backend = backend_class(task.kind, task.backend)(task.settings)
            self._locks[spec] = None if backend.thread_safe else threading.Lock()
            self._backends[spec] = backend
        if not self._backends[spec].uses_gpu:
            return self._pool.submit(self._run, spec, task)
        future: Future = Future()
        with self._queued:
            heapq.heappush(self._queue, (STAGES.index(task.kind), next(self._arrivals), (spec, task), future))
            self._queued.notify()
        return future

    def _device_lane(self) -> None:
        while True:
            with self._queued:
                while not self._queue and not self._closing:
                    self._queued.wait()
                if self._closing:
                    return
                _, _, (spec, task), future = heapq.heappop(self._queue)
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(self._run(spec, task))
                except BaseException as e:  # the scheduler records it; the lane goes on
                    future.set_exception(e)

    def _run(self, spec: str, task: Task) -> Result:
        backend = self._backends[spec]
        with self._loading:
            if spec not in self._loaded:
                if backend.uses_gpu:
                    self._make_room(backend)
                backend.load()
                self._loaded.add(spec)
        lock = self._locks[spec]
        if lock is None:
            return execute(backend, task)
        with lock:
            return execute(backend, task)

    def _make_room(self, incoming: Backend) -> None:
        """Unload the loaded device backends unless all of them fit the budget beside `incoming`."""
        resident = [spec for spec in self._loaded if self._backends[spec].uses_gpu]
        if resident and incoming.footprint() + sum(self._backends[s].footprint() for s in resident) > self._budget:
            for spec in resident:
                self._unload(spec)

    def _unload(self, spec: str) -> None:
        if spec in self._loaded:
            self._loaded.discard(spec)
            self._backends[spec].release()

    def stages(self, running: set[str], waiting: set[str]) -> None:
        for spec in [s for s, backend in self._backends.items() if backend.kind not in running | waiting]:
            with self._loading:
                self._unload(spec)
            del self._backends[spec], self._locks[spec]

    def set_memory_budget(self, budget: int) -> None:
        self._budget = budget

    def close(self) -> None:
        with self._queued:
            self._closing = True
            for *_, future in self._queue:
                future.cancel()
            self._queue.clear()
            self._queued.notify()
        self._lane.join()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.stages(running=set(), waiting=set())
