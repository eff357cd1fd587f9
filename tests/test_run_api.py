"""The `Run` API under the commands: locked read-modify-writes, validate-then-write, takes, replacing a story."""

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scenegen.errors import UserError
from scenegen.orchestrator.run import Run, SettingsChange

from support.runs import SMALL, edit_plan, scenegen


def snapshot(run) -> dict[str, bytes]:
    """Every file the user owns in the run directory, by name."""
    return {name: (run.root / name).read_bytes() for name in ("plan.json", "settings.json") if (run.root / name).exists()}


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_an_fps_the_plan_cannot_take_is_refused_before_settings_change(small_run):
    # A quarter-second dissolve is 3 frames at 12 fps and none at 2.
    edit_plan(small_run, lambda p: p["shots"][0].update(transition={"type": "dissolve", "duration": 0.25}))
    before = snapshot(small_run)
    line = one_line_error(scenegen("render", str(small_run.root), "--fps", "2"))
    assert line.startswith("error: --fps 2: the plan would not fit") and "shots[0].transition.duration" in line
    assert snapshot(small_run) == before
    # The plan still renders at the fps it had.
    assert scenegen("render", str(small_run.root)).returncode == 0


def test_a_settings_file_that_breaks_the_plan_is_named(small_run):
    edit_plan(small_run, lambda p: p["shots"][0].update(transition={"type": "dissolve", "duration": 0.25}))
    settings = json.loads(small_run.settings.read_text())
    settings["output"]["fps"] = 2
    small_run.settings.write_text(json.dumps(settings))
    line = one_line_error(scenegen("status", str(small_run.root)))
    assert f"(output.fps in {small_run.settings})" in line and "shots[0].transition.duration" in line


def test_a_broken_settings_file_is_named_and_left_alone(small_run):
    small_run.settings.write_text('{"output": {"fps": "fast"}}')
    before = snapshot(small_run)
    line = one_line_error(scenegen("render", str(small_run.root), "--size", "320x180"))
    assert line.startswith(f"error: {small_run.settings}: output.fps")
    assert snapshot(small_run) == before


