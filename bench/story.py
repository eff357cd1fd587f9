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
  4. encode  the film's frames encoded again, as one stream, with the segments' encoder
             settings (decoding excluded): what encoding this film costs;
  5. silent  the same `story` with `--no-sound` into another empty directory (median of 3):
             what the sound track (voices, score, mix) costs;
  6. line    one line of dialogue reworded in plan.json, then `scenegen render RUN`
             (re-voices it, mixes again, remuxes the film);
  7. plan    `scenegen plan "a woman's life" --shots N -o FILE`: the offline planner
             alone, its imports included (median of 5).
and writes the table of times and ratios to the given markdown file.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av

from scenegen.modules.segment.pyav import Settings as SegmentSettings


def timed(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "scenegen", *args], check=True, capture_output=True)
    return time.perf_counter() - start


def pure_encode(film: Path) -> float:
    with av.open(str(film)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="yuv420p") for f in container.decode(stream)]
        fps, width, height = int(stream.average_rate), stream.width, stream.height
    start = time.perf_counter()
    with SegmentSettings().writer(film.with_name("encode-only.mp4"), fps, width, height) as video:
        for planes in frames:
            video.write_yuv(planes)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shots", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        # The full and the silent run alternate, three of each, and each counts by its median:
        # on a shared 2-core machine one run of either moved by a fifth from one try to the next.
        fulls, silents = [], []
        for k in range(3):
            fulls.append(timed("story", "a woman's life", "--shots", str(args.shots), "--out", str(Path(tmp) / f"life{k}")))
            silents.append(timed("story", "a woman's life", "--shots", str(args.shots), "--out",
                                 str(Path(tmp) / f"silent{k}"), "--no-sound"))
        full, silent = statistics.median(fulls), statistics.median(silents)
        run = Path(tmp) / "life0"
        noop = statistics.median(timed("render", str(run)) for _ in range(5))
        plan = json.loads((run / "plan.json").read_text())
        camera = plan["shots"][args.shots // 2]["camera"]
        camera["movement"] = "zoom_in" if camera["movement"] != "zoom_in" else "pan_left"
        camera["movement_amount"] = 0.7  # a static shot has amount 0: it would not move
        (run / "plan.json").write_text(json.dumps(plan, indent=2))
        edit = timed("render", str(run))
        plan = json.loads((run / "plan.json").read_text())
        line = next(shot["dialogue"][0] for shot in plan["shots"][args.shots // 2:] if shot["dialogue"])
        line["text"] = "Wait for me, I will not be long."
        (run / "plan.json").write_text(json.dumps(plan, indent=2))
        reworded = timed("render", str(run))
        encode = pure_encode(run / "film.mp4")
        planned = statistics.median(timed("plan", "a woman's life", "--shots", str(args.shots), "-o",
                                          str(Path(tmp) / f"plan{k}.json")) for k in range(5))
        with av.open(str(run / "film.mp4")) as container:
            frames = container.streams.video[0].frames

    rows = [
        ("full run (`story`, empty run directory; median of 3)", full, "1"),
        ("no-op resume (`render` straight after)", noop, f"no-op / full = {noop / full:.2%}"),
        ("edit one shot's camera movement, `render`", edit, f"edit / full = {edit / full:.2f}"),
        ("pure encode of the film's frames", encode, f"full / encode = {full / encode:.1f}"),
        ("full run without sound (`story --no-sound`; median of 3)", silent, f"full / silent = {full / silent:.2f}"),
        ("reword one line, `render`", reworded, f"line / full = {reworded / full:.2f}"),
        ("offline plan alone (`plan`, imports included)", planned, f"plan / full = {planned / full:.2f}"),
    ]
    table = "\n".join(f"| {name} | {seconds:.2f} s | {ratio} |" for name, seconds, ratio in rows)
    section = f"""## The {args.shots}-shot animatic (`bench/story.py`)

One run of `python bench/story.py --shots {args.shots}`: {frames} film frames at the default 640x360, 24 fps.
Machine: {platform.machine()}, {_cores()} cores, Python {platform.python_version()}, PyAV {av.__version__}.
Each command runs in a fresh interpreter, as a user's does.

| what | wall time | ratio |
|---|---|---|
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
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    main()
