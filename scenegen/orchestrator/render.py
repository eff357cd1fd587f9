"""Scheduling: compute what is missing or stale, reuse the rest, record results.

Nodes are visited in topological order. A node whose upstream artifacts all exist gets
its key; if a record for that key exists the node is reused, otherwise it is sent to
the executor as soon as its inputs exist. A node that fails is recorded as failed; its
independent siblings still run, and only its dependants are skipped.
"""

from __future__ import annotations

import sys
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from scenegen.errors import UserError
from scenegen.orchestrator.backend import Job
from scenegen.orchestrator.executor import Executor, Result, Task
from scenegen.orchestrator.graph import Node, RenderGraph
from scenegen.orchestrator.registry import available, backend_class
from scenegen.orchestrator.store import EXPORTS, Record, RunDir
from scenegen.schemas.files import load_plan, parse, read_json
from scenegen.schemas.plan import StoryPlan
from scenegen.schemas.settings import RenderSettings


@dataclass
class Report:
    executed: list[str] = field(default_factory=list)   # node ids computed, in completion order
    reused: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # node id -> error line
    skipped: list[str] = field(default_factory=list)      # waiting on a failed node
    up_to_date: bool = False                              # nothing was stale: no DAG was even built
    inputs_changed: bool = False                          # plan or settings saved while rendering

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped


class Progress:
    """Callbacks for a progress display; the default shows nothing."""

    def submitted(self, node: Node) -> None: ...
    def finished(self, node: Node, ok: bool) -> None: ...
    def stages(self, running: set[str], waiting: set[str]) -> None:
        """After every change, as `Executor.stages`: a submitted kind in neither set is finished."""


def load_settings(run: RunDir) -> RenderSettings:
    if not run.settings.exists():
        return RenderSettings()
    return parse(RenderSettings, read_json(run.settings), run.settings)


def load_run(run: RunDir) -> tuple[StoryPlan, RenderSettings]:
    if not run.plan.is_file():  # e.g. RUN/plan.json given where RUN was meant
        raise UserError(f"{run.root}: no plan.json here; give a run directory made by `scenegen story`")
    settings = load_settings(run)
    for kind, choice in settings.backends.items():
        # Checked here, not when settings load: a change of backend or config may be about to replace the name.
        if choice.name not in available(kind):
            try:
                backend_class(kind, choice.name)
            except UserError as e:
                raise UserError(f"{run.settings}: backends.{kind}.name: {e}") from None
    return load_plan(run.plan, settings.output.fps, run.settings if run.settings.exists() else None), settings


def bring_up_to_date(run: RunDir, executor: Executor, progress: Progress | None = None) -> Report:
    """Bring every node of the run up to date; the run directory must be locked.

    The nodes rendered are those of the plan and settings as they were when the render
    started; an edit saved meanwhile leaves its nodes stale for the next render.
    """
    if run.stamp_is_current():
        return Report(up_to_date=True)
    run.clear_stamp()
    # Digest before reading: an edit between the two can only make the stamp too old, never too new.
    inputs = run.inputs_digest()
    plan, settings = load_run(run)
    graph = RenderGraph(plan, settings)
    executor.set_memory_budget(int(settings.device.memory_budget_gb * 2**30))
    hashes: dict[str, str] = {}
    keys: dict[str, str] = {}
    report = _schedule(run, graph, executor, progress or Progress(), hashes, keys)
    done = [node for node in graph.order if node.id in keys]
    for node in done:
        if node.kind in EXPORTS:
            run.export(_artifact(run, graph, node, keys[node.id]), EXPORTS[node.kind])
    report.inputs_changed = run.inputs_digest() != inputs
    if report.ok and not report.inputs_changed:
        outside = [Path(sys.modules[type(b).__module__].__file__) for b in graph.backends.values()]
        outside += Path(__file__).parents[1].rglob("*.py")  # not via `import scenegen`, whose Run imports this module
        # Weights are checked like code: changed in place, they make the run stale.
        outside += [path for paths in graph.files.values() for path in paths]
        files = [run.plan, *(run.root / name for name in EXPORTS.values())]
        if run.settings.exists():
            files.append(run.settings)
        for node in done:
            files += [run.record_path(node.kind, node.subject, keys[node.id]), _artifact(run, graph, node, keys[node.id])]
        run.write_stamp(inputs, outside, files)
    return report