def test_redo_waits_for_no_one_and_writes_nothing_while_another_render_holds_the_run(small_run):
    holder = subprocess.Popen([sys.executable, "-c", lock_holder(small_run.root)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = snapshot(small_run)
        for args in (["redo", str(small_run.root), "--shot", "2"], ["render", str(small_run.root), "--fps", "8"]):
            line = one_line_error(scenegen(*args))
            assert "another scenegen process" in line
            assert snapshot(small_run) == before
    finally:
        holder.kill()
        holder.wait()


def lock_holder(root: Path) -> str:
    """A process that holds the run's lock until killed, as a render does."""
    return ("import sys, time\nfrom scenegen.orchestrator.store import RunDir\n"
            f"RunDir({str(root)!r}).lock()\nprint('locked', flush=True)\ntime.sleep(600)\n")


def test_takes_are_listed_and_any_of_them_comes_back_with_nothing_recomputed(small_run, cli):
    film = (small_run.root / "film.mp4").read_bytes()
    assert cli("redo", str(small_run.root), "--shot", "2").exit_code == 0
    assert cli("redo", str(small_run.root), "--shot", "2", "--seed", "7").exit_code == 0
    shot = Run(small_run.root).plan().shots[1].id
    shown = cli("status", str(small_run.root)).output
    assert f"shot {shot}: take 2 in use; takes 0 (seed none), 1 (seed 1), 2 (seed 7)" in shown
    result = cli("redo", str(small_run.root), "--shot", shot, "--take", "0")
    assert result.exit_code == 0, result.output
    assert f"take 2 (seed 7) -> take 0 (seed none)" in result.output
    assert "Nothing recomputed" in result.output
    assert (small_run.root / "film.mp4").read_bytes() == film
    # Back to take 1, and the next new take does not reuse a seed already tried.
    assert cli("redo", str(small_run.root), "--shot", "2", "--take", "1").exit_code == 0
    assert "-> take 3 (seed 8)" in cli("redo", str(small_run.root), "--shot", "2").output


def test_a_take_that_is_not_there_is_refused(small_run, cli):
    before = snapshot(small_run)
    result = cli("redo", str(small_run.root), "--shot", "2", "--take", "3")
    assert result.exit_code == 2 and "--take 3" in result.output and "takes 0..0" in result.output
    result = cli("redo", str(small_run.root), "--shot", "2", "--take", "0", "--seed", "4")
    assert result.exit_code == 2 and "--seed and --take" in result.output
    assert snapshot(small_run) == before


def test_a_seed_set_by_hand_stays_a_take(small_run, cli):
    edit_plan(small_run, lambda p: p["shots"][1].update(seed=42))
    cli("redo", str(small_run.root), "--shot", "2")
    takes = Run(small_run.root).takes()
    assert list(takes.values())[0].seeds == [None, 42, 43]  # the planner's take stays take 0


def test_story_onto_another_story_refuses_unless_forced(small_run, tmp_path):
    before, film = snapshot(small_run), (small_run.root / "film.mp4").read_bytes()
    line = one_line_error(scenegen("story", "a quest for fire", "--out", str(small_run.root)))
    assert "already holds a plan of \"a woman's life\"" in line and "--force" in line
    assert snapshot(small_run) == before and (small_run.root / "film.mp4").read_bytes() == film

    result = scenegen("story", "a quest for fire", "--shots", "2", "--out", str(small_run.root), "--force")
    assert result.returncode == 0, result.stderr
    assert len(Run(small_run.root).plan().shots) == 2
    kept = list((small_run.state / "replaced").glob("*/plan.json"))
    assert len(kept) == 1 and kept[0].read_bytes() == before["plan.json"]


def test_the_same_story_again_renders_on(small_run):
    (small_run.root / "film.mp4").unlink()
    plan = small_run.plan.read_bytes()
    result = scenegen("story", "a woman's life", "--shots", "6", "--out", str(small_run.root))
    assert result.returncode == 0, result.stderr
    assert "holds this story's plan already" in result.stdout
    assert small_run.plan.read_bytes() == plan and (small_run.root / "film.mp4").is_file()


@pytest.mark.parametrize("args, fragment", [
    (["story", "x", "--out", "NEW/a/b", "--seed", "9" * 5000], "Invalid value for '--seed'"),
    (["story", "x", "--out", "NEW/a/b", "--shots", "0"], "Invalid value for '--shots'"),
    (["story", "x", "--out", "NEW/a/b", "--config", "NEW/missing.toml"], "--config NEW/missing.toml: no such file"),
    (["render", "RUN", "--bogus"], "No such option: --bogus"),
    (["render", "RUN", "--fps", "8", "--executor", "bogus"], "--executor 'bogus'"),
    (["render"], "Missing argument 'target'; see"),
    (["redo", "RUN"], "Missing option '--shot'"),
], ids=["5000-digit seed", "no shots", "missing config", "unknown option", "bad executor", "missing argument",
        "missing option"])
def test_usage_mistakes_are_one_line_and_make_nothing(small_run, tmp_path, args, fragment):
    before = snapshot(small_run)
    args = [a.replace("NEW", str(tmp_path)) for a in args]
    line = one_line_error(scenegen(*[str(small_run.root) if a == "RUN" else a for a in args]))
    assert fragment.replace("NEW", str(tmp_path)) in line and re.search(r"see `scenegen \w+ --help`|no such file|executor", line)
    assert snapshot(small_run) == before and not (tmp_path / "a").exists()


def test_a_plan_file_without_a_suffix_gets_a_run_beside_it(small_run, tmp_path):
    plan = tmp_path / "idea"
    plan.write_bytes(small_run.plan.read_bytes())
    result = scenegen("render", str(plan), "--size", "160x96", "--fps", "12")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "idea-run" / "film.mp4").is_file()
    line = one_line_error(scenegen("plan", "x", "-o", str(plan / "plan.json")))
    assert f"{plan} is a file, not a folder" in line


def test_a_plan_file_with_a_bad_option_gets_no_run_folder(small_run, tmp_path):
    (tmp_path / "here").mkdir()
    plan = tmp_path / "here" / "idea.json"
    plan.write_bytes(small_run.plan.read_bytes())
    one_line_error(scenegen("render", str(plan), "--size", "63x63"))
    assert [p.name for p in plan.parent.iterdir()] == ["idea.json"]


def test_a_takes_file_edited_into_nonsense_is_ignored(small_run, cli):
    (small_run.state / "takes.json").write_text('{"s01": 5, "s02": ["a", 1.5], "s03": [null, 4]}')
    result = cli("status", str(small_run.root))
    assert result.exit_code == 0, result.output
    result = cli("redo", str(small_run.root), "--shot", "1")
    assert result.exit_code == 0 and "take 0 (seed none) -> take 1 (seed 1)" in result.output


def test_a_settings_file_failing_on_its_own_is_blamed_for_its_own_error(small_run):
    settings = json.loads(small_run.settings.read_text())
    settings["backends"]["clip"]["name"] = "zzz"
    small_run.settings.write_text(json.dumps(settings))
    line = one_line_error(scenegen("render", str(small_run.root), "--backend", "nope"))
    assert line.startswith("error: --backend nope: no portrait backend named 'nope'")
    line = one_line_error(scenegen("render", str(small_run.root), "--fps", "8"))
    assert line.startswith(f"error: {small_run.settings}: no clip backend named 'zzz'")


def test_a_plan_nested_a_hundred_thousand_deep_is_one_line(tmp_path):
    plan = tmp_path / "deep.json"
    plan.write_text("[" * 100_000 + "]" * 100_000)
    line = one_line_error(scenegen("render", str(plan)))
    assert line == f"error: {plan}: nested too deeply to be a plan or settings file"
    assert not (tmp_path / "deep").exists()


def test_the_api_refuses_a_settings_change_the_backends_refuse(small_run):
    before = snapshot(small_run)
    with pytest.raises(UserError, match="backend named 'nope'"):
        Run(small_run.root).update_settings(SettingsChange(backend="nope"))
    assert snapshot(small_run) == before


def test_the_readme_python_example_runs(tmp_path):
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    example = re.search(r"### From Python\n.*?```python\n(.*?)```", readme, re.S)[1]
    result = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "runs" / "a-lighthouse-keeper-s-last-winter" / "film.mp4").is_file()


