"""`scenegen`: plan, render, inspect and retake multi-shot films.

Importing this module is cheap: typer only. The orchestrator, the schemas and every
backend are imported inside the command that needs them, so `render` on an up-to-date
run answers in a fraction of a second, and nothing here imports torch.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer

from scenegen.entry import said_up_to_date
from scenegen.errors import UserError

app = typer.Typer(
    help="One sentence in, a multi-shot film out. Plans are JSON you can edit; renders recompute only what an edit touches.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Jobs = Annotated[int, typer.Option("--jobs", "-j", min=1, help="Nodes computed at once (default: CPU cores).")]
Fps = Annotated[Optional[int], typer.Option(min=1, max=120, help="Frames per second of every clip and the film.")]
Size = Annotated[Optional[str], typer.Option(help="Frame size WIDTHxHEIGHT, both even, e.g. 640x360.")]
Seed = Annotated[int, typer.Option(min=0, help="Seed of the plan: the same sentence, shots and seed give the same film.")]
Shots = Annotated[int, typer.Option(min=1, max=200, help="Number of shots, 1 to 200.")]
Config = Annotated[Optional[Path], typer.Option(help="A preset (gpu-80gb, gpu-80gb-fast, gpu-24gb) or a TOML file shaped like settings.json: output, device and backends.KIND tables.")]
Backend = Annotated[Optional[str], typer.Option(help="Backend of every generative stage (portrait, keyframe, clip, boundary), e.g. animatic or diffusers; settings come from --config.")]
GENERATIVE = ("portrait", "keyframe", "clip", "boundary")
ExecutorName = Annotated[str, typer.Option("--executor", help="Who runs the jobs: inprocess (threads here) or ray (actors on a Ray instance or cluster).")]
Address = Annotated[Optional[str], typer.Option(help="Ray cluster to join: auto, or ray://HOST:PORT (default: start a local instance).")]
Planner = Annotated[str, typer.Option(help="Script backend: offline, llm, or auto (llm when --llm-model or --llm-base-url is set).")]
LlmBaseUrl = Annotated[Optional[str], typer.Option(envvar="SCENEGEN_LLM_BASE_URL", help="OpenAI-compatible server, e.g. http://localhost:8000/v1 (default: OpenAI's).")]
LlmModel = Annotated[Optional[str], typer.Option(envvar="SCENEGEN_LLM_MODEL", help="Model name the server knows.")]
LlmApiKey = Annotated[Optional[str], typer.Option(envvar=["SCENEGEN_LLM_API_KEY", "OPENAI_API_KEY"], help="API key, if the server wants one.", show_default=False)]
LlmTimeout = Annotated[Optional[float], typer.Option(envvar="SCENEGEN_LLM_TIMEOUT", help="Seconds to wait for one answer.")]
LlmRetries = Annotated[Optional[int], typer.Option(envvar="SCENEGEN_LLM_RETRIES", help="HTTP retries per request (429, 5xx, timeouts).")]
LlmMode = Annotated[Optional[str], typer.Option(envvar="SCENEGEN_LLM_MODE", help="auto, json_schema (server enforces the schema) or json_object (JSON mode + schema in the prompt).")]


def friendly(command):
    """Show a user's mistake as one line on stderr with exit code 2, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except UserError as e:
            typer.secho(f"error: {e}", fg="red", err=True)
            raise typer.Exit(e.exit_code) from None
        except KeyboardInterrupt:
            typer.secho("interrupted; run the same command again to carry on where it stopped", fg="yellow", err=True)
            raise typer.Exit(130) from None

    return wrapper