def _artifact(run: RunDir, graph: RenderGraph, node: Node, key: str) -> Path:
    return run.artifact_path(node.kind, node.subject, key, graph.backends[node.kind].suffix)


def task_for(run: RunDir, graph: RenderGraph, node: Node, key: str, keys: dict[str, str]) -> Task:
    """The task that computes `node` under `key`; `keys` holds the keys of its finished inputs."""
    backend = graph.backends[node.kind]
    job = Job(
        node=node.id,
        params=node.params,
        inputs={i: _artifact(run, graph, graph.node(i), keys[i]) for i in node.inputs},
        output=run.temp_path(key, backend.suffix),
        root=run.root,
        seed=node.seed,
        keep=run.keep_dir(node.kind, node.subject, key),
    )
    return Task(kind=node.kind, backend=backend.name, settings=backend.settings.model_dump(mode="json"), job=job,
                artifact=_artifact(run, graph, node, key))


def _schedule(run: RunDir, graph: RenderGraph, executor: Executor, progress: Progress,
              hashes: dict[str, str], keys: dict[str, str]) -> Report:
    """Run what is not done; `hashes` and `keys` fill with the content hash and key of every finished node."""
    report = Report()
    running: dict[Future, tuple[Node, str]] = {}
    waiting = list(graph.order)

    def dispatch() -> None:
        still_waiting = []
        for node in waiting:
            if any(i in report.failed or i in report.skipped for i in node.inputs):
                report.skipped.append(node.id)
                continue
            if not all(i in hashes for i in node.inputs):
                still_waiting.append(node)
                continue
            key = graph.key(node, hashes)
            record = run.record(node.kind, node.subject, key)
            if record:
                hashes[node.id], keys[node.id] = record.sha256, key
                report.reused += 1
                continue
            running[executor.submit(task_for(run, graph, node, key, keys))] = (node, key)
            progress.submitted(node)
        waiting[:] = still_waiting
        kinds = {n.kind for n, _ in running.values()}, {n.kind for n in waiting}
        executor.stages(*kinds)
        progress.stages(*kinds)

    dispatch()
    while running:
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            node, key = running.pop(future)
            try:
                result: Result = future.result()
            except Exception as e:  # a backend's failure is data for status, not a crash
                error = f"{type(e).__name__}: {e}".splitlines()[0]
                run.write_failure(node.kind, node.subject, key, node.id, error + "\n" + traceback.format_exc())
                report.failed[node.id] = error
                progress.finished(node, ok=False)
                continue
            artifact = _artifact(run, graph, node, key)
            run.write_record(node.kind, node.subject, Record(
                node=node.id, key=key, artifact=str(artifact.relative_to(run.root)),
                sha256=result.sha256, bytes=result.bytes, seconds=round(result.seconds, 4), facts=result.facts,
            ))
            hashes[node.id], keys[node.id] = result.sha256, key
            report.executed.append(node.id)
            progress.finished(node, ok=True)
        dispatch()
    return report


# -- status ------------------------------------------------------------------------------

State = Literal["done", "stale", "missing", "failed"]


@dataclass(frozen=True)
class NodeState:
    node: Node
    state: State
    error: str | None = None
    record: Record | None = None


def status(run: RunDir) -> list[NodeState]:
    """Each node's state; everything not `done` is what the next `render` computes."""
    plan, settings = load_run(run)
    graph = RenderGraph(plan, settings)
    hashes: dict[str, str] = {}
    states = []
    for node in graph.order:
        history = run.has_history(node.kind, node.subject)
        if not all(i in hashes for i in node.inputs):
            # Upstream must run first; its result decides this node's key.
            states.append(NodeState(node, "stale" if history else "missing"))
            continue
        key = graph.key(node, hashes)
        record = run.record(node.kind, node.subject, key)
        if record:
            hashes[node.id] = record.sha256
            export = EXPORTS.get(node.kind)
            if export and not (run.root / export).is_file():
                states.append(NodeState(node, "missing", error=f"{export} was removed; render copies it back",
                                        record=record))
            elif export and not run.exported(export, record):
                states.append(NodeState(node, "stale", record=record,
                                        error=f"{export} is an earlier render's; render copies this one out"))
            else:
                states.append(NodeState(node, "done", record=record))
        elif error := run.failure(node.kind, node.subject, key):
            states.append(NodeState(node, "failed", error=error.splitlines()[0]))
        else:
            states.append(NodeState(node, "stale" if history else "missing"))
    return states
