"""`scenegen`: plan, render, inspect and retake multi-shot films.

Importing this module is cheap: typer only. The orchestrator, the schemas and every
backend are imported inside the command that needs them, so `render` on an up-to-date
run answers in a fraction of a second, and nothing here imports torch.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer
import typer.core
from typer.core import _click as click  # typer's own copy of click, whose exceptions its commands raise

from scenegen.errors import UserError

class OneLineErrors(typer.core.TyperGroup):
    """A usage mistake (an option's value, a missing argument) as one line on stderr, exit 2, like every other."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as e:
            typer.echo(e.ctx.get_help())
            code = e.exit_code
        except click.ClickException as e:
            help_at = f"; see `{e.ctx.command_path} --help`" if getattr(e, "ctx", None) else ""
            typer.secho(f"error: {' '.join(e.format_message().split()).rstrip('.')}{help_at}", fg="red", err=True)
            code = e.exit_code
        except typer.Abort:
            code = 1
        if standalone_mode:
            sys.exit(code or 0)
        return code


app = typer.Typer(
    cls=OneLineErrors,
    help="One sentence in, a multi-shot film out. Plans are JSON you can edit; renders recompute only what an edit touches.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Jobs = Annotated[int, typer.Option("--jobs", "-j", min=1, help="Nodes computed at once (default: CPU cores).")]
Fps = Annotated[Optional[int], typer.Option(min=1, max=120, help="Frames per second of every clip and the film.")]
BurnCaptions = Annotated[Optional[bool], typer.Option(
    "--burn-captions/--no-burn-captions",
    help="Also draw each caption into the frames, after the camera move (captions are always film.mp4's subtitle track and shots.srt).",
    show_default=False)]
Sound = Annotated[Optional[bool], typer.Option(
    "--sound/--no-sound", help="Give the film a sound track: the narration and lines voiced, the score under them (default: on).",
    show_default=False)]
Size = Annotated[Optional[str], typer.Option(help="Frame size WIDTHxHEIGHT, both even, e.g. 640x360.")]
Seed = Annotated[int, typer.Option(min=0, help="Seed of the plan: the same sentence, shots and seed give the same film.")]
Shots = Annotated[int, typer.Option(min=1, max=200, help="Number of shots, 1 to 200.")]
Config = Annotated[Optional[Path], typer.Option(help="A preset (gpu-80gb, gpu-80gb-fast, gpu-24gb) or a TOML file shaped like settings.json: output, device and backends.KIND tables.")]
Backend = Annotated[Optional[str], typer.Option(help="Backend of every generative stage (portrait, set, keyframe, clip, retake, boundary), e.g. animatic or diffusers; settings come from --config.")]
ExecutorName = Annotated[str, typer.Option("--executor", help="Who runs the jobs: inprocess (threads here) or ray (actors on a Ray instance or cluster).")]
Address = Annotated[Optional[str], typer.Option(help="Ray cluster to join: auto, or ray://HOST:PORT (default: start a local instance).")]
PlannerName = Annotated[str, typer.Option(help="Script backend: offline, llm, or auto (llm when --llm-model or --llm-base-url is set).")]
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
            typer.secho(f"error: {e.worded(as_flag)}", fg="red", err=True)
            raise typer.Exit(e.exit_code) from None
        except OSError as e:  # the filesystem refused (permissions, a full disk): its own words, and where
            where = f"{e.filename}: " if e.filename is not None else ""
            typer.secho(f"error: {where}{e.strerror or e}", fg="red", err=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            typer.secho("interrupted; run the same command again to carry on where it stopped", fg="yellow", err=True)
            raise typer.Exit(130) from None

    return wrapper


# The Run API's parameters that the command line names otherwise than `--<parameter>`.
FLAGS = {"root": "--out", "path": "-o", "sentence": "SENTENCE", "start": "--from", "end": "--to"}


def as_flag(parameter: str, value: object, quoted: bool) -> str:
    """An argument of the Run API as the command line that passed it: `--take 3`, `--no-sound`, or its flag alone."""
    flag = FLAGS.get(parameter, f"--{parameter.replace('_', '-')}")
    if value is None:
        return flag
    if isinstance(value, bool):
        return flag if value else f"--no-{flag.removeprefix('--')}"
    if parameter == "size":
        value = "x".join(map(str, value))
    return f"{flag} {value!r}" if quoted else f"{flag} {value}"


def _size(value: str | None) -> tuple[int, int] | None:
    """--size as (width, height), which OutputFormat checks: a mistake is refused before anything is done."""
    from scenegen.schemas.files import parse
    from scenegen.schemas.settings import OutputFormat

    if value is None:
        return None
    match = re.fullmatch(r"(\d+)x(\d+)", value.strip().lower())
    if not match:
        raise UserError(f"--size {value!r}: expected WIDTHxHEIGHT, e.g. 640x360")
    size = int(match[1]), int(match[2])
    parse(OutputFormat, {"width": size[0], "height": size[1]}, None, size=size)
    return size


def _change(fps: int | None, size: str | None, config: Path | None, backend: str | None, burn_captions: bool | None,
            sound: bool | None):
    from scenegen.orchestrator.run import SettingsChange

    return SettingsChange(fps=fps, size=_size(size), config=config, backend=backend, burn_captions=burn_captions,
                          sound=sound)


def _planner(name: str, **llm):
    from scenegen.orchestrator.run import Planner

    return Planner(name, llm)


def _update_settings(run, change) -> None:
    for line in run.update_settings(change):
        typer.echo(line)


@contextlib.contextmanager
def _progress():
    """A progress display for stderr: bars on a terminal, one line per finished stage elsewhere."""
    from scenegen.orchestrator import render as rendering

    class Lines(rendering.Progress):
        """Where no one watches bars (a pipe, a log file): one line as each stage finishes."""

        def __init__(self):
            self.started, self.counts, self.reported = time.perf_counter(), Counter(), set()

        def submitted(self, node) -> None:
            self.counts[node.kind] += 1

        def stages(self, running, waiting) -> None:
            for kind in [k for k in self.counts if k not in running | waiting | self.reported]:
                self.reported.add(kind)
                typer.echo(f"{kind}: {self.counts[kind]} done ({time.perf_counter() - self.started:.1f} s)", err=True)

    # Importing rich costs a render 0.05-0.1 s; where stderr is no terminal and the environment forces none
    # (a pipe, a log file, a benchmark), rich's Console.is_terminal would say no, so it is not imported.
    if not getattr(sys.stderr, "isatty", lambda: False)() and not {"FORCE_COLOR", "TTY_COMPATIBLE"} & os.environ.keys():
        yield Lines()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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

    console = Console(stderr=True)
    if not console.is_terminal:
        yield Lines()
        return
    columns = (TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bars:
        yield Bars(bars)


def _executor(name: str, address: str | None) -> type:
    """The executor class of --executor: a typo or a missing extra fails now, before anything is written."""
    from scenegen.orchestrator.registry import executor_class

    if address and name != "ray":
        raise UserError("--address joins a Ray cluster; use it with --executor ray")
    return executor_class(name)


def _warn(lines: list[str]) -> None:
    for line in lines:
        typer.secho(f"warning: {line}", fg="yellow", err=True)


def _compute_and_report(run, jobs: int | None, executor_cls: type | None = None,
                        address: str | None = None) -> None:
    """`run.render()` with progress shown, then what it computed, reused or failed: a failure exits 1."""
    if run.dir.plan.exists() and not run.dir.stamp_is_current():
        _warn(run.warnings())  # said when the plan is loaded to render; an up-to-date run loads none
    start = time.perf_counter()
    executor_cls = executor_cls or _executor("inprocess", None)
    with _progress() as progress:
        report = run.render(functools.partial(executor_cls, workers=jobs or os.cpu_count() or 1, address=address),
                            progress)
    seconds = time.perf_counter() - start
    if report.up_to_date:
        typer.echo(f"Nothing to do: {run.root} is up to date ({seconds:.2f} s).")
        return
    if not report.executed:
        typer.echo(f"Nothing recomputed: all {report.reused} nodes were up to date ({seconds:.2f} s).")
    elif report.reused:
        shown = ", ".join(report.executed[:12]) + (", ..." if len(report.executed) > 12 else "")
        typer.echo(f"Recomputed {len(report.executed)} nodes ({shown}); reused {report.reused}; {seconds:.1f} s.")
    else:
        from scenegen.orchestrator.run import computed_by_kind

        counts = ", ".join(f"{nodes} {kind}" for kind, nodes in computed_by_kind(report).items())
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
        typer.secho(f"plan.json or settings.json changed during this render, which used them as they "
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
    burn_captions: BurnCaptions = None,
    sound: Sound = None,
    config: Config = None,
    backend: Backend = None,
    planner: PlannerName = "auto",
    llm_base_url: LlmBaseUrl = None,
    llm_model: LlmModel = None,
    llm_api_key: LlmApiKey = None,
    llm_timeout: LlmTimeout = None,
    llm_retries: LlmRetries = None,
    llm_mode: LlmMode = None,
    jobs: Jobs = None,
    force: Annotated[bool, typer.Option(help="Replace the plan of another story already in --out (the old plan is kept under .scenegen/replaced/).")] = False,
) -> None:
    """Plan a film from SENTENCE and render it."""
    from scenegen.orchestrator.run import Run

    chosen = _planner(planner, base_url=llm_base_url, model=llm_model, api_key=llm_api_key, timeout=llm_timeout,
                      retries=llm_retries, mode=llm_mode)
    run, planned_by = Run.story(sentence, out, shots=shots, seed=seed, planner=chosen,
                                change=_change(fps, size, config, backend, burn_captions, sound), force=force)
    typer.echo(f"Planned {shots} shots with {planned_by}: {run.dir.plan}" if planned_by
               else f"{run.dir.plan} holds this story's plan already; rendering on")
    _compute_and_report(run, jobs)


@app.command()
@friendly
def plan(
    sentence: Annotated[str, typer.Argument(help="What the film is about.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Plan file to write.")],
    shots: Shots = 12,
    seed: Seed = 0,
    planner: PlannerName = "auto",
    llm_base_url: LlmBaseUrl = None,
    llm_model: LlmModel = None,
    llm_api_key: LlmApiKey = None,
    llm_timeout: LlmTimeout = None,
    llm_retries: LlmRetries = None,
    llm_mode: LlmMode = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a plan for SENTENCE without rendering it."""
    from scenegen.schemas.checks import plan_warnings

    chosen = _planner(planner, base_url=llm_base_url, model=llm_model, api_key=llm_api_key, timeout=llm_timeout,
                      retries=llm_retries, mode=llm_mode)
    plan, planned_by = chosen.write(sentence, shots, seed, output, force)
    typer.echo(f"Planned {len(plan.shots)} shots with {planned_by}: {output}")
    _warn([f"{output}: {where}: {what}" for where, what in plan_warnings(plan)])


@app.command()
@friendly
def render(
    target: Annotated[Path, typer.Argument(help="A run directory, or a plan file to render.")],
    out: Annotated[Optional[Path], typer.Option(help="Run directory for a plan file (default: beside it, named after it).")] = None,
    fps: Fps = None,
    size: Size = None,
    burn_captions: BurnCaptions = None,
    sound: Sound = None,
    config: Config = None,
    backend: Backend = None,
    jobs: Jobs = None,
    executor: ExecutorName = "inprocess",
    address: Address = None,
) -> None:
    """Compute whatever is missing or stale; reuse everything else."""
    from scenegen.orchestrator.run import Run

    # Every option is checked before the plan is adopted or settings.json changes.
    change = _change(fps, size, config, backend, burn_captions, sound)
    executor_cls = _executor(executor, address)
    if target.is_dir():
        run = Run(target)
    elif target.is_file():
        run = Run.adopt(target, out, change)
    else:
        raise UserError(f"{target}: no such file or directory")
    _update_settings(run, change)
    _compute_and_report(run, jobs, executor_cls, address)


@app.command()
@friendly
def status(run_dir: Annotated[Path, typer.Argument(help="A run directory.")]) -> None:
    """Show each node as done, stale, missing or failed, the takes of each shot, and what `render` would compute."""
    from scenegen.orchestrator.run import Run

    run = Run(run_dir)
    summary = run.summary()
    _warn(run.warnings())
    _print_tally(str(run_dir), summary.by_kind)
    for shot, takes in run.takes().items():
        listed = ", ".join(f"{n} ({_take(take)})" for n, take in enumerate(takes.takes))
        typer.echo(f"  shot {shot}: take {takes.current} in use; takes {listed}; "
                   f"`scenegen redo {run_dir} --shot {shot} --take N` brings one back")
    for gated in summary.tries:
        typer.echo(f"  {gated.node}: using try {gated.chosen} of {len(gated.tries)} [{_tried(gated.tries)}]")
    _print_backend_notes(run)
    for s in summary.todo:
        typer.echo(f"  {s.state:<8} {s.node.id}{f'  {s.error}' if s.error else ''}")
    if summary.todo:
        typer.echo(f"`scenegen render {run_dir}` will compute these {len(summary.todo)} nodes; "
                   "stale ones waiting on an upstream node may turn out unchanged and be reused.")
    else:
        typer.echo(f"Everything is up to date ({len(summary.states)} nodes).")


def _print_tally(title: str, by_kind: dict[str, dict[str, int]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in ("kind", "done", "stale", "missing", "failed"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for kind, counts in by_kind.items():
        table.add_row(kind, *[str(n) if n else "·" for n in counts.values()])
    Console().print(table)


def _print_backend_notes(run) -> None:
    """Which backends run in place of the chosen ones, and which stages' pipelines stay loaded together."""
    for kind, chosen, stand_in in run.stand_ins():
        typer.echo(f"  [{kind}] {stand_in.name} runs in place of {chosen}: {stand_in.reason}")
    budget = run.settings().device.memory_budget_gb
    for kinds, weights in run.loaded_together():
        typer.echo(f"  [device] memory_budget_gb = {budget:g} lets the {', '.join(kinds[:-1])} and {kinds[-1]} "
                   f"pipelines stay loaded together ({weights / 1e9:.1f} GB of weights): their GPU memory adds up")


def _tried(tries) -> str:
    """A gated node's tries: which seeds it tried, how they scored, which passed."""
    return "; ".join(f"try {t.number} (seed {t.seed}): "
                     + ", ".join(f"{measure} {score:.3f}" for measure, score in t.scores.items() if score is not None)
                     + (" passed" if t.passed else "") for t in tries)


@app.command()
@friendly
def redo(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    shot: Annotated[str, typer.Option(help="Shot number (1-based) or shot id.")],
    seed: Annotated[Optional[int], typer.Option(min=0, help="Take seed (default: the next one).")] = None,
    take: Annotated[Optional[int], typer.Option(min=0, help="Bring back an earlier take (0 is the original; `status` lists them).")] = None,
    start: Annotated[Optional[float], typer.Option("--from", min=0, help="Draw only a stretch of the shot's clip again, from this second of the shot (with --to); every other frame is kept exactly.")] = None,
    end: Annotated[Optional[float], typer.Option("--to", min=0, help="Where the stretch ends, in seconds into the shot (that frame is kept).")] = None,
    jobs: Jobs = None,
) -> None:
    """Render a new take of one shot (a new seed for its keyframe and clip), or of a stretch of its clip (--from, --to), or bring an earlier one back."""
    from scenegen.orchestrator.run import Run

    run = Run(run_dir)
    retake = run.redo(shot, seed=seed, take=take, start=start, end=end)
    old, new = (f"take {n} ({_take(retake.takes.takes[n])})" for n in (retake.old, retake.new))
    typer.echo(f"Shot {retake.index} ({retake.shot}): {old} -> {new}")
    _compute_and_report(run, jobs)


def _take(take) -> str:
    """A take in words: its seed, then each stretch drawn again and its seed."""
    words = [f"seed {'none' if take.seed is None else take.seed}"]
    words += [f"{r.start:g}-{r.end:g} s seed {r.seed}" for r in take.ranges]
    return ", ".join(words)


@app.command(name="eval")
@friendly
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="A rendered run directory.")],
    clip: Annotated[Optional[Path], typer.Option(help="CLIP model directory (e.g. openai/clip-vit-large-patch14, downloaded).")] = None,
    face_model: Annotated[Optional[Path], typer.Option(help="insightface ArcFace ONNX file (buffalo_l/w600k_r50.onnx).")] = None,
    face_detector: Annotated[Optional[Path], typer.Option(help="insightface detector ONNX file (buffalo_l/det_10g.onnx).")] = None,
    asr: Annotated[Optional[Path], typer.Option(help="Whisper model directory in CTranslate2's format (default: the bundled tiny.en).")] = None,
    max_wer: Annotated[Optional[float], typer.Option(min=0, help="Exit with status 1 when the film's word error rate is above this.")] = None,
    config: Config = None,
) -> None:
    """Measure a run: per-domain CLIP, face and style consistency, PSNR, SEINE's transition criteria, the sound,
    and the words a listener hears.

    Without --clip, what needs no model is still measured: PSNR, faces (with --face-model), the sound and the words."""
    from scenegen.evaluation.hearing import heard_summary
    from scenegen.orchestrator.run import Run

    run = Run(run_dir)
    metrics = run.evaluate(clip, face_model, face_detector, asr, config)
    typer.echo(f"Wrote {run.root / 'metrics.json'} and {run.root / 'report.html'}")
    _print_film_metrics(metrics)
    heard = metrics["hearing"]
    if heard:
        typer.echo(heard_summary(heard))
    if max_wer is not None:
        wer = heard["film"]["wer"] if heard else None
        if wer is None:
            why = heard and heard["not_heard"] or "it has no spoken lines to hear (a silent film, or no words in the plan)"
            raise UserError(f"--max-wer: {run_dir}: {why}")
        if wer > max_wer:
            typer.echo(f"The film's word error rate {wer:.3f} is above --max-wer {max_wer:g}.", err=True)
            raise typer.Exit(1)


def _print_film_metrics(metrics: dict) -> None:
    """The film's consistency scores, its background consistency, its grammar's rules held and what its sound
    holds, a line each."""
    from scenegen.evaluation.background import background_summary
    from scenegen.evaluation.grammar import grammar_summary

    film = metrics["film"]
    for key in ("clip_character", "clip_background", "sc_within", "sc_cross", "fc_within", "fc_cross", "psnr_within"):
        value = film[key]
        typer.echo(f"  {key:<16} {'n/a' if value is None else f'{value:.4f}'}")
    if not metrics["models"]["clip"]:
        typer.echo("  (no --clip: CLIP, style and SEINE scores not measured)")
    typer.echo(background_summary(metrics["background"]))
    typer.echo(grammar_summary(metrics["grammar"]))
    if metrics["sound"]:
        said = [shot for shot in metrics["sound"]["shots"] if shot["said"]]
        loudness = metrics["sound"]["film"]["loudness_lufs"]
        typer.echo(f"  speech heard in {sum(bool(shot['speech_present']) for shot in said)} of the {len(said)} shots "
                   f"with words; {'n/a' if loudness is None else f'{loudness:.1f}'} LUFS")


@app.command()
@friendly
def check(
    config: Config = None,
    size: Size = None,
    gpu_memory: Annotated[Optional[float], typer.Option(min=0, help="GPU memory in GiB to check against (default: this machine's first CUDA GPU).")] = None,
    host_memory: Annotated[Optional[float], typer.Option(min=0, help="Host memory in GiB to check against (default: this machine's).")] = None,
) -> None:
    """Before any weight loads: each GPU stage's expected device and host memory peak, and whether it fits.

    The figures were simulated at real model size for the shipped presets (docs/benchmarks.md); exit 1 when a stage
    does not fit."""
    from scenegen.memory import check as fits, settings_for

    settings = settings_for(config, _size(size))
    verdict = fits(settings, gpu_memory, host_memory)
    _print_stage_memory(f"{config or 'default settings'} at {settings.output.width}x{settings.output.height}", verdict)
    gpu = "no CUDA GPU" if verdict.gpu_gib is None else f"{verdict.gpu_gib:.1f} GiB of GPU memory ({verdict.gpu_source})"
    typer.echo(f"Against {gpu} and {verdict.host_gib:.1f} GiB of host memory ({verdict.host_source}):")
    for line in verdict.notes:
        typer.echo(f"  note: {line}")
    for line in verdict.problems:
        typer.secho(f"  does not fit: {line}", fg="red")
    typer.echo(f"  {verdict.summary}")
    if not verdict.fits:
        raise typer.Exit(1)


def _print_stage_memory(title: str, verdict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in ("stage", "backend", "GPU GiB", "host GiB", "from"):
        table.add_column(column, justify="right" if "GiB" in column else "left")
    for s in verdict.stages:
        table.add_row(s.stage, s.backend, "?" if s.device_gib is None else f"{s.device_gib:.1f}",
                      "?" if s.host_gib is None else f"{s.host_gib:.1f}" if s.host_gib else "-", s.source)
    Console().print(table)


@app.command()
def schema() -> None:
    """Print the JSON Schema of plan files."""
    from scenegen.schemas.files import plan_schema

    sys.stdout.write(plan_schema())


def main() -> None:
    app(prog_name="scenegen")  # also under `python -m scenegen`: errors point at the command users type