def _size(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    match = re.fullmatch(r"(\d+)x(\d+)", value.strip().lower())
    if not match:
        raise UserError(f"--size {value!r}: expected WIDTHxHEIGHT, e.g. 640x360")
    width, height = int(match[1]), int(match[2])
    if width % 2 or height % 2 or min(width, height) < 64:
        raise UserError(f"--size {value}: width and height must be even (yuv420p video) and at least 64")
    return width, height


def _slug(sentence: str) -> str:
    # Letters of any script: a sentence in Chinese or French names its own folder, not "film".
    return re.sub(r"[\W_]+", "-", sentence.lower()).strip("-")[:48].strip("-") or "film"


def _write_plan(sentence: str, shots: int, seed: int, planner: str, llm: dict, path: Path) -> None:
    from scenegen.modules.script import ScriptRequest
    from scenegen.orchestrator.registry import backend_class
    from scenegen.schemas.files import write_plan

    llm = {key: value for key, value in llm.items() if value is not None}
    if planner == "auto":
        planner = "llm" if "model" in llm or "base_url" in llm else "offline"
    backend = backend_class("script", planner)(llm if planner == "llm" else None)
    plan = backend.plan(ScriptRequest(sentence=sentence, shots=shots, seed=seed, workdir=path.parent))
    write_plan(path, plan)
    typer.echo(f"Planned {len(plan.shots)} shots with {backend.description}: {path}")


def _update_settings(run, fps: int | None, size: str | None, config: Path | None = None, backend: str | None = None) -> None:
    """Apply --config, --backend, then --fps/--size to the run's settings.json (creating it), saying what changed."""
    from scenegen.atomic import write_atomic
    from scenegen.orchestrator.render import load_settings
    from scenegen.schemas.files import parse, read_config

    settings = load_settings(run)
    output = settings.output.model_dump()
    merged = settings.model_dump(mode="json")
    if config is not None:
        overrides = read_config(config)
        merged = parse(type(settings), {"output": {**output, **overrides.get("output", {})},
                                        "device": {**merged["device"], **overrides.get("device", {})},
                                        "backends": {**merged["backends"], **overrides.get("backends", {})}},
                       config).model_dump(mode="json")
    if backend is not None:
        for kind in GENERATIVE:
            same = merged["backends"][kind]["name"] == backend
            merged["backends"][kind] = {"name": backend, "settings": merged["backends"][kind]["settings"] if same else {}}
    wanted = dict(merged["output"])
    if fps is not None:
        wanted["fps"] = fps
    if (dims := _size(size)) is not None:
        wanted["width"], wanted["height"] = dims

    updated = parse(type(settings), {**merged, "output": wanted}, Path("--size/--fps"))
    _check_backends(updated)
    for field in ("fps", "width", "height"):
        if run.settings.exists() and output[field] != wanted[field]:
            typer.echo(f"{field}: {output[field]} -> {wanted[field]}")
    if not run.settings.exists() or updated != settings:
        write_atomic(run.settings, updated.model_dump_json(indent=2) + "\n")


def _check_backends(settings) -> None:
    """Build and check each backend, so bad settings (missing weights, a size a model refuses) stop us
    before settings.json changes or any work starts."""
    from scenegen.orchestrator.registry import backend_class

    for kind, choice in settings.backends.items():
        backend_class(kind, choice.name)(choice.settings).check(settings.output)


def _render_dag(run, jobs: int | None, executor_name: str, address: str | None):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from scenegen.orchestrator import render as rendering
    from scenegen.orchestrator.registry import executor_class

    class Bars(rendering.Progress):
        def __init__(self, bars: Progress):
            self.bars, self.tasks = bars, {}

        def submitted(self, node) -> None:
            if node.kind not in self.tasks:
                self.tasks[node.kind] = self.bars.add_task(node.kind, total=0)
            task = self.tasks[node.kind]
            self.bars.update(task, total=self.bars.tasks[task].total + 1)

        def finished(self, node, ok: bool) -> None:
            self.bars.advance(self.tasks[node.kind])

    class Lines(rendering.Progress):
        """Where no one watches bars (a pipe, a log file): one line as each stage finishes."""

        def __init__(self):
            self.started, self.counts, self.said = time.perf_counter(), Counter(), set()

        def submitted(self, node) -> None:
            self.counts[node.kind] += 1

        def stages(self, running, waiting) -> None:
            for kind in [k for k in self.counts if k not in running | waiting | self.said]:
                self.said.add(kind)
                typer.echo(f"{kind}: {self.counts[kind]} done ({time.perf_counter() - self.started:.1f} s)", err=True)

    executor = executor_class(executor_name)(workers=jobs or os.cpu_count() or 1, address=address)
    columns = (TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        console = Console(stderr=True)
        if not console.is_terminal:
            return rendering.render(run, executor, Lines())
        with Progress(*columns, console=console, transient=True) as bars:
            return rendering.render(run, executor, Bars(bars))
    finally:
        executor.close()


def _render(run, jobs: int | None, executor_name: str = "inprocess", address: str | None = None) -> None:
    start = time.perf_counter()
    if address and executor_name != "ray":
        raise UserError("--address joins a Ray cluster; use it with --executor ray")
    if executor_name != "inprocess":
        from scenegen.orchestrator.registry import executor_class

        executor_class(executor_name)  # a typo or a missing extra fails now, not after the lock
    run.lock()
    try:
        # Checked before importing the orchestrator: an up-to-date run answers at once.
        if said_up_to_date(run, start):
            return
        report = _render_dag(run, jobs, executor_name, address)
    finally:
        run.unlock()
    seconds = time.perf_counter() - start
    if not report.executed:
        typer.echo(f"Nothing recomputed: all {report.reused} nodes were up to date ({seconds:.2f} s).")
    elif report.reused:
        shown = ", ".join(report.executed[:12]) + (", ..." if len(report.executed) > 12 else "")
        typer.echo(f"Recomputed {len(report.executed)} nodes ({shown}); reused {report.reused}; {seconds:.1f} s.")
    else:
        from scenegen.schemas.settings import DEFAULT_BACKENDS

        kinds = Counter(node_id.split(":")[0] for node_id in report.executed)
        counts = ", ".join(f"{kinds[kind]} {kind}" for kind in DEFAULT_BACKENDS if kind in kinds)
        typer.echo(f"Computed {len(report.executed)} nodes ({counts}) in {seconds:.1f} s.")
    if not report.ok:
        for node_id, error in report.failed.items():
            typer.secho(f"failed: {node_id}: {error}", fg="red", err=True)
        typer.secho(f"{len(report.failed)} node(s) failed and {len(report.skipped)} waited on them; "
                    f"`scenegen status {run.root}` shows them, and `scenegen render {run.root}` retries them.",
                    fg="red", err=True)
        raise typer.Exit(1)
    typer.echo(f"Film: {run.root / 'film.mp4'}   storyboard: {run.root / 'storyboard.html'}")
    if report.inputs_changed:
        typer.secho(f"{run.plan.name} or {run.settings.name} changed during this render, which used them as they "
                    f"were when it started; `scenegen render {run.root}` renders the change.", fg="yellow", err=True)


@app.command()
@friendly
def story(
    sentence: Annotated[str, typer.Argument(help="What the film is about, e.g. \"a woman's life\".")],
    shots: Shots = 12,
    out: Annotated[Optional[Path], typer.Option(help="Run directory (default: runs/<sentence>).")] = None,
    seed: Seed = 0,
    fps: Fps = None,
    size: Size = None,
    config: Config = None,
    backend: Backend = None,
    planner: Planner = "auto",
    llm_base_url: LlmBaseUrl = None,
    llm_model: LlmModel = None,
    llm_api_key: LlmApiKey = None,
    llm_timeout: LlmTimeout = None,
    llm_retries: LlmRetries = None,
    llm_mode: LlmMode = None,
    jobs: Jobs = None,
) -> None:
    """Plan a film from SENTENCE and render it."""
    from scenegen.orchestrator.store import RunDir

    if not sentence.strip():
        raise UserError("SENTENCE is empty: say what the film is about, e.g. scenegen story \"a woman's life\"")
    run = RunDir(out or Path("runs") / _slug(sentence))
    _size(size)
    if run.root.exists() and not run.root.is_dir():
        raise UserError(f"--out {run.root}: a file is there, not a folder; choose another --out")
    if run.plan.exists():
        raise UserError(f"{run.plan} already holds a plan; re-render it with `scenegen render {run.root}`, "
                        "or choose another --out")
    made = not run.root.exists()
    run.root.mkdir(parents=True, exist_ok=True)
    try:
        _update_settings(run, fps, size, config, backend)
        llm = dict(base_url=llm_base_url, model=llm_model, api_key=llm_api_key, timeout=llm_timeout,
                   retries=llm_retries, mode=llm_mode)
        _write_plan(sentence, shots, seed, planner, llm, run.plan)
    except BaseException:
        # Nothing is left behind of a story that never got a plan.
        if made:
            shutil.rmtree(run.root, ignore_errors=True)
        raise
    _render(run, jobs)


@app.command()
@friendly
def plan(
    sentence: Annotated[str, typer.Argument(help="What the film is about.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Plan file to write.")],
    shots: Shots = 12,
    seed: Seed = 0,
    planner: Planner = "auto",
    llm_base_url: LlmBaseUrl = None,
    llm_model: LlmModel = None,
    llm_api_key: LlmApiKey = None,
    llm_timeout: LlmTimeout = None,
    llm_retries: LlmRetries = None,
    llm_mode: LlmMode = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a plan for SENTENCE without rendering it."""
    if output.exists() and not force:
        raise UserError(f"{output} exists; pass --force to replace it, or choose another -o")
    output.parent.mkdir(parents=True, exist_ok=True)
    llm = dict(base_url=llm_base_url, model=llm_model, api_key=llm_api_key, timeout=llm_timeout,
               retries=llm_retries, mode=llm_mode)
    _write_plan(sentence, shots, seed, planner, llm, output)


@app.command()
@friendly
def render(
    target: Annotated[Path, typer.Argument(help="A run directory, or a plan file to render.")],
    out: Annotated[Optional[Path], typer.Option(help="Run directory for a plan file (default: beside it, named after it).")] = None,
    fps: Fps = None,
    size: Size = None,
    config: Config = None,
    backend: Backend = None,
    jobs: Jobs = None,
    executor: ExecutorName = "inprocess",
    address: Address = None,
) -> None:
    """Compute whatever is missing or stale; reuse everything else."""
    from scenegen.orchestrator.store import RunDir

    if target.is_dir():
        run = RunDir(target)
        if not run.plan.exists():
            raise UserError(f"{target}: no plan.json here; give a run directory made by `scenegen story` or a plan file")
    elif target.is_file():
        run = _adopt_plan(target, out)
    else:
        raise UserError(f"{target}: no such file or directory")
    if any(option is not None for option in (fps, size, config, backend)):
        _update_settings(run, fps, size, config, backend)
    _render(run, jobs, executor, address)


def _adopt_plan(source: Path, out: Path | None):
    """The run directory for a plan file, with the plan copied in, never over a plan edited there."""
    from scenegen.atomic import write_atomic
    from scenegen.orchestrator.store import RunDir
    from scenegen.schemas.files import SCHEMA_FILE, plan_schema, read_json

    read_json(source)  # a readable error now beats a copied broken file
    if source.name == "plan.json" and out is None:
        return RunDir(source.parent)
    run = RunDir(out or source.with_suffix(""))
    new = source.read_bytes()
    adopted = run.state / "adopted-plan.sha256"
    if run.plan.exists() and run.plan.read_bytes() != new:
        current = hashlib.sha256(run.plan.read_bytes()).hexdigest()
        if not adopted.exists() or adopted.read_text().strip() != current:
            raise UserError(f"{run.plan} differs from {source} and was edited in place; "
                            f"render {run.root} itself, or move it away first")
        typer.echo(f"Updating {run.plan} from {source}")
    write_atomic(run.plan, new)
    write_atomic(run.root / SCHEMA_FILE, plan_schema())
    write_atomic(adopted, hashlib.sha256(new).hexdigest())
    return run


@app.command()
@friendly
def status(run_dir: Annotated[Path, typer.Argument(help="A run directory.")]) -> None:
    """Show each node as done, stale, missing or failed, and what `render` would compute."""
    from rich.console import Console
    from rich.table import Table

    from scenegen.orchestrator.render import status as node_states
    from scenegen.orchestrator.store import RunDir

    run = RunDir(run_dir)
    if not run.plan.exists():
        raise UserError(f"{run_dir}: no plan.json here")
    states = node_states(run)
    table = Table(title=str(run_dir))
    for column in ("kind", "done", "stale", "missing", "failed"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    kinds = list(dict.fromkeys(s.node.kind for s in states))
    for kind in kinds:
        counts = [sum(1 for s in states if s.node.kind == kind and s.state == st) for st in ("done", "stale", "missing", "failed")]
        table.add_row(kind, *[str(c) if c else "·" for c in counts])
    Console().print(table)
    for s in states:
        # Gated nodes report their takes: which were tried, how they scored, which one is used.
        takes = s.record.facts.get("takes") if s.record else None
        if takes:
            tried = "; ".join(f"take {t['take']} (seed {t['seed']}): "
                              + ", ".join(f"{k} {v:.3f}" for k, v in t["scores"].items() if v is not None)
                              + (" passed" if t["passed"] else "") for t in takes)
            typer.echo(f"  {s.node.id}: using take {s.record.facts['chosen']} of {len(takes)} [{tried}]")
    todo = [s for s in states if s.state != "done"]
    for s in todo:
        detail = f"  {s.error}" if s.error else ""
        typer.echo(f"  {s.state:<8} {s.node.id}{detail}")
    if todo:
        typer.echo(f"`scenegen render {run_dir}` will compute these {len(todo)} nodes; "
                   "stale ones waiting on an upstream node may turn out unchanged and be reused.")
    else:
        typer.echo(f"Everything is up to date ({len(states)} nodes).")


@app.command()
@friendly
def redo(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    shot: Annotated[str, typer.Option(help="Shot number (1-based) or shot id.")],
    seed: Annotated[Optional[int], typer.Option(min=0, help="Take seed (default: the next one).")] = None,
    jobs: Jobs = None,
) -> None:
    """Render a new take of one shot: a new seed for its keyframe and clip."""
    from scenegen.orchestrator.render import load_run
    from scenegen.orchestrator.store import RunDir
    from scenegen.schemas.files import write_plan

    run = RunDir(run_dir)
    plan, _ = load_run(run)
    index = next((i for i, s in enumerate(plan.shots) if s.id == shot or str(s.index) == shot), None)
    if index is None:
        raise UserError(f"--shot {shot!r}: no such shot in {run.plan}; use a number 1..{len(plan.shots)} or a shot id")
    old = plan.shots[index]
    take = seed if seed is not None else (old.seed or 0) + 1
    shots = list(plan.shots)
    shots[index] = old.model_copy(update={"seed": take})
    write_plan(run.plan, plan.model_copy(update={"shots": shots}))
    typer.echo(f"Shot {old.index} ({old.id}): take seed {old.seed if old.seed is not None else 'none'} -> {take}")
    _render(run, jobs)


@app.command(name="eval")
@friendly
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="A rendered run directory.")],
    clip: Annotated[Optional[Path], typer.Option(help="CLIP model directory (e.g. openai/clip-vit-large-patch14, downloaded).")] = None,
    face_model: Annotated[Optional[Path], typer.Option(help="insightface ArcFace ONNX file (buffalo_l/w600k_r50.onnx).")] = None,
    face_detector: Annotated[Optional[Path], typer.Option(help="insightface detector ONNX file (buffalo_l/det_10g.onnx).")] = None,
    config: Config = None,
) -> None:
    """Measure a run: per-domain CLIP, face and style consistency, PSNR, SEINE's transition criteria."""
    from scenegen.evaluation.models import EvalSettings
    from scenegen.evaluation.run import evaluate as measure, write_report
    from scenegen.orchestrator.store import RunDir
    from scenegen.schemas.files import parse, read_config

    values = read_config(config).get("eval", {}) if config else {}
    values |= {k: str(v) for k, v in {"clip": clip, "face_model": face_model, "face_detector": face_detector}.items() if v}
    if "clip" not in values:
        raise UserError("eval needs a CLIP model: --clip DIR, or clip under [eval] in a --config file")
    settings = parse(EvalSettings, values, config or Path("--clip/--face-model"))
    run = RunDir(run_dir)
    if not run.plan.exists():
        raise UserError(f"{run_dir}: no plan.json here")
    metrics = measure(run, settings)
    write_report(run, metrics)
    film = metrics["film"]
    typer.echo(f"Wrote {run.root / 'metrics.json'} and {run.root / 'report.html'}")
    for key in ("clip_character", "clip_background", "sc_within", "sc_cross", "fc_within", "fc_cross", "psnr_within"):
        value = film[key]
        typer.echo(f"  {key:<16} {'n/a' if value is None else f'{value:.4f}'}")


@app.command()
def schema() -> None:
    """Print the JSON Schema of plan files."""
    from scenegen.schemas.files import plan_schema

    sys.stdout.write(plan_schema())


def main() -> None:
    app()
