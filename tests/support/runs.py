"""Runs made, edited and read back as a user would: the real command line in a fresh
interpreter, plan.json edited by hand, a render in this process, the film's subtitle track."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import av

from scenegen.orchestrator.executor import InProcessExecutor
from scenegen.orchestrator.render import bring_up_to_date
from scenegen.orchestrator.store import RunDir

SMALL = ["--size", "160x96", "--fps", "12"]


def scenegen(*args: str, cwd: Path | None = None, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real command line in a fresh interpreter, as a user would (with `env` added to the environment)."""
    return subprocess.run([sys.executable, "-m", "scenegen", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "COLUMNS": "200", **(env or {})})


def edit_plan(run: RunDir, change) -> None:
    plan = json.loads(run.plan.read_text())
    change(plan)
    run.plan.write_text(json.dumps(plan, indent=2))


def rerender(run: RunDir, executor=None):
    """Render (in-process unless an executor is given) and return the report (which nodes ran)."""
    executor = executor or InProcessExecutor(workers=2)
    run.lock()
    try:
        return bring_up_to_date(run, executor)
    finally:
        executor.close()
        run.unlock()


def reference_run(tmp_path_factory, sentence: str, shots: int, *options: str) -> tuple[RunDir, float]:
    """An uninterrupted render, and how long it took."""
    root = tmp_path_factory.mktemp("reference") / "run"
    start = time.monotonic()
    result = scenegen("story", sentence, "--shots", str(shots), "--out", str(root), *options)
    assert result.returncode == 0, result.stderr
    return RunDir(root), time.monotonic() - start


def fresh_copy(reference: RunDir, target: Path) -> RunDir:
    """A run directory holding only the reference's plan and settings: nothing rendered."""
    target.mkdir()
    for name in ("plan.json", "settings.json"):
        shutil.copy(reference.root / name, target / name)
    return RunDir(target)


def subtitle_cues(video: Path) -> list[tuple[float, float, str]]:
    """(start s, end s, text) of each cue of a video's subtitle track (the muxer's empty filler samples skipped),
    the text with its ASS style overrides ({\\i1} for italics) and its line breaks as newlines."""
    with av.open(str(video)) as container:
        track = container.streams.subtitles[0]
        assert track.codec_context.name == "mov_text"
        cues = []
        for packet in container.demux(track):
            decoded = track.decode2(packet) if packet.dts is not None else None
            if decoded:
                # The decoded ASS event's text field, its ninth: PyAV 18.1.1's `dialogue` strips the
                # style overrides the track carries, which the tests check.
                text = decoded[0].ass.decode().split(",", 8)[8].replace("\\N", "\n")
                cues.append((float(packet.pts * packet.time_base), float((packet.pts + packet.duration) * packet.time_base),
                             text))
        return cues
