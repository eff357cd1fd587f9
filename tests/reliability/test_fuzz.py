"""Fuzz: generated malformed plans and option values, fed to every command.

Each case must end in exactly one line on stderr, `error: ...`, naming the JSON path
or the option at fault, with exit code 2, no traceback, every file of the run as it
was and no file or folder made (not even the run's lock: every check comes first).
"""

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from scenegen.cli import app

from support.malformed import mutations, set_path
from support.runs import scenegen

CASES = 200     # distinct ones; hypothesis draws some twice, so it is asked for more


@pytest.fixture(scope="module")
def valid(tmp_path_factory) -> Path:
    """A run folder holding a valid 6-shot plan and settings, never rendered (every case fails before that)."""
    root = tmp_path_factory.mktemp("valid")
    assert scenegen("plan", "a woman's life", "--shots", "6", "-o", str(root / "plan.json")).returncode == 0
    (root / "settings.json").write_text(json.dumps({"output": {"fps": 12, "width": 160, "height": 96}}))
    return root


def files(root: Path) -> dict[str, bytes | None]:
    """Every file's bytes and every folder (None) under root."""
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else None for p in sorted(root.rglob("*"))}


TOML = {  # a --config file: its content, and what the error must name besides the file
    "not toml": ("x", "not valid TOML"),
    "a table that is a number": ("output = 3", "output must be a table"),
    "a misspelled table": ("[outptu]\nfps = 12", "unknown table [outptu]"),
    "fps out of range": ("[output]\nfps = 0", "output.fps"),
    "an odd width": ("[output]\nwidth = 321", "output.width"),
    "an unknown backend": ('[backends.clip]\nname = "nope"', "no clip backend named 'nope'"),
    "backend settings not a table": ('[backends.clip]\nname = "animatic"\nsettings = 3', "backends.clip.settings"),
    "an unknown output key": ("[output]\nframerate = 12", "output.framerate"),
    "a negative budget": ("[device]\nmemory_budget_gb = -1", "device.memory_budget_gb"),
}

NOT_INT = st.one_of(st.sampled_from(["x", "1.5", "", "1e3", "٣", "0x10"]), st.integers(max_value=-1).map(str))
OPTIONS = {  # option: (the commands it is given to, values it must refuse)
    "--shots": (["story", "plan"], st.one_of(NOT_INT, st.sampled_from(["0", "201", "9" * 5000]))),
    "--seed": (["story", "plan", "redo"], st.one_of(NOT_INT, st.just("9" * 5000))),
    "--fps": (["story", "render", "render a plan file"], st.one_of(NOT_INT, st.sampled_from(["0", "121", "100000"]))),
    "--size": (["story", "render", "render a plan file"], st.one_of(
        st.text(max_size=12).filter(lambda s: "x" not in s.lower()),
        st.sampled_from(["641x360", "640x361", "0x0", "62x62", "64x", "x64", "-640x360", "100000x100000", "640x360x2"]))),
    "--jobs": (["story", "render", "redo"], st.one_of(NOT_INT, st.just("0"))),
    "--backend": (["story", "render", "render a plan file"], st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
                  .filter(lambda s: s not in ("animatic", "diffusers"))),
    "--planner": (["story", "plan"], st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
                  .filter(lambda s: s not in ("auto", "offline", "llm"))),
    "--executor": (["render", "render a plan file"], st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
                   .filter(lambda s: s not in ("inprocess", "ray"))),
    "--shot": (["redo"], st.one_of(st.sampled_from(["0", "7", "-1", "", "s99", "S01"]), st.text(max_size=6))
               .filter(lambda s: s not in {"1", "2", "3", "4", "5", "6"} and not s.startswith("s0"))),
    "--take": (["redo"], st.one_of(NOT_INT, st.sampled_from(["1", "5"]))),
    # A bound of a stretch alone is refused too: it names the bound given and the one missing.
    "--from": (["redo"], st.sampled_from(["x", "", "-1", "1,5", "0.5"])),
    "--to": (["redo"], st.sampled_from(["x", "", "-0.5", "2"])),
    "--config": (["story", "render", "render a plan file"], st.sampled_from(sorted(TOML) + ["a missing file", "a folder"])),
}


def option_case():
    """(arguments, what the error must name) for one bad option value given to one command."""
    def build(option, command, value):
        args = {"story": ["story", "a woman's life", "--out", "RUN/new/run"], "plan": ["plan", "x", "-o", "RUN/new.json"],
                "render": ["render", "RUN"], "render a plan file": ["render", "RUN/idea.json"],
                "redo": ["redo", "RUN"]}[command]
        if command == "redo" and option != "--shot":
            args = args + ["--shot", "2"]
        if option == "--config":
            return args + ["--config", f"RUN/{value}.toml"], [value]
        return args + [option, value], [option]
    return st.sampled_from(sorted(OPTIONS)).flatmap(lambda option: st.tuples(
        st.just(option), st.sampled_from(OPTIONS[option][0]), OPTIONS[option][1])).map(lambda c: build(*c))


def plan_case():
    """(arguments, what the error must name) for a malformed plan given to one command."""
    commands = st.sampled_from([["status", "RUN"], ["render", "RUN"], ["redo", "RUN", "--shot", "1"],
                                ["render", "RUN/idea.json"], ["render", "RUN", "--fps", "8"]])
    return st.tuples(commands, mutations()).map(lambda c: (c[0], c[1]))


def test_generated_malformed_plans_and_options(valid, tmp_path_factory):
    runner, tried = CliRunner(), []

    @settings(max_examples=2 * CASES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.one_of(option_case().map(lambda c: ("option", c)), plan_case().map(lambda c: ("plan", c))))
    def check(case):
        what, (args, detail) = case
        root = tmp_path_factory.mktemp("case")
        shutil.copytree(valid, root, dirs_exist_ok=True)
        if what == "plan":
            dotted, shot, value = detail
            plan = json.loads((root / "plan.json").read_text())
            named = [set_path(plan, dotted.format(i=shot), value)]
            broken = json.dumps(plan, allow_nan=True)
            (root / "plan.json").write_text(broken)
            (root / "idea.json").write_text(broken)
        else:
            named = detail
            (root / "idea.json").write_bytes((root / "plan.json").read_bytes())
            for name, (content, _) in TOML.items():
                (root / f"{name}.toml").write_text(content)
            (root / "a folder.toml").mkdir()
        before = files(root)
        argv = [a.replace("RUN", str(root)) for a in args]
        result = runner.invoke(app, argv)
        lines = result.stderr.strip().splitlines()
        assert result.exit_code == 2, (argv, result.output, result.exception)
        assert len(lines) == 1 and lines[0].startswith("error: "), (argv, result.stderr)
        assert any(name in lines[0] for name in named), (argv, named, lines[0])
        if what == "option" and args[-2] == "--config" and Path(args[-1]).stem in TOML:
            assert TOML[Path(args[-1]).stem][1] in lines[0], (argv, lines[0])
        assert files(root) == before, argv
        assert not (root / "new").exists() and not (root / "new.json").exists() and not (root / "idea").exists()
        tried.append((what, tuple(args), repr(detail)))
        shutil.rmtree(root)

    check()
    assert len(set(tried)) >= CASES, f"only {len(set(tried))} distinct cases were generated"
