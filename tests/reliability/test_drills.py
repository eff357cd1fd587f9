"""Reliability drills: nothing is ever lost or silently corrupted.

- 20 seeded SIGKILLs at random moments of a 30-shot render, each followed by `render`;
- malformed plans, generated: one line naming the JSON path, exit code 2, file untouched;
- two `render` processes on one run directory;
- a write failing (the file-size limit, as a full disk fails it) while an artifact is stored;
(a node that raises is drilled in tests/test_cli.py).
"""

import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

from scenegen.cli import app
from scenegen.orchestrator.render import status

from support.malformed import mutations, set_path
from support.runs import fresh_copy, reference_run, scenegen

DRILL_SIZE = ["--size", "320x180"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return reference_run(tmp_path_factory, "a woman's life", 30, *DRILL_SIZE)


@pytest.mark.slow
@pytest.mark.timeout(1500)   # forty killed renders and twenty whole ones: ten minutes beside the other tests
def test_twenty_sigkills_each_resume_to_the_same_film(reference, tmp_path):
    ref, seconds = reference
    film = (ref.root / "film.mp4").read_bytes()
    killed_mid_run = 0
    for trial in range(20):
        run = fresh_copy(ref, tmp_path / f"trial{trial}")
        rng = random.Random(trial)
        # Kill twice at random moments, then let the last render finish.
        for _ in range(2):
            process = subprocess.Popen([sys.executable, "-m", "scenegen", "render", str(run.root)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.05, 1.0) * seconds)
            process.send_signal(signal.SIGKILL)
            process.wait()
            killed_mid_run += not (run.root / "film.mp4").exists()
        result = scenegen("render", str(run.root))
        assert result.returncode == 0, (trial, result.stderr)
        assert (run.root / "film.mp4").read_bytes() == film, f"trial {trial}: the film differs"
        assert all(s.state == "done" for s in status(run))
        shutil.rmtree(run.root)
    assert killed_mid_run >= 20, "too few kills landed before the end of a render to test anything"


# -- malformed plans ----------------------------------------------------------------

@pytest.fixture(scope="module")
def valid_plan(tmp_path_factory):
    out = tmp_path_factory.mktemp("plan") / "plan.json"
    assert scenegen("plan", "a woman's life", "--shots", "6", "-o", str(out)).returncode == 0
    return json.loads(out.read_text())


def expect_one_line_error(path, plan_bytes: bytes, fragment: str | None = None):
    path.write_bytes(plan_bytes)
    result = CliRunner().invoke(app, ["status", str(path.parent)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}"), result.output
    if fragment:
        assert fragment in lines[0], (fragment, lines[0])
    assert path.read_bytes() == plan_bytes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=mutations())
def test_generated_malformed_plans(valid_plan, tmp_path_factory, mutation):
    dotted, shot, value = mutation
    plan = json.loads(json.dumps(valid_plan))
    where = set_path(plan, dotted.format(i=shot), value)
    # allow_nan: Infinity is what a careless tool writes; the plan must still be refused.
    data = json.dumps(plan, allow_nan=True).encode()
    expect_one_line_error(tmp_path_factory.mktemp("bad") / "plan.json", data, where)


@pytest.mark.parametrize("content, fragment", [
    (b'{"title": "x", "shots": [', "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b'{"title": "\xed\xa0\x80"}', "not UTF-8"),
    (b"", "not valid JSON"),
    (b"null", "(top level)"),
], ids=["truncated", "binary", "lone surrogate", "empty", "null"])
def test_unreadable_plans(tmp_path, content, fragment):
    expect_one_line_error(tmp_path / "plan.json", content, fragment)


def test_thousands_of_shots(valid_plan, tmp_path):
    plan = json.loads(json.dumps(valid_plan))
    plan["shots"] = [dict(plan["shots"][0], id=f"s{i}", index=i + 1) for i in range(5000)]
    expect_one_line_error(tmp_path / "plan.json", json.dumps(plan).encode(), "shots: List should have at most 200 items")


# -- concurrency and failing writes ---------------------------------------------------


def test_a_second_render_refuses_while_the_first_runs(reference, tmp_path):
    ref, seconds = reference
    run = fresh_copy(ref, tmp_path / "run")
    first = subprocess.Popen([sys.executable, "-m", "scenegen", "render", str(run.root)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not any((run.root / ".scenegen" / "records").rglob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    second = scenegen("render", str(run.root))
    assert second.returncode == 2
    assert f"another scenegen process (pid {first.pid}) is rendering this run" in second.stderr
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert (run.root / "film.mp4").read_bytes() == (ref.root / "film.mp4").read_bytes()


def limit_file_size():
    # What a full disk does to a write, for files past 150 kB: fail with an error.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (150_000, 150_000))


def test_a_failing_write_records_nothing_partial(reference, tmp_path):
    ref, _ = reference
    run = fresh_copy(ref, tmp_path / "run")
    result = subprocess.run([sys.executable, "-m", "scenegen", "render", str(run.root)], capture_output=True,
                            text=True, preexec_fn=limit_file_size, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 1
    assert "File too large" in result.stderr and "failed:" in result.stderr
    states = status(run)
    failed = [s for s in states if s.state == "failed"]
    assert failed and all("File too large" in s.error for s in failed)
    # Nothing recorded is partial: every record's artifact is whole, and no failed node has one.
    for s in states:
        if s.record:
            assert (run.root / s.record.artifact).stat().st_size == s.record.bytes
    assert not any(run.tmp.iterdir())
    # With room again, the next render finishes the same film.
    assert scenegen("render", str(run.root)).returncode == 0
    assert (run.root / "film.mp4").read_bytes() == (ref.root / "film.mp4").read_bytes()
