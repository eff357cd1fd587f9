"""Shot throughput of the Ray executor with 1 and 2 workers, on the CPU-bound animatic clip backend.

    python bench/ray_scaling.py [--shots 12] [--out docs/benchmarks.md]

Plans and draws the keyframes once, in process, then hands every clip job of the run
to a Ray executor with one worker and again with two (a fresh pool each time, on one
local Ray instance), and times until all clips are written. Appends the table to the
given markdown file.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from concurrent.futures import wait
from pathlib import Path

import ray

from scenegen.executors.ray_cluster import RayExecutor
from scenegen.modules.script import ScriptRequest
from scenegen.modules.script.offline import OfflinePlanner
from scenegen.orchestrator.executor import InProcessExecutor, Task
from scenegen.orchestrator.graph import RenderGraph
from scenegen.orchestrator.render import bring_up_to_date, load_run, status, task_for
from scenegen.orchestrator.store import RunDir
from scenegen.schemas.files import write_plan


def clip_tasks(run: RunDir) -> list[Task]:
    """Every clip job of a run whose keyframes exist, as the scheduler would submit them."""
    plan, settings = load_run(run)
    graph = RenderGraph(plan, settings)
    done = {s.node.id: s.record for s in status(run) if s.record}
    hashes = {node_id: record.sha256 for node_id, record in done.items()}
    keys = {node_id: record.key for node_id, record in done.items()}
    return [task_for(run, graph, node, graph.key(node, hashes), keys) for node in graph.order if node.kind == "clip"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shots", type=int, default=12)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args()

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    with tempfile.TemporaryDirectory() as tmp:
        run = RunDir(Path(tmp) / "run")
        run.root.mkdir()
        write_plan(run.plan, OfflinePlanner().plan(ScriptRequest("a woman's life", args.shots)))
        run.lock()
        executor = InProcessExecutor(workers=2)
        bring_up_to_date(run, executor)  # everything once, so keyframes exist and every actor's imports are warm
        executor.close()
        tasks = clip_tasks(run)
        seconds = {}
        for workers in (1, 2):
            shutil.rmtree(run.root / "artifacts" / "clip")
            executor = RayExecutor(workers=workers)
            wait([executor.submit(tasks[0])])  # start the pool before the clock
            start = time.perf_counter()
            wait([executor.submit(task) for task in tasks])
            seconds[workers] = time.perf_counter() - start
            executor.close()
        run.unlock()
    ray.shutdown()

    rate = {w: len(tasks) / s for w, s in seconds.items()}
    report = f"""
## Ray executor: shot throughput (`bench/ray_scaling.py`)

One run of `python bench/ray_scaling.py --shots {args.shots}`: the {len(tasks)} animatic clip jobs of a
{args.shots}-shot plan (640x360, 24 fps) on a local Ray instance, timed after each pool started.
Machine: {platform.machine()}, {os.cpu_count()} cores, Ray {ray.__version__}.

| workers | wall time | clips per second | speed-up |
|---|---|---|---|
| 1 | {seconds[1]:.2f} s | {rate[1]:.2f} | 1 |
| 2 | {seconds[2]:.2f} s | {rate[2]:.2f} | {rate[2] / rate[1]:.2f} |
"""
    with args.out.open("a") as out:
        out.write(report)
    print(report)


if __name__ == "__main__":
    main()
