"""A run as a Python API: everything `scenegen story / render / redo / status / eval` do, without a terminal.

    from scenegen import Run, SettingsChange

    run, planned_by = Run.story("a woman's life", shots=6, change=SettingsChange(size=(320, 180)))
    report = run.render()
    run.redo("3")                 # a new take of shot 3
    run.redo("3", take=0)         # and back to the original
    run.redo("3", start=1.0, end=2.0)   # seconds 1 to 2 of its clip drawn again, the rest kept
    states = run.status()

Every method that reads and then writes plan.json or settings.json holds the run's lock
for the whole read-modify-write, and checks the plan and settings it would produce
before it takes the lock or writes anything: a refused change leaves every file as it
was and makes none.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from scenegen.atomic import write_atomic
from scenegen.errors import UserError, arguments
from scenegen.orchestrator.store import EXPORTS, RunDir

if TYPE_CHECKING:  # the offline fast path must not pay for pydantic before it needs it
    from scenegen.orchestrator.backend import StandIn
    from scenegen.orchestrator.executor import Executor
    from scenegen.orchestrator.render import NodeState, Progress, Report
    from scenegen.schemas.plan import RangeRetake, StoryPlan
    from scenegen.schemas.settings import RenderSettings

# The stages a diffusion backend can run (`--backend`), in the order they run.
GENERATIVE = ("portrait", "set", "keyframe", "clip", "retake", "boundary")


def slug(sentence: str) -> str:
    """The default folder name of a sentence's run."""
    # Letters of any script: a sentence in Chinese or French names its own folder, not "film".
    return re.sub(r"[\W_]+", "-", sentence.lower()).strip("-")[:48].strip("-") or "film"


@dataclass(frozen=True)
class SettingsChange:
    """What `config`, `backend`, `fps`, `size`, `burn_captions` and `sound` ask of settings.json, in that order."""

    fps: int | None = None
    size: tuple[int, int] | None = None
    config: Path | None = None    # a TOML file or a preset name
    backend: str | None = None    # every generative stage's backend
    burn_captions: bool | None = None
    sound: bool | None = None

    def __bool__(self) -> bool:
        return bool(self.given)

    @property
    def given(self) -> dict[str, object]:
        """The fields this change sets, with their values: the arguments an error about it names."""
        fields = {"config": self.config, "backend": self.backend, "fps": self.fps, "size": self.size,
                  "burn_captions": self.burn_captions, "sound": self.sound}
        return {name: value for name, value in fields.items() if value is not None}


@dataclass(frozen=True)
class Planner:
    """Which script backend writes a story's plan: "offline", "llm", or "auto" (llm when a model or server is named)."""

    name: str = "auto"
    llm: dict = field(default_factory=dict)   # base_url, model, api_key, timeout, retries, mode

    def _resolved(self) -> tuple[str, dict]:
        llm = {key: value for key, value in self.llm.items() if value is not None}
        if self.name == "auto":
            return ("llm" if "model" in llm or "base_url" in llm else "offline"), llm
        return self.name, llm

    def identity(self) -> dict:
        """What decides which plan a sentence gets: the planner, and for an LLM its server and model."""
        name, llm = self._resolved()
        return {"planner": name, **({key: llm.get(key) for key in ("base_url", "model")} if name == "llm" else {})}

    def plan(self, sentence: str, shots: int, seed: int, workdir: Path) -> tuple[StoryPlan, str]:
        """A plan of the sentence, and who made it; an LLM planner keeps its answers under `workdir`."""
        from scenegen.modules.script import ScriptRequest
        from scenegen.orchestrator.registry import available, backend_class

        name, llm = self._resolved()
        if name not in available("script"):
            raise UserError("{planner!r}: no such planner; installed: auto, " + ", ".join(available("script")),
                            planner=name)
        backend = backend_class("script", name)(llm if name == "llm" else None)
        plan = backend.plan(ScriptRequest(sentence=sentence, shots=shots, seed=seed, workdir=workdir))
        return plan, backend.description

    def write(self, sentence: str, shots: int, seed: int, path: Path, force: bool = False) -> tuple[StoryPlan, str]:
        """A plan of the sentence written to `path` (never over an existing file unless `force`), and who made it."""
        from scenegen.schemas.files import write_plan

        _check_sentence(sentence)
        if path.is_dir():
            raise UserError("{path}: a folder is there; name a file, e.g. " + str(path / "plan.json"), path=path)
        if path.exists() and not force:
            raise UserError(f"{path} exists; pass {{force}} to replace it, or choose another {{path!n}}", force=True,
                            path=path)
        _refuse_a_file_at(path.parent, "path")
        _refuse_users_files(path.parent, "{path}", force, exports=False, path=path)
        made = _first_missing(path.parent)
        plan, planned_by = self.plan(sentence, shots, seed, path.parent)
        if path.name == "plan.json" and (path.parent / ".scenegen").is_dir():
            with Run(path.parent).locked():  # a run's plan: not while that run renders
                write_plan(path, plan)
            return plan, planned_by
        try:
            write_plan(path, plan)  # making -o's folders, once there is a plan to put in them
        except BaseException:
            if made is not None:  # and none left of a plan that could not be written (a full disk)
                shutil.rmtree(made, ignore_errors=True)
            raise
        return plan, planned_by


