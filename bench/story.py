"""The 30-shot animatic, timed end to end as a user runs it, all figures from one run.

    python bench/story.py [--shots 30] [--out docs/benchmarks.md]

Times, in one run on this machine, through the real command line (a fresh
interpreter per command, as a user pays it):
  1. full    `scenegen story "a woman's life" --shots N` into an empty directory (median of 3,
             taken in turn with the silent runs of 5);
  2. no-op   `scenegen render RUN` straight after (median of 5);
  3. edit    one shot's camera movement changed in plan.json, then `scenegen render RUN`
             (recomputes the clip, its transitions, the segments showing them, film,
             timeline, storyboard);
     background  another shot's background changed, then `scenegen render RUN` (redraws
             its keyframe, then the same as a camera edit);
  4. encode  the film's frames encoded again, as one stream, with the segments' encoder
             settings (decoding excluded): what encoding this film costs;
  5. silent  the same `story` with `--no-sound` into another empty directory (median of 3):
             what the sound track (voices, score, mix) costs;
  6. line    one line of dialogue reworded in plan.json, then `scenegen render RUN`
             (re-voices it, mixes again, remuxes the film);
  7. plan    `scenegen plan "a woman's life" --shots N -o FILE`: the offline planner
             alone, its imports included (median of 5).
Python caches compiled modules, as it does for a user by default: where the environment
turns that off (PYTHONDONTWRITEBYTECODE, as this project's sandbox does), the commands keep
their cache under the run's temporary folder instead, made by one untimed command first.
Otherwise every command would compile scenegen's 50 modules again (0.08 s), which no user's does.

It writes the table of times and ratios to the given markdown file. Beside each wall time
stands the CPU time the command itself used (user + system): others' work on a shared
machine stretches a parallel full run's wall time more than a short edit's, and moves the
wall-time ratios with it, while CPU time moves far less.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av

from scenegen.modules.segment.pyav import PyAVSegment


COMMANDS_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def timed(*args: str) -> tuple[float, float]:
    """Wall and CPU seconds of one command."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run([sys.executable, "-m", "scenegen", *args], check=True, capture_output=True, env=COMMANDS_ENV)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def median(timings) -> tuple[float, float]:
    """The median wall and the median CPU seconds of several runs."""
    walls, cpus = zip(*timings)
    return statistics.median(walls), statistics.median(cpus)


def pure_encode(film: Path) -> tuple[float, float]:
    with av.open(str(film)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="yuv420p") for f in container.decode(stream)]
        fps, width, height = int(stream.average_rate), stream.width, stream.height
    start, cpu = time.perf_counter(), time.process_time()
    with PyAVSegment.Settings().writer(film.with_name("encode-only.mp4"), fps, width, height) as video:
        for planes in frames:
            video.write_yuv(planes)
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shots", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        COMMANDS_ENV["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "bytecode")
        timed("story", "a woman's life", "--shots", "2", "--out", str(Path(tmp) / "warm-up"))
        # The full and the silent run alternate, three of each, and each counts by its median:
        # on a shared 2-core machine one run of either moved by a fifth from one try to the next.
        fulls, silents = [], []
        for k in range(3):
            fulls.append(timed("story", "a woman's life", "--shots", str(args.shots), "--out", str(Path(tmp) / f"life{k}")))
            silents.append(timed("story", "a woman's life", "--shots", str(args.shots), "--out",
                                 str(Path(tmp) / f"silent{k}"), "--no-sound"))
        full, silent = median(fulls), median(silents)
        run = Path(tmp) / "life0"
        noop = median(timed("render", str(run)) for _ in range(5))
        plan = json.loads((run / "plan.json").read_text())
        camera = plan["shots"][args.shots // 2]["camera"]
        camera["movement"] = "zoom_in" if camera["movement"] != "zoom_in" else "pan_left"
        camera["movement_amount"] = 0.7  # a static shot has amount 0: it would not move
        (run / "plan.json").write_text(json.dumps(plan, indent=2))
        edit = timed("render", str(run))
        plan = json.loads((run / "plan.json").read_text())
        plan["shots"][args.shots // 3]["background"] = "a harbour wall in the rain, fishing boats tied up below"
        (run / "plan.json").write_text(json.dumps(plan, indent=2))
        background = timed("render", str(run))
        plan = json.loads((run / "plan.json").read_text())
        line = next(shot["dialogue"][0] for shot in plan["shots"][args.shots // 2:] if shot["dialogue"])
        line["text"] = "Wait for me, I will not be long."
        (run / "plan.json").write_text(json.dumps(plan, indent=2))
        reworded = timed("render", str(run))
        encode = pure_encode(run / "film.mp4")
        planned = median(timed("plan", "a woman's life", "--shots", str(args.shots), "-o",
                               str(Path(tmp) / f"plan{k}.json")) for k in range(5))
        with av.open(str(run / "film.mp4")) as container:
            frames = container.streams.video[0].frames
    load_after = os.getloadavg()[0]

    def ratio(name: str, part: tuple[float, float], whole: tuple[float, float], digits: int = 2) -> str:
        return f"{name} = {part[0] / whole[0]:.{digits}f} (CPU {part[1] / whole[1]:.{digits}f})"

    rows = [
        ("full run (`story`, empty run directory; median of 3)", full, "1"),
        ("no-op resume (`render` straight after)", noop, f"no-op / full = {noop[0] / full[0]:.2%}"),
        ("edit one shot's camera movement, `render`", edit, ratio("edit / full", edit, full)),
        ("edit one shot's background, `render`", background, ratio("background / full", background, full)),
        ("pure encode of the film's frames", encode, ratio("full / encode", full, encode, 1)),
        ("full run without sound (`story --no-sound`; median of 3)", silent, ratio("full / silent", full, silent)),
        ("reword one line, `render`", reworded, ratio("line / full", reworded, full)),
        ("offline plan alone (`plan`, imports included)", planned, f"plan / full = {planned[0] / full[0]:.2f}"),
    ]
    table = "\n".join(f"| {name} | {wall:.2f} s | {cpu:.2f} s | {text} |" for name, (wall, cpu), text in rows)
    section = f"""## The {args.shots}-shot animatic (`bench/story.py`)

One run of `python bench/story.py --shots {args.shots}`: {frames} film frames at the default 640x360, 24 fps.
Machine: {platform.machine()}, {_cores()} cores, Python {platform.python_version()}, PyAV {av.__version__}.
Each command runs in a fresh interpreter, as a user's does, with Python's bytecode cache (see the script). Load average (1 min) on this shared
machine: {load_before:.1f} as the run began, {load_after:.1f} as it ended.

| what | wall time | CPU time | ratio |
|---|---|---|---|
{table}
"""
    _replace_section(args.out, section)
    print(section)


def _replace_section(path: Path, section: str) -> None:
    """Write `section` in place of the file's section under the same heading; the others stay."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    heading = section.splitlines()[0]
    old = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = old.sub(lambda _: section + "\n", text, count=1) if old.search(text) else text.rstrip() + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    main()
