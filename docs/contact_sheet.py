"""Make docs/contact_sheet.png: keyframes of three offline stories, one row each, as the README shows them.

    python docs/contact_sheet.py [OUT.png]

Each story is planned and rendered by the project (`Run`, the offline planner, the
animatic backends) into a temporary folder; the sheet shows every other keyframe,
cropped to the frame the film shows, under the sentence that made it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from scenegen.modules.keyframe.animatic import MARGIN
from scenegen.orchestrator.run import Run, SettingsChange

SENTENCES = [
    "a detective chases a thief through rainy Tokyo",
    "a girl grows up in the mountains",
    "an old fisherman and the storm",
]
SHOTS = 12
SIZE = (320, 180)
THUMB = (200, 112)
LABEL = 30


def keyframes(sentence: str, folder: Path) -> list[Image.Image]:
    run, _ = Run.story(sentence, folder / "run", shots=SHOTS, change=SettingsChange(size=SIZE, fps=12))
    report = run.render()
    if report.failed:
        raise SystemExit(f"{sentence!r}: {len(report.failed)} nodes failed; see `scenegen status {run.root}`")
    records = {state.node.id: state.record for state in run.status() if state.record}
    frames = []
    for shot in run.plan().shots[::2]:
        still = Image.open(run.root / records[f"keyframe:{shot.id}"].artifact).convert("RGB")
        # The still is drawn MARGIN times larger than the frame; the film shows its centre.
        w, h = still.width / MARGIN, still.height / MARGIN
        left, top = (still.width - w) / 2, (still.height - h) / 2
        frames.append(still.crop((int(left), int(top), int(left + w), int(top + h))).resize(THUMB, Image.LANCZOS))
    return frames


def main(out: Path) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for n, sentence in enumerate(SENTENCES):
            rows.append((sentence, keyframes(sentence, Path(folder) / str(n))))
    columns = max(len(frames) for _, frames in rows)
    sheet = Image.new("RGB", (columns * THUMB[0], len(rows) * (THUMB[1] + LABEL)), (24, 24, 28))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=16)
    for r, (sentence, frames) in enumerate(rows):
        y = r * (THUMB[1] + LABEL)
        draw.text((8, y + 6), f'scenegen story "{sentence}" --shots {SHOTS}', fill=(235, 235, 235), font=font)
        for c, frame in enumerate(frames):
            sheet.paste(frame, (c * THUMB[0], y + LABEL))
    sheet.save(out, optimize=True)
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("contact_sheet.png"))