def _refuse_a_file_at(folder: Path, parameter: str) -> None:
    """A folder to be made (from the argument `parameter`) must not be, or be inside, a file."""
    for path in (folder, *folder.parents):
        if path.is_symlink() and not path.exists():
            raise UserError(f"{{{parameter}}}: {path} is a link to {os.readlink(path)}, which does not exist; "
                            f"make that folder, or choose another {{{parameter}!n}}", **{parameter: folder})
        if path.exists():
            if not path.is_dir():
                raise UserError(f"{{{parameter}}}: {path} is a file, not a folder; choose another {{{parameter}!n}}",
                                **{parameter: folder})
            return


def _refuse_users_files(folder: Path, writer: str, force: bool | None, exports: bool = True,
                        **arguments: object) -> None:
    """Refuse to let `writer` (a message naming the `arguments` at fault) replace a file in `folder` that
    scenegen did not write: a plan schema of the user's, or (with `exports`) a film.mp4, shots.srt, ... there
    before the folder was a run. Unless `force` (None: the caller has no `force`)."""
    from scenegen.schemas.files import SCHEMA_FILE, is_plan_schema

    schema = folder / SCHEMA_FILE
    theirs = [schema] if schema.exists() and not is_plan_schema(schema) else []
    theirs += RunDir(folder).found_before(list(EXPORTS.values())) if exports else []
    if theirs and not force:
        more = f" (and {len(theirs) - 1} more)" if len(theirs) > 1 else ""
        remedy = "move it away, or pass {force} to replace it" if force is not None else "move it away"
        raise UserError(f"{theirs[0]}{more}: not written by scenegen, and {writer} would replace it; {remedy}",
                        **arguments, **({"force": True} if force is not None else {}))


def _first_missing(folder: Path) -> Path | None:
    """The outermost folder that making `folder` would create, if any."""
    missing = None
    for path in (folder, *folder.parents):
        if path.exists():
            return missing
        missing = path
    return missing


def _check_sentence(sentence: str) -> None:
    if not sentence.strip():
        raise UserError("{sentence!n} is empty: say what the film is about, e.g. \"a woman's life\"", sentence=sentence)


@dataclass(frozen=True)
class Take:
    """One take of a shot, as its plan holds it: the seed, and the stretches of its clip drawn again since."""

    seed: int | None
    ranges: tuple[RangeRetake, ...] = ()


@dataclass(frozen=True)
class Takes:
    """The takes a shot was rendered as, take 0 first, and which one the plan uses now."""

    takes: list[Take]
    current: int

    @property
    def seeds(self) -> list[int | None]:
        return [take.seed for take in self.takes]


@dataclass(frozen=True)
class Try:
    """One seed a gated node tried: its scores on each measure, and whether they passed its thresholds."""

    number: int      # 1-based
    seed: int
    scores: dict[str, float | None]
    passed: bool


@dataclass(frozen=True)
class Tries:
    """The seeds a gated node (a keyframe scored before it is kept) tried, and which try it uses."""

    node: str        # node id
    tries: list[Try]
    chosen: int      # a try's number


@dataclass(frozen=True)
class Summary:
    """What `status` tells of a run: every node's state, tallied by kind, and the tries of its gated nodes."""

    states: list[NodeState]
    by_kind: dict[str, dict[str, int]]   # kind -> state -> nodes, kinds in the order the graph makes them
    tries: list[Tries]

    @property
    def todo(self) -> list[NodeState]:
        """The nodes `render` would compute: every one not done."""
        return [s for s in self.states if s.state != "done"]


