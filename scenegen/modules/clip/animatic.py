"""Animatic shot: the camera's path performed over the keyframe, for the shot's duration.

The path is the one every backend reads (`scenegen.camera.trajectory`). The keyframe is
what the camera sees from the shot's keyframe pose (its size, angle and lens), drawn
larger than the frame (see keyframe/animatic.py); each frame shows the part of it that
frame's camera sees: a pan or a truck slides the window, a tilt or a crane lifts it, a
dolly or a zoom shrinks or grows it, an orbit sweeps the scenery past (a flat picture
cannot turn round its subject), a hand-held camera wanders. Where a move would see past
the keyframe's edge, the whole path is scaled down until it fits, so the animatic keeps
each move's direction and shape, not its full extent. The window is cut from the
keyframe's yuv420p planes directly, which is what the encoder takes, so no frame is
converted.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from PIL import Image
from pydantic import BaseModel

from scenegen.camera import SUBJECT_DISTANCE, Trajectory, trajectory
from scenegen.media import EncoderSettings, rgb_to_yuv
from scenegen.modules.clip import ClipBackend
from scenegen.orchestrator.backend import Job

BACKDROP = 2.0   # the scenery behind the subject, in subject distances from the first camera


class AnimaticClip(ClipBackend):
    name: ClassVar[str] = "animatic"
    version: ClassVar[str] = "2"
    Settings: ClassVar[type[BaseModel]] = EncoderSettings

    def run(self, job: Job) -> None:
        p = job.params
        width, height, frames = p["width"], p["height"], p["frames"]
        keyframe = Image.open(job.inputs[next(iter(job.inputs))]).convert("RGB")
        planes = split_planes(rgb_to_yuv(keyframe), *keyframe.size)
        path = camera_path(trajectory(p["camera"], frames, width, height, job.seed), keyframe.size,
                           SUBJECT_DISTANCE[p["camera"]["shot_size"]])
        with self.settings.writer(job.output, p["fps"], width, height) as video:
            seen = None
            for box in path:
                # A still camera sees one window the whole shot (14 of the 30 in bench/story.py's
                # film): it is cut once, not once a frame.
                if box != seen:
                    frame, seen = cut_window(planes, box, width, height), box
                video.write_yuv(frame)


def camera_path(camera: Trajectory, plate: tuple[int, int], distance: float) -> list[tuple[float, float, float, float]]:
    """The window (left, top, right, bottom) on the keyframe that each frame's camera sees.

    The keyframe is the view from the trajectory's keyframe pose, one keyframe pixel per
    frame pixel. A flat picture has no depth, so the window takes its size from how far
    the camera is from the subject and its lens (a dolly, a zoom), and its centre from
    where the camera looks on the scenery `BACKDROP` subject distances away (a pan, a
    truck, an orbit, whose backdrop sweeps the other way as it circles). Roll is not shown.
    """
    pw, ph = plate
    seen_from = np.linalg.inv(camera.keyframe_pose)
    subject = np.array([0.0, 0.0, distance])   # where the keyframe's subject is, seen from there
    boxes = []
    for frame in range(len(camera.c2w)):
        fx, fy, cx, cy = camera.intrinsics[frame]
        pose = seen_from @ camera.c2w[frame]
        origin, ray = pose[:3, 3], pose[:3, 2]   # where the camera is, where it looks
        depth = BACKDROP * distance
        hit = origin + ray * (depth - origin[2]) / max(ray[2], 1e-6)
        centre = hit[:2] * camera.keyframe_focal / depth
        # A camera that passes the subject (a key far forward) still sees a sliver, not nothing.
        near = max(0.05 * distance, float(np.linalg.norm(subject - origin)))
        w = 2 * cx * near / distance * camera.keyframe_focal / fx
        boxes.append((centre[0], centre[1], w, w * cy / cx))
    # Scaled to fit, the boxes lie on the keyframe up to rounding; clamped, they lie on it.
    return [(max(0.0, pw / 2 + x - w / 2), max(0.0, ph / 2 + y - h / 2), min(pw, pw / 2 + x + w / 2),
             min(ph, ph / 2 + y + h / 2)) for x, y, w, h in _fit(boxes, pw, ph)]


def _fit(boxes: list[tuple], pw: int, ph: int) -> list[tuple]:
    """Scale a path down, sizes first and then travel, until every window lies on the keyframe."""
    widest = max(max(w / pw, h / ph) for _, _, w, h in boxes)
    if widest > 1:
        boxes = [(x / widest, y / widest, w / widest, h / widest) for x, y, w, h in boxes]
    travel = min([1.0, *((pw - w) / 2 / abs(x) for x, _, w, _ in boxes if abs(x) > 1e-9),
                  *((ph - h) / 2 / abs(y) for _, y, _, h in boxes if abs(y) > 1e-9)])
    return [(x * travel, y * travel, w, h) for x, y, w, h in boxes]


def split_planes(yuv: np.ndarray, width: int, height: int) -> list[Image.Image]:
    y = yuv[:height]
    chroma = yuv[height:].reshape(2, height // 2, width // 2)
    return [Image.fromarray(y), Image.fromarray(chroma[0]), Image.fromarray(chroma[1])]


def cut_window(planes: list[Image.Image], box: tuple[float, float, float, float], width: int, height: int) -> np.ndarray:
    y, u, v = planes
    half = tuple(c / 2 for c in box)
    return np.concatenate([
        np.asarray(y.resize((width, height), Image.BILINEAR, box=box)).ravel(),
        np.asarray(u.resize((width // 2, height // 2), Image.BILINEAR, box=half)).ravel(),
        np.asarray(v.resize((width // 2, height // 2), Image.BILINEAR, box=half)).ravel(),
    ]).reshape(-1, width)
