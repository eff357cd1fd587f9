"""Ray executor: jobs on worker actors across the GPUs of one machine or a cluster.

A Ray task on a GPU gets a fresh worker process each time, which would reload a
model for every shot; so each backend gets a pool of actors instead, each loading
the backend once (`BackendWorker.__init__`) and serving job after job. A backend
that `uses_gpu` gets one actor per GPU in the cluster, each actor owning one GPU
(Ray sets its CUDA_VISIBLE_DEVICES); others get one actor per `workers` (default:
the cluster's CPUs), each holding one CPU.

Actors hold their GPU or CPU for life, so this executor, not Ray, decides which pools
live at once: a pool starts only when its actors fit beside the live pools, and its
jobs wait in the driver until then. Left to Ray, the next stage's waiting actors would
take the device that a crashed actor frees before that actor restarts, and the stage
the next one waits for would never finish. A finished stage's pool goes. A stage with
nothing running (its next nodes wait for another stage) lends its devices to a pool
waiting for room, and starts again (reloading its backend) when it has work.

Workers write artifacts atomically into the run directory, which must be on storage
every node shares; they return the artifact's hash and only the driver records the
node as done. An actor that dies (a crash, an out-of-memory kill, a lost node) is
restarted and its jobs are retried, `retries` times at most; a job that still fails
is a failed node like any other.
"""

from __future__ import annotations

import os
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial

import ray

from scenegen.orchestrator.executor import Executor, Task, execute
from scenegen.orchestrator.registry import backend_class


@ray.remote
class BackendWorker:
    def __init__(self, kind: str, name: str, settings: dict):
        self.backend = backend_class(kind, name)(settings)
        self.backend.load()

    def run(self, task: Task):
        return execute(self.backend, task)


@dataclass
class Pool:
    """One backend's actors, or, until it starts, the jobs waiting for them."""

    kind: str
    backend: str
    settings: dict
    resource: str                    # "GPU" or "CPU": each actor holds one for life
    size: int
    actors: list = field(default_factory=list)
    given: list[list[Future]] = field(default_factory=list)   # per actor, the jobs sent to it
    waiting: list[tuple[Task, Future]] = field(default_factory=list)


def _settle(target: Future, source: Future) -> None:
    if source.exception() is not None:
        target.set_exception(source.exception())
    else:
        target.set_result(source.result())


class RayExecutor(Executor):
    def __init__(self, workers: int | None = None, address: str | None = None, retries: int = 2):
        self._started_ray = not ray.is_initialized()
        if self._started_ray:
            # address None starts a local instance on this machine's CPUs and GPUs.
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        self.workers = workers
        self.retries = retries
        self.pools: dict[tuple, Pool] = {}

    def submit(self, task: Task) -> Future:
        pool = self._pool(task)
        future: Future = Future()
        pool.waiting.append((task, future))
        if pool.actors or self._fits(pool):
            self._start(pool)
        return future

    def stages(self, running: set[str], waiting: set[str]) -> None:
        for pool in self._live():
            if pool.kind not in running | waiting:
                self._stop(pool)
        for pool in [p for p in self.pools.values() if p.waiting]:
            idle = [p for p in self._live() if p.kind not in running]
            while not self._fits(pool) and idle:
                self._stop(idle.pop())
            if self._fits(pool):
                self._start(pool)

    def close(self) -> None:
        for pool in self.pools.values():
            for _, future in pool.waiting:
                future.cancel()
            self._stop(pool)
        if self._started_ray:
            ray.shutdown()

    def _pool(self, task: Task) -> Pool:
        spec = (task.kind, task.backend, repr(sorted(task.settings.items())))
        if spec not in self.pools:
            cluster = ray.cluster_resources()
            if backend_class(task.kind, task.backend).uses_gpu and cluster.get("GPU", 0) >= 1:
                resource, size = "GPU", int(cluster["GPU"])
            else:
                resource, size = "CPU", self.workers or int(cluster.get("CPU", 1))
            self.pools[spec] = Pool(task.kind, task.backend, task.settings, resource, size)
        return self.pools[spec]

    def _live(self) -> list[Pool]:
        return [p for p in self.pools.values() if p.actors]

    def _fits(self, pool: Pool) -> bool:
        # A pool larger than the cluster still starts when it has the resource to itself.
        held = sum(p.size for p in self._live() if p.resource == pool.resource)
        return held == 0 or held + pool.size <= ray.cluster_resources().get(pool.resource, 0)

    def _start(self, pool: Pool) -> None:
        """Start the pool's actors if need be and send them its waiting jobs, least busy actor first."""
        if not pool.actors:
            # A GPU actor asks for no CPU: Ray would otherwise want one to place it, and the CPU
            # pools live beside it (voices, score) may hold them all, which `_fits` cannot see.
            resources = {"num_gpus": 1, "num_cpus": 0} if pool.resource == "GPU" else {"num_cpus": 1}
            worker = BackendWorker.options(**resources, max_restarts=self.retries, max_task_retries=self.retries)
            pool.actors = [worker.remote(pool.kind, pool.backend, pool.settings) for _ in range(pool.size)]
            pool.given = [[] for _ in pool.actors]
        pool.given = [[f for f in jobs if not f.done()] for jobs in pool.given]
        for task, future in pool.waiting:
            least_busy = min(range(pool.size), key=lambda i: len(pool.given[i]))
            pool.given[least_busy].append(future)
            pool.actors[least_busy].run.remote(task).future().add_done_callback(partial(_settle, future))
        pool.waiting.clear()

    def _stop(self, pool: Pool) -> None:
        for actor in pool.actors:
            ray.kill(actor)
        pool.actors, pool.given = [], []
