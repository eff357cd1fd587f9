"""A hypothesis state machine drives a small run through random edits, renders, kills, redos and
status checks, and after every step checks the one promise they all rest on: every node
reported up to date was rendered from the plan and settings on disk now.

The oracle is independent of the run's own records: each distinct (plan, settings) is
rendered once from scratch in a folder of its own, and a node counts as rendered from
the inputs on disk when its artifact has the bytes that fresh render gave it.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from scenegen.orchestrator.executor import InProcessExecutor
from scenegen.orchestrator.store import EXPORTS
from scenegen.orchestrator.run import Run, SettingsChange
from scenegen.orchestrator.store import file_sha256

SHOTS = 3
FRESH: dict[bytes, dict[str, str]] = {}   # plan + settings bytes -> node id (or export name) -> sha256


def write_like_an_editor(path: Path, data: dict) -> None:
    # Saved whole (write a temp file, rename), as editors save: a render reads the old file or the new one.
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


EDITS = {  # what a user changes, in plan.json or settings.json
    "camera movement": lambda plan, out, shot, n: plan["shots"][shot]["camera"].update(
        movement=["static", "pan_left", "zoom_in", "orbit_right"][n % 4]),
    "time of day": lambda plan, out, shot, n: plan["shots"][shot]["lighting"].update(
        time_of_day=["dawn", "noon", "dusk", "night"][n % 4]),
    "story context": lambda plan, out, shot, n: plan["shots"][shot].update(context=f"the story so far, version {n}"),
    "appearance": lambda plan, out, shot, n: plan["characters"][0].update(appearance=f"a face, version {n}"),
    # Each long enough for the shot's narration: a shorter one is an error the plan check names.
    "duration": lambda plan, out, shot, n: plan["shots"][shot].update(duration=[6.0, 7.0, 8.0][n % 3]),
    "a cut": lambda plan, out, shot, n: plan["shots"][0].update(transition={"type": "cut", "duration": 0}),
    "a dissolve": lambda plan, out, shot, n: plan["shots"][0].update(transition={"type": "dissolve", "duration": 1.0}),
    "fps": lambda plan, out, shot, n: out.update(fps=[4, 6][n % 2]),
}


def fresh_render(root: Path) -> dict[str, str]:
    """The bytes (as sha256) of every node and export of a from-scratch render of root's plan and settings."""
    inputs = (root / "plan.json").read_bytes() + b"\0" + (root / "settings.json").read_bytes()
    if inputs not in FRESH:
        with tempfile.TemporaryDirectory() as scratch:
            run = Run(Path(scratch) / "run")
            run.root.mkdir()
            for name in ("plan.json", "settings.json"):
                shutil.copy(root / name, run.root / name)
            executor = InProcessExecutor(workers=2)
            try:
                assert run.render(executor).ok
            finally:
                executor.close()
            shas = {s.node.id: s.record.sha256 for s in run.status()}
            shas |= {name: file_sha256(run.root / name) for name in EXPORTS.values()}
            FRESH[inputs] = shas
    return FRESH[inputs]


class RunMachine(RuleBasedStateMachine):
    @initialize()
    def plan_a_story(self):
        self.scratch = Path(tempfile.mkdtemp())
        self.run, _ = Run.story("a lighthouse keeper's last winter", self.scratch / "run", shots=SHOTS,
                                change=SettingsChange(size=(64, 64), fps=4))
        self.edits = 0

    def teardown(self):
        shutil.rmtree(self.scratch, ignore_errors=True)

    def edit(self, what: str, shot: int) -> None:
        plan = json.loads(self.run.dir.plan.read_text())
        config = json.loads(self.run.dir.settings.read_text())
        self.edits += 1
        EDITS[what](plan, config["output"], shot, self.edits)
        write_like_an_editor(self.run.dir.plan, plan)
        write_like_an_editor(self.run.dir.settings, config)

    @rule(what=st.sampled_from(sorted(EDITS)), shot=st.integers(0, SHOTS - 1))
    def edit_the_plan(self, what, shot):
        self.edit(what, shot)

    @rule()
    def render(self):
        executor = InProcessExecutor(workers=2)
        try:
            report = self.run.render(executor)
        finally:
            executor.close()
        assert report.ok
        states = self.run.status()
        assert all(s.state == "done" for s in states), [(s.node.id, s.state) for s in states if s.state != "done"]

    def start_a_render(self) -> subprocess.Popen:
        """`scenegen render` in a process of its own, returned once it holds the run's lock (is rendering),
        or has ended without taking it (the run was up to date)."""
        render = subprocess.Popen([sys.executable, "-m", "scenegen", "render", str(self.run.root)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        lock = self.run.dir.state / "lock"
        while render.poll() is None and not (lock.exists() and lock.read_text() == str(render.pid)):
            time.sleep(0.005)
        return render

    @rule(after=st.floats(0.0, 0.6))
    def kill_a_render(self, after):
        render = self.start_a_render()
        time.sleep(after)
        render.send_signal(signal.SIGKILL)
        render.communicate()

    @rule(after=st.floats(0.0, 0.3), what=st.sampled_from(sorted(EDITS)), shot=st.integers(0, SHOTS - 1))
    def edit_during_a_render(self, after, what, shot):
        render = self.start_a_render()
        time.sleep(after)
        self.edit(what, shot)
        _, err = render.communicate(timeout=300)
        assert render.returncode == 0, err

    @rule(shot=st.integers(1, SHOTS), back=st.booleans())
    def redo(self, shot, back):
        self.run.redo(str(shot), take=0 if back else None)

    @invariant()
    def up_to_date_means_rendered_from_what_is_on_disk(self):
        fresh = fresh_render(self.run.root)
        for state in self.run.status():
            if state.state == "done":
                artifact = self.run.root / state.record.artifact
                assert file_sha256(artifact) == state.record.sha256 == fresh[state.node.id], state.node.id
        if self.run.dir.stamp_is_current():  # `render` would say "Nothing to do": the exports must be the film of now
            for name in EXPORTS.values():
                assert file_sha256(self.run.root / name) == fresh[name], name


RunMachine.TestCase.settings = settings(max_examples=10, stateful_step_count=8, deadline=None,
                                        derandomize=True, database=None)
TestRunMachine = RunMachine.TestCase
