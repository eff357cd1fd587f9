"""Make docs/set.png: one location of the README story, its set, and three shots cut from it.

    python docs/set_figure.py [OUT.png]

The story is planned and rendered by the project (`Run`, the offline planner, the animatic
backends) into a temporary folder. The figure shows the first location that three shots
share, one of them a reverse: its set, the whole 360° strip with each shot's view marked on
it, and under it those shots' keyframes, cropped to the frame the film shows.
"""

from __future__ import annotations

import math
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from scenegen.modules.keyframe.animatic import MARGIN
from scenegen.orchestrator.run import Run, SettingsChange

SENTENCE = "a woman's life"
SHOTS = 30
SIZE = (320, 180)
STRIP_WIDTH = 960
LABEL = 24
CLEAR = (150, 170, 190)    # where the set is clear, each shot paints its own sky
MARKS = [(230, 90, 60), (60, 170, 90), (70, 120, 230)]


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as folder:
        run, _ = Run.story(SENTENCE, Path(folder) / "run", shots=SHOTS, change=SettingsChange(size=SIZE, fps=12))
        report = run.render()
        if report.failed:
            raise SystemExit(f"{len(report.failed)} nodes failed; see `scenegen status {run.root}`")
        records = {state.node.id: state.record for state in run.status() if state.record}
        plan = run.plan()
        place, shots = next((place, shots) for place in plan.locations
                            if len(shots := [s for s in plan.shots if s.location == place.id]) >= 3
                            and len({s.camera.bearing for s in shots}) > 1)
        shots = _three_with_a_reverse(shots)
        strip = Image.open(run.root / records[f"set:{place.id}"].artifact)
        keyframes = [Image.open(run.root / records[f"keyframe:{s.id}"].artifact).convert("RGB") for s in shots]

    thumb = (STRIP_WIDTH // 3, STRIP_WIDTH // 3 * SIZE[1] // SIZE[0])
    strip_height = STRIP_WIDTH * strip.height // strip.width
    figure = Image.new("RGB", (STRIP_WIDTH, 2 * LABEL + strip_height + LABEL + thumb[1] + LABEL), (24, 24, 28))
    draw = ImageDraw.Draw(figure)
    font = ImageFont.load_default(size=14)
    draw.text((6, 5), f'location "{place.id}": {place.description}', fill=(235, 235, 235), font=font)
    layout = ", ".join(f"{item.what} at {item.bearing:g}°" for item in place.layout)
    draw.text((6, LABEL + 3), f"its set, 360° from bearing -180 to 180: {layout}", fill=(200, 200, 200), font=font)
    shown = Image.new("RGB", strip.size, CLEAR)
    shown.paste(strip, mask=strip.getchannel("A"))
    top = 2 * LABEL
    figure.paste(shown.resize((STRIP_WIDTH, strip_height), Image.LANCZOS), (0, top))
    y = top + strip_height + LABEL
    for n, (shot, still) in enumerate(zip(shots, keyframes)):
        # Each view's width on the strip: the frame's own field of view, centred on its bearing.
        fov = shot.camera.fov_deg
        for turn in (-360, 0, 360):
            left = (shot.camera.bearing - fov / 2 + 180 + turn) / 360 * STRIP_WIDTH
            draw.rectangle((left, top, left + fov / 360 * STRIP_WIDTH, top + strip_height - 1), outline=MARKS[n], width=3)
        w, h = still.width / MARGIN, still.height / MARGIN
        frame = still.crop((int((still.width - w) / 2), int((still.height - h) / 2),
                            int((still.width + w) / 2), int((still.height + h) / 2))).resize(thumb, Image.LANCZOS)
        x = n * thumb[0]
        figure.paste(frame, (x, y))
        draw.rectangle((x, y, x + thumb[0] - 1, y + thumb[1] - 1), outline=MARKS[n], width=3)
        draw.text((x + 6, y - LABEL + 4), f"{shot.id}: bearing {shot.camera.bearing:g}°, {shot.camera.shot_size}",
                  fill=MARKS[n], font=font)
    draw.text((6, y + thumb[1] + 4), f'scenegen story "{SENTENCE}" --shots {SHOTS}; grey on the strip is clear, '
              "where each shot paints its own sky", fill=(200, 200, 200), font=font)
    figure.save(out, optimize=True)
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")


def _three_with_a_reverse(shots: list) -> list:
    """Three of the shots, the first two facing one way and then one facing furthest from them."""
    first = shots[0]
    reverse = max(shots, key=lambda s: abs(math.remainder(s.camera.bearing - first.camera.bearing, 360)))
    others = [s for s in shots if s is not first and s is not reverse]
    return [first, others[0], reverse]


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("set.png"))