def test_run_is_importable_from_the_package_without_making_import_scenegen_slow():
    # The fast path of `scenegen render RUN` imports the package: it must not bring the orchestrator or pydantic.
    code = ("import sys, scenegen; slow = {'pydantic', 'scenegen.orchestrator.run'} & set(sys.modules); "
            "from scenegen import Run; from scenegen.orchestrator.run import Run as Defined; "
            "print(sorted(slow), Run is Defined)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[] True", result.stderr


def test_the_api_names_its_own_parameters_in_errors_never_a_command_line_flag(small_run, tmp_path):
    from scenegen.orchestrator.run import Planner

    edit_plan(small_run, lambda p: p["shots"][0].update(transition={"type": "dissolve", "duration": 0.25}))
    run, a_file = Run(small_run.root), tmp_path / "a-file"
    a_file.write_text("")
    mistakes = [
        (lambda: run.redo("99"), "shot='99': no such shot"),
        (lambda: run.redo("2", take=3), "take=3: shot 2"),
        (lambda: run.redo("2", seed=4, take=0), "seed and take both choose the take"),
        (lambda: run.update_settings(SettingsChange(fps=2)), "fps=2: the plan would not fit"),
        (lambda: run.update_settings(SettingsChange(backend="nope", sound=False)), "backend='nope' sound=False: no "),
        (lambda: run.update_settings(SettingsChange(config=tmp_path / "none.toml")), "config='"),
        (lambda: run.update_settings(SettingsChange(fps=12, size=(160, 91))), "fps=12 size=(160, 91): output.height"),
        (lambda: Run.story(" "), "sentence is empty"),
        (lambda: Run.story("x", a_file / "run"), "choose another root"),
        (lambda: Run.story("a quest for fire", small_run.root), "force=True replaces it"),
        (lambda: Run.story("x", tmp_path / "new", planner=Planner("nope")), "planner='nope': no such planner"),
        (lambda: Planner().write("x", 2, 0, tmp_path), "path='"),
        (lambda: Planner().write("x", 2, 0, a_file), "pass force=True to replace it, or choose another path"),
        (lambda: Run.adopt(small_run.plan, a_file / "run"), "choose another root"),
    ]
    for mistake, fragment in mistakes:
        with pytest.raises(UserError) as refused:
            mistake()
        message = str(refused.value)
        assert fragment in message and not re.search(r"(^|\s)--?[a-z]", message), message


def test_render_makes_its_executor_only_when_there_is_work_and_closes_what_it_made(small_run):
    from scenegen.orchestrator.executor import InProcessExecutor

    class Recorded(InProcessExecutor):
        closed = False

        def close(self) -> None:
            super().close()
            self.closed = True

    made = []

    def make() -> Recorded:
        made.append(Recorded(workers=1))
        return made[-1]

    run = Run(small_run.root)
    assert run.render(make).up_to_date and made == []  # a Ray cluster is never joined for nothing to do
    edit_plan(small_run, lambda p: p["shots"][0].update(background="A lighthouse at dusk."))
    report = run.render(make)
    assert report.ok and report.executed and len(made) == 1 and made[0].closed


def test_no_error_below_the_command_line_words_a_flag():
    # The cases above reach only some errors; every other message below cli.py must name its option as data
    # ({size!n}, {config!n}) too, or a Python caller reads flags it never passed.
    flag = re.compile(r"(^|[\s(`])--[a-z]")
    package = Path(__file__).parent.parent / "scenegen"
    worded = []
    for path in package.rglob("*.py"):
        if path.name == "cli.py":
            continue
        for call in ast.walk(ast.parse(path.read_text())):
            if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "UserError":
                text = "".join(part.value for arg in call.args for part in ast.walk(arg)
                               if isinstance(part, ast.Constant) and isinstance(part.value, str))
                if flag.search(text):
                    worded.append(f"{path.relative_to(package)}:{call.lineno}: {text[:80]}")
    assert worded == []