@dataclass(frozen=True)
class Retake:
    shot: str        # shot id
    index: int       # 1-based shot number
    old: int         # take numbers
    new: int
    takes: Takes


class Run:
    """One run directory: its plan, settings, artifacts and the operations on them."""

    def __init__(self, root: Path | str):
        self.dir = RunDir(Path(root))

    @property
    def root(self) -> Path:
        return self.dir.root

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the run's lock, refusing if another process or thread has it; nested uses in a thread share one hold."""
        if self.dir.is_locked:
            yield
            return
        self.dir.lock()
        try:
            yield
        finally:
            self.dir.unlock()

    # -- making a run ----------------------------------------------------------------

    @classmethod
    def story(cls, sentence: str, root: Path | None = None, *, shots: int = 12, seed: int = 0,
              planner: Planner = Planner(), change: SettingsChange = SettingsChange(),
              force: bool = False) -> tuple[Run, str | None]:
        """A run holding a plan of `sentence` (not yet rendered), and who planned it (None: it was there).

        Onto a run that already holds a plan: the same story (sentence, shots, seed,
        planner) is left as it is, to be rendered on; another one is refused unless
        `force`, which keeps the old plan under .scenegen/replaced/. A story that cannot
        be planned leaves no folder behind.
        """
        from scenegen.schemas.files import write_plan

        _check_sentence(sentence)
        run = cls(root or Path("runs") / slug(sentence))
        _refuse_a_file_at(run.root, "root")
        request = {"sentence": sentence, "shots": shots, "seed": seed, **planner.identity()}
        if run.dir.plan.exists() and not force:
            return run._same_story(request, change)
        run._changed_settings(change)  # checked before anything is made or the planner is asked
        _refuse_users_files(run.root, "{root}", force, root=run.root)
        made = _first_missing(run.root)
        run.root.mkdir(parents=True, exist_ok=True)
        ours = False
        try:
            with run.locked():
                if run.dir.plan.exists() and not force:  # another `story` got here first
                    return run._same_story(request, change)
                ours = made is not None
                settings = run._changed_settings(change)
                plan, planned_by = planner.plan(sentence, shots, seed, run.root)
                if run.dir.plan.exists():
                    run._set_aside_plan()
                # The plan last: a story killed before it has none and is planned again, one killed after is whole.
                write_atomic(run.dir.state / "story.json", json.dumps(request, ensure_ascii=False) + "\n")
                run._write_settings(settings)
                write_plan(run.dir.plan, plan)
        except BaseException:
            # Nothing is left behind of a story that never got a plan, down to the folders made for it.
            if ours:
                shutil.rmtree(made, ignore_errors=True)
            raise
        return run, planned_by

    def _same_story(self, request: dict, change: SettingsChange) -> tuple[Run, None]:
        asked = self._story_request()
        if asked != request:
            of = f" of {asked['sentence']!r}" if asked else ""
            raise UserError(f"{self.dir.plan} already holds a plan{of}; `scenegen render {self.root}` renders it, "
                            "{force} replaces it (the old plan is kept under .scenegen/replaced/), "
                            "or choose another {root!n}", force=True, root=self.root)
        self.update_settings(change)
        return self, None

    @classmethod
    def adopt(cls, source: Path, root: Path | None = None, change: SettingsChange = SettingsChange()) -> Run:
        """The run of a plan file: beside it, named after it, with the plan copied in; never over a
        plan edited in the run directory since it was copied there. The plan must load under the
        settings `change` will make (applied by `update_settings`)."""
        from scenegen.schemas.files import SCHEMA_FILE, plan_schema

        if source.name == "plan.json" and root is None:
            return cls(source.parent)
        run = cls(root or (source.with_suffix("") if source.suffix else source.with_name(f"{source.name}-run")))
        _refuse_a_file_at(run.root, "root")
        _refuse_users_files(run.root, f"the run of {source}", None)
        new = source.read_bytes()
        # Checked now, before a run folder is made for a plan or options that cannot be rendered.
        old_fps = run.settings().output.fps
        run._check_plan(old_fps, run._changed_settings(change).output.fps, change.given, source, new)
        run.root.mkdir(parents=True, exist_ok=True)
        with run.locked():
            adopted = run.dir.state / "adopted-plan.sha256"
            if run.dir.plan.exists() and run.dir.plan.read_bytes() != new:
                current = hashlib.sha256(run.dir.plan.read_bytes()).hexdigest()
                if not adopted.exists() or adopted.read_text().strip() != current:
                    raise UserError(f"{run.dir.plan} differs from {source} and was edited in place; "
                                    f"render {run.root} itself, or move it away first")
            write_atomic(run.dir.plan, new)
            write_atomic(run.root / SCHEMA_FILE, plan_schema())
            write_atomic(adopted, hashlib.sha256(new).hexdigest())
        return run

    def _story_request(self) -> dict | None:
        try:
            asked = json.loads((self.dir.state / "story.json").read_text())
        except (OSError, ValueError):
            return None
        return asked if isinstance(asked, dict) and isinstance(asked.get("sentence"), str) else None

    def _set_aside_plan(self) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.dir.state / "replaced" / stamp
        for n in range(1, 1000):  # two replacements in one second keep both old plans
            if not aside.exists():
                break
            aside = aside.with_name(f"{stamp}-{n}")
        aside.mkdir(parents=True)
        os.replace(self.dir.plan, aside / "plan.json")  # not left as the plan of the story.json written next
        for name in ("story.json", "takes.json"):
            if (self.dir.state / name).exists():
                os.replace(self.dir.state / name, aside / name)

    # -- settings ----------------------------------------------------------------------

    def settings(self) -> RenderSettings:
        from scenegen.orchestrator.render import load_settings

        return load_settings(self.dir)

    def update_settings(self, change: SettingsChange) -> list[str]:
        """Apply `change` to settings.json (creating it) if the plan still fits; say what changed."""
        if not change:
            return []
        existed = self.dir.settings.exists()
        self._settings_after(change)  # every check before the lock is taken: a refusal makes no file at all
        self._refuse_users_exports()
        with self.locked():
            old, new = self._settings_after(change)
            if not existed or new != old:
                self._write_settings(new)
        if not existed:
            return []
        return [f"{name}: {getattr(old.output, name)} -> {getattr(new.output, name)}"
                for name in ("fps", "width", "height") if getattr(old.output, name) != getattr(new.output, name)]

    def _refuse_users_exports(self) -> None:
        """A folder that holds only a plan (`plan -o`) is not a run yet: a film.mp4 beside it is the user's."""
        _refuse_users_files(self.root, f"rendering {self.root}", None)

    def _settings_after(self, change: SettingsChange) -> tuple[RenderSettings, RenderSettings]:
        """The settings now and after `change`, refused if a backend or the plan on disk would not take them."""
        old = self.settings()
        new = self._changed_settings(change)
        if self.dir.plan.exists():
            self._check_plan(old.output.fps, new.output.fps, change.given)
        return old, new

    def _changed_settings(self, change: SettingsChange) -> RenderSettings:
        """The settings `change` makes of settings.json, each backend checked (weights there, sizes it takes)."""
        from scenegen.schemas.files import parse, with_config

        on_disk = self.settings()
        merged = (with_config(on_disk, change.config) if change.config is not None else on_disk).model_dump(mode="json")
        if change.backend is not None:
            for kind in GENERATIVE:
                same = merged["backends"][kind]["name"] == change.backend
                merged["backends"][kind] = {"name": change.backend, "settings": merged["backends"][kind]["settings"] if same else {}}
        if change.fps is not None:
            merged["output"]["fps"] = change.fps
        if change.size is not None:
            merged["output"]["width"], merged["output"]["height"] = change.size
        if change.burn_captions is not None:
            merged["output"]["burn_captions"] = change.burn_captions
        if change.sound is not None:
            merged["output"]["sound"] = change.sound
        updated = parse(type(on_disk), merged, self.dir.settings, **change.given)
        try:
            _check_backends(updated)
        except UserError as e:
            # Whose fault: the change's, unless the settings on disk fail the same way without it.
            if change and _backend_error(on_disk) != str(e):
                raise e.within(arguments(change.given), **change.given) from None
            raise e.within(str(self.dir.settings)) from None
        return updated

    def _write_settings(self, settings: RenderSettings) -> None:
        write_atomic(self.dir.settings, settings.model_dump_json(indent=2) + "\n")

    def _check_plan(self, old_fps: int, new_fps: int, options: dict[str, object], path: Path | None = None,
                    raw: bytes | None = None) -> None:
        """Refuse settings under which a plan (the run's, or `raw` read from `path`) that loads today would not."""
        from scenegen.schemas.files import load_plan

        path = path or self.dir.plan
        try:
            load_plan(path, new_fps, raw=raw)
        except UserError as e:
            load_plan(path, old_fps, raw=raw)  # a plan broken anyway is the plan's error, not the option's
            # The plan's error keeps its own arguments as data, worded as the caller passed them.
            raise UserError(f"{arguments(options)}: the plan would not fit: {e.message}; nothing was changed",
                            **{**e.options, **options}) from None

    # -- rendering and inspecting ---------------------------------------------------------

    def plan(self) -> StoryPlan:
        from scenegen.orchestrator.render import load_run

        return load_run(self.dir)[0]

    def warnings(self) -> list[str]:
        """What the plan may not mean, though it renders (`plan_warnings`): one line each, naming
        plan.json and the JSON path, e.g. a shot that crosses the line between two characters."""
        from scenegen.schemas.checks import plan_warnings

        return [f"{self.dir.plan}: {where}: {what}" for where, what in plan_warnings(self.plan())]

    def render(self, executor: Executor | Callable[[], Executor] | None = None,
               progress: Progress | None = None) -> Report:
        """Compute whatever is missing or stale and reuse the rest, with `executor`: one the caller made
        (and closes), or a function that makes one (default: threads here), called only when there is
        something to compute, so an up-to-date run answers before an executor (Ray's) starts.

        The report's `inputs_changed` says that plan or settings were saved meanwhile: what
        they changed stays stale for the next render.
        """
        from scenegen.orchestrator import render as rendering
        from scenegen.orchestrator.executor import Executor, InProcessExecutor

        if not self.dir.plan.exists():
            raise UserError(f"{self.root}: no plan.json here; give a run directory made by `scenegen story` or a plan file")
        if self.dir.stamp_is_current():
            return rendering.Report(up_to_date=True)
        self.plan()  # a broken plan or settings file is refused before the run's folder gains a lock
        self._refuse_users_exports()
        if isinstance(executor, Executor):
            with self.locked():
                return rendering.bring_up_to_date(self.dir, executor, progress)
        made = (executor or (lambda: InProcessExecutor(workers=os.cpu_count() or 1)))()
        try:
            with self.locked():
                return rendering.bring_up_to_date(self.dir, made, progress)
        finally:
            made.close()

    def status(self) -> list[NodeState]:
        """Each node as done, stale, missing or failed: everything not done is what `render` computes."""
        from scenegen.orchestrator.render import status

        if not self.dir.plan.exists():
            raise UserError(f"{self.root}: no plan.json here")
        return status(self.dir)

    def summary(self) -> Summary:
        """`status`, tallied by kind, with the tries each gated node recorded."""
        states = self.status()
        by_kind: dict[str, dict[str, int]] = {}
        for s in states:
            counts = by_kind.setdefault(s.node.kind, dict.fromkeys(("done", "stale", "missing", "failed"), 0))
            counts[s.state] += 1
        # A gated backend records its tries among the facts of the node's record.
        tries = [Tries(s.node.id, [Try(t["take"], t["seed"], t["scores"], t["passed"])
                                   for t in s.record.facts["takes"]], s.record.facts["chosen"])
                 for s in states if s.record and s.record.facts.get("takes")]
        return Summary(states, by_kind, tries)

    def stand_ins(self) -> list[tuple[str, str, StandIn]]:
        """Each kind whose chosen backend has another run in its place (a voice for a language it does
        not speak), as (kind, the chosen backend's name, what stands in and why)."""
        from scenegen.orchestrator.graph import rendered_kinds
        from scenegen.orchestrator.registry import backend_class

        found = []
        for kind, choice in rendered_kinds(self.settings()).items():
            if stand_in := backend_class(kind, choice.name)(choice.settings).stand_in():
                found.append((kind, choice.name, stand_in))
        return found

    def loaded_together(self) -> list[tuple[list[str], int]]:
        """The GPU stages whose pipelines `[device] memory_budget_gb` lets stay loaded together, with the bytes
        of their weights: as the executor decides, a stage loads beside those still loaded while all their
        weights fit the budget, and otherwise after they are released. Only groups of two or more."""
        from scenegen.orchestrator.registry import backend_class

        settings = self.settings()
        budget = settings.device.memory_budget_gb * 2**30
        groups: list[tuple[list[str], int]] = []
        for kind in GENERATIVE if budget > 0 else ():
            choice = settings.backends[kind]
            backend = backend_class(kind, choice.name)(choice.settings)
            if not backend.uses_gpu:
                continue
            weights = backend.footprint()
            if groups and groups[-1][1] + weights <= budget:
                groups[-1] = (groups[-1][0] + [kind], groups[-1][1] + weights)
            else:
                groups.append(([kind], weights))
        return [(kinds, weights) for kinds, weights in groups if len(kinds) > 1]

    # -- measuring -----------------------------------------------------------------------

    def evaluate(self, clip: Path | None = None, face_model: Path | None = None, face_detector: Path | None = None,
                 asr: Path | None = None, config: Path | None = None) -> dict:
        """Measure the rendered run (evaluation/run.py says what), writing metrics.json and report.html into it.

        The models are `config`'s `[eval]` table (a TOML file or a preset), each one given here replacing its entry.
        """
        from scenegen.evaluation.models import EvalSettings
        from scenegen.evaluation.run import evaluate, write_report
        from scenegen.schemas.files import parse, read_config

        models = {"clip": clip, "face_model": face_model, "face_detector": face_detector, "asr": asr}
        given = {name: path for name, path in models.items() if path is not None}
        values = read_config(config).get("eval", {}) if config else {}
        values |= {name: str(path) for name, path in given.items()}
        settings = parse(EvalSettings, values, config, **({} if config else given))
        if not self.dir.plan.exists():
            raise UserError(f"{self.root}: no plan.json here")
        metrics = evaluate(self.dir, settings)
        write_report(self.dir, metrics)
        return metrics

    # -- takes ---------------------------------------------------------------------------

    def takes(self) -> dict[str, Takes]:
        """Every shot that has more than its first take: the takes tried and the one in use."""
        recorded = self._recorded_takes()
        out = {}
        for shot in self.plan().shots:
            takes = _with_current(recorded.get(shot.id, []), _take_of(shot))
            if len(takes) > 1:
                out[shot.id] = Takes(takes, takes.index(_take_of(shot)))
        return out

    def redo(self, shot: str, seed: int | None = None, take: int | None = None,
             start: float | None = None, end: float | None = None) -> Retake:
        """A new take of `shot` (1-based number or id): a new seed for its keyframe and clip, or
        `seed`, or an earlier `take` (0 is the original). With `start` and `end` (seconds into the
        shot), the new take keeps the shot's clip and draws that stretch of it again, with a new
        seed or `seed`; every other frame stays exactly as it was. Every take's artifacts stay in
        the run, so going back recomputes nothing of that shot."""
        from scenegen.schemas.files import write_plan

        if seed is not None and take is not None:
            raise UserError("{seed!n} and {take!n} both choose the take; give one of them", seed=seed, take=take)
        if take is not None and (start is not None or end is not None):
            raise UserError("{take!n} brings back a whole take; give it without {start!n} and {end!n}", take=take,
                            start=start, end=end)
        if (start is None) != (end is None):
            given, missing = ("start", "end") if end is None else ("end", "start")
            raise UserError(f"{{{given}}} needs {{{missing}!n}} too: the stretch to draw again runs from one to the "
                            "other, in seconds into the shot", **{given: start if end is None else end, missing: None})
        # Every check before the lock is taken: a refusal makes no file at all.
        self._retake(shot, seed, take, start, end)
        _refuse_users_files(self.root, "redo", None, exports=False)
        with self.locked():
            new_plan, takes, retake = self._retake(shot, seed, take, start, end)
            write_plan(self.dir.plan, new_plan)
            write_atomic(self.dir.state / "takes.json", json.dumps(takes, indent=1) + "\n")
        return retake

    def _retake(self, shot: str, seed: int | None, take: int | None, start: float | None,
                end: float | None) -> tuple[StoryPlan, dict, Retake]:
        """The plan with `shot`'s new take, every shot's takes after it (as takes.json holds them), and what changed."""
        from scenegen.schemas.checks import range_fault
        from scenegen.schemas.files import parse
        from scenegen.schemas.plan import RangeRetake, StoryPlan

        plan = self.plan()
        index = next((i for i, s in enumerate(plan.shots) if s.id == shot or str(s.index) == shot), None)
        if index is None:
            raise UserError(f"{{shot!r}}: no such shot in {self.dir.plan}; "
                            f"use a number 1..{len(plan.shots)} or a shot id", shot=shot)
        old = plan.shots[index]
        recorded = self._recorded_takes()
        current = _take_of(old)
        takes = _with_current(recorded.get(old.id, []), current)
        chosen_by = ({"start": start, "end": end} if start is not None else {"seed": seed} if seed is not None
                     else {"take": take} if take is not None else {"shot": shot})
        if take is not None:
            if not 0 <= take < len(takes):
                raise UserError(f"{{take}}: shot {old.index} ({old.id}) has takes 0..{len(takes) - 1}; "
                                f"`scenegen status {self.root}` lists them", take=take)
            new = takes[take]
        elif start is not None:
            if fault := range_fault(start, end, old.duration, self.settings().output.fps):
                bound, why = fault
                raise UserError(f"{{{bound}}}: shot {old.index} ({old.id}): {why}",
                                **{bound: {"start": start, "end": end}[bound]})
            drawn = RangeRetake(start=start, end=end, seed=_next_seed(takes) if seed is None else seed)
            new = Take(current.seed, (*current.ranges, drawn))
        else:
            new = Take(_next_seed(takes) if seed is None else seed)
        if new not in takes:
            takes.append(new)
        shots = list(plan.shots)
        shots[index] = old.model_copy(update={"seed": new.seed, "retakes": list(new.ranges) or None})
        new_plan = parse(StoryPlan, plan.model_copy(update={"shots": shots}).model_dump(mode="json", by_alias=True),
                         self.dir.plan, **chosen_by)
        retake = Retake(old.id, old.index, takes.index(current), takes.index(new), Takes(takes, takes.index(new)))
        kept = {name: [_take_json(t) for t in shot_takes] for name, shot_takes in {**recorded, old.id: takes}.items()}
        return new_plan, kept, retake

    def _recorded_takes(self) -> dict[str, list[Take]]:
        """takes.json, without any entry that is not a list of takes (it is ours, but a user may have edited it)."""
        try:
            recorded = json.loads((self.dir.state / "takes.json").read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(recorded, dict):
            return {}
        takes = {shot: [_take_from_json(value) for value in values]
                 for shot, values in recorded.items() if isinstance(values, list)}
        return {shot: values for shot, values in takes.items() if None not in values}


def computed_by_kind(report: Report) -> dict[str, int]:
    """How many nodes of each backend's kind `report` says were computed, in the order a render makes the kinds."""
    from scenegen.schemas.settings import DEFAULT_BACKENDS

    kinds = [node_id.partition(":")[0] for node_id in report.executed]
    return {kind: kinds.count(kind) for kind in DEFAULT_BACKENDS if kind in kinds}


def _check_backends(settings: RenderSettings) -> None:
    from scenegen.orchestrator.graph import checked_backends

    checked_backends(settings)


def _backend_error(settings: RenderSettings) -> str | None:
    try:
        _check_backends(settings)
    except UserError as e:
        return str(e)
    return None


def _with_current(takes: list[Take], current: Take) -> list[Take]:
    """Take 0 is the planner's (no seed); a seed or range set by hand in plan.json is a take too, so it stays reachable."""
    takes = list(takes) or [Take(None)]
    return takes if current in takes else [*takes, current]


def _take_of(shot) -> Take:
    return Take(shot.seed, tuple(shot.retakes or ()))


def _next_seed(takes: list[Take]) -> int:
    """A seed none of a shot's takes used, for its keyframe and clip or for a stretch."""
    return max((s or 0) for take in takes for s in (take.seed, *(r.seed for r in take.ranges))) + 1


def _take_json(take: Take) -> int | None | dict:
    """A take as takes.json holds it: its seed alone when it draws no stretch again (as before range retakes)."""
    if not take.ranges:
        return take.seed
    return {"seed": take.seed, "retakes": [r.model_dump(mode="json") for r in take.ranges]}


def _take_from_json(value: object) -> Take | None:
    """A take read back from takes.json; None for anything else."""
    from pydantic import ValidationError

    from scenegen.schemas.plan import RangeRetake

    def is_seed(seed: object) -> bool:
        return seed is None or (type(seed) is int and seed >= 0)

    if is_seed(value):
        return Take(value)
    if not isinstance(value, dict) or set(value) != {"seed", "retakes"} or not is_seed(value["seed"]) \
            or not isinstance(value["retakes"], list) or not value["retakes"]:
        return None
    try:
        return Take(value["seed"], tuple(RangeRetake.model_validate(r) for r in value["retakes"]))
    except ValidationError:
        return None
