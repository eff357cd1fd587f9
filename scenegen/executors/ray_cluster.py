"""Ray executor: jobs on worker actors across the GPUs of one machine or a cluster.

A Ray task on a GPU gets a fresh worker process each time, which would reload a
model for every shot; so each backend gets a pool of actors instead, each loading
the backend once (`BackendWorker.__init__`) and serving job after job. A backend
that `uses_gpu` gets one actor per GPU in the cluster, each actor owning one GPU
(Ray sets its CUDA_VISIBLE_DEVICES); others get one actor per `workers` (default:
the cluster's CPUs). Actors hold their GPU for life, so when the scheduler says a
stage is finished (`release`), its actors go and the next stage's can start.

Workers write artifacts atomically into the run directory, which must be on storage
every node shares; they return the artifact's hash and only the driver records the
node as done. An actor that dies (a crash, an out-of-memory kill, a lost node) is
restarted and its jobs are retried, `retries` times at most; a job that still fails
is a failed node like any other.
"""

from __future__ import annotations

import os
from concurrent.futures import Future

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

    def where(self) -> dict:
        return {"pid": os.getpid(), "gpus": [str(g) for g in ray.get_gpu_ids()],
                "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}


class RayExecutor(Executor):
    def __init__(self, workers: int | None = None, address: str | None = None, retries: int = 2):
        self._started_ray = not ray.is_initialized()
        if self._started_ray:
            # address None starts a local instance on this machine's CPUs and GPUs.
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        self.workers = workers
        self.retries = retries
        self.pools: dict[tuple, list] = {}
        self.busy: dict[int, int] = {}

    def _pool(self, task: Task) -> list:
        spec = (task.kind, task.backend, repr(sorted(task.settings.items())))
        if spec not in self.pools:
            backend = backend_class(task.kind, task.backend)
            resources = ray.cluster_resources()
            if backend.uses_gpu and resources.get("GPU", 0) >= 1:
                count, options = int(resources["GPU"]), {"num_gpus": 1}
            else:
                count, options = self.workers or int(resources.get("CPU", 1)), {"num_cpus": 1}
            worker = BackendWorker.options(**options, max_restarts=self.retries, max_task_retries=self.retries)
            self.pools[spec] = [worker.remote(task.kind, task.backend, task.settings) for _ in range(count)]
        return self.pools[spec]

    def submit(self, task: Task) -> Future:
        # The least busy actor of the backend's pool takes the job.
        actor = min(self._pool(task), key=lambda a: self.busy.get(id(a), 0))
        self.busy[id(actor)] = self.busy.get(id(actor), 0) + 1
        future = actor.run.remote(task).future()
        future.add_done_callback(lambda _: self.busy.__setitem__(id(actor), self.busy[id(actor)] - 1))
        return future

    def release(self, kind: str) -> None:
        for spec in [spec for spec in self.pools if spec[0] == kind]:
            for actor in self.pools.pop(spec):
                ray.kill(actor)

    def close(self) -> None:
        for kind in {spec[0] for spec in self.pools}:
            self.release(kind)
        if self._started_ray:
            ray.shutdown()
