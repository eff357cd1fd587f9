"""A render killed with SIGKILL finishes on the next `render`, and the film it makes is
byte-identical to an uninterrupted run's; nothing half-written is ever taken as done."""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

from scenegen.orchestrator.render import status
from scenegen.orchestrator.store import RunDir

from support.runs import SMALL, fresh_copy, reference_run, rerender, scenegen


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return reference_run(tmp_path_factory, "a quest for the last lighthouse", 12, *SMALL)


@pytest.mark.parametrize("trial", range(3))
def test_sigkill_then_render_gives_the_same_film(reference, tmp_path, trial):
    ref, _ = reference
    run = fresh_copy(ref, tmp_path / "run")
    process = subprocess.Popen([sys.executable, "-m", "scenegen", "render", str(run.root)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # After a seeded number of nodes are recorded, so every trial lands mid-run whatever
    # the machine's speed (a wall-clock delay sometimes outlasted a warm render).
    target = random.Random(trial).randint(5, 30)
    records = run.state / "records"
    while process.poll() is None and sum(1 for _ in records.rglob("*.json")) < target:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (run.root / "film.mp4").exists(), "the kill came too late to test anything"
    states = {s.state for s in status(run)}
    assert "missing" in states and "done" in states, states

    result = scenegen("render", str(run.root))
    assert result.returncode == 0, result.stderr
    assert (run.root / "film.mp4").read_bytes() == (ref.root / "film.mp4").read_bytes()
    assert all(s.state == "done" for s in status(run))
    assert not any(run.tmp.iterdir()), "temp files of the killed process were left behind"


def test_an_artifact_without_its_record_is_recomputed(reference, tmp_path):
    ref, _ = reference
    run = RunDir(tmp_path / "run")
    shutil.copytree(ref.root, run.root)
    # As if killed between publishing a clip and recording it: artifact present, record gone.
    record = next((run.state / "records" / "clip").rglob("*.json"))
    node = json.loads(record.read_text())["node"]
    record.unlink()
    report = rerender(run)
    assert node in report.executed
    assert (run.root / "film.mp4").read_bytes() == (ref.root / "film.mp4").read_bytes()


def test_a_truncated_artifact_is_not_taken_as_done(reference, tmp_path):
    ref, _ = reference
    run = RunDir(tmp_path / "run")
    shutil.copytree(ref.root, run.root)
    record = json.loads(next((run.state / "records" / "keyframe").rglob("*.json")).read_text())
    artifact = run.root / record["artifact"]
    artifact.write_bytes(artifact.read_bytes()[:100])
    assert record["node"] in {s.node.id for s in status(run) if s.state != "done"}
    report = rerender(run)
    assert record["node"] in report.executed
    assert artifact.stat().st_size == record["bytes"]


def test_a_second_render_on_the_same_run_is_refused(reference, tmp_path):
    ref, _ = reference
    run = fresh_copy(ref, tmp_path / "run")
    run.lock()
    try:
        result = scenegen("render", str(run.root))
    finally:
        run.unlock()
    assert result.returncode == 2
    assert f"pid {os.getpid()}" in result.stderr and "another scenegen process" in result.stderr
    assert not (run.root / "artifacts").exists()


def test_same_plan_and_settings_give_identical_artifacts(reference, tmp_path):
    ref, _ = reference
    run = fresh_copy(ref, tmp_path / "run")
    assert rerender(run).ok
    ours = {p.relative_to(run.root): p.read_bytes() for p in (run.root / "artifacts").rglob("*") if p.is_file()}
    theirs = {p.relative_to(ref.root): p.read_bytes() for p in (ref.root / "artifacts").rglob("*") if p.is_file()}
    assert ours == theirs
