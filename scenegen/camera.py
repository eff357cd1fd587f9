"""One camera model for every backend: a shot's camera pose and frame count become where
the camera is and what it sees, frame by frame.

Conventions are OpenCV's, as RealEstate10K poses and SanaWM's `c2w` use them: camera x
to the right, y down, z forward; `c2w` maps camera coordinates to world coordinates.
The shot's subject stands at the world origin. At the first frame the camera looks at
it from `SUBJECT_DISTANCE[shot_size]` away (distances are in units of one person's
height), raised or lowered by the angle; the named movement then carries it, eased in
and out, as far as `movement_amount` says (1 is `MOVES`' full extent). An explicit
`path` of keyed poses in the plan replaces the named movement.

Intrinsics are in pixels of the frame: fx = fy from the horizontal field of view,
the principal point at the centre. Only numpy: the orchestrator, the animatic and the
diffusion backends all read the same trajectory.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np

# How far the subject is, by shot size, in person heights: a wide shows the whole room.
SUBJECT_DISTANCE = {"extreme_wide": 12.0, "wide": 6.0, "full": 3.0, "medium": 2.0, "medium_close": 1.5,
                    "close_up": 1.0, "extreme_close_up": 0.6}
# The camera's elevation above the subject by angle, in degrees, and the roll of a dutch angle.
ELEVATION = {"eye_level": 0.0, "high": 25.0, "low": -20.0, "overhead": 80.0, "dutch": 0.0, "over_the_shoulder": 0.0}
DUTCH_ROLL = 7.0
# Full extent of each move (movement_amount = 1): turns in degrees, travel in subject
# distances, zoom as a focal-length factor.
MOVES = {
    "static": {},
    "pan_left": {"yaw": -30.0}, "pan_right": {"yaw": 30.0},
    "tilt_up": {"pitch": 20.0}, "tilt_down": {"pitch": -20.0},
    "truck_left": {"x": -0.4}, "truck_right": {"x": 0.4},
    "crane_up": {"y": -0.3}, "crane_down": {"y": 0.3},
    "dolly_in": {"z": 0.4}, "dolly_out": {"z": -0.4},
    "zoom_in": {"zoom": 1.8}, "zoom_out": {"zoom": 1 / 1.8},
    "orbit_left": {"orbit": -40.0}, "orbit_right": {"orbit": 40.0},
    "handheld": {"shake": 1.5},
}


@dataclass(frozen=True)
class Trajectory:
    c2w: np.ndarray          # (frames, 4, 4) camera-to-world
    intrinsics: np.ndarray   # (frames, 4): fx, fy, cx, cy in pixels
    width: int
    height: int
    # The pose and focal length the shot's keyframe is seen with (its shot size, angle and
    # field of view), which every move and key is relative to.
    keyframe_pose: np.ndarray
    keyframe_focal: float

    def project(self, point: np.ndarray, frame: int) -> np.ndarray:
        """Where a world point lands in a frame, in pixels (x, y), and its depth."""
        w2c = np.linalg.inv(self.c2w[frame])
        x, y, z = (w2c @ np.append(point, 1.0))[:3]
        fx, fy, cx, cy = self.intrinsics[frame]
        return np.array([fx * x / z + cx, fy * y / z + cy, z])


def focal_length(fov_deg: float, width: int) -> float:
    """Pixels, from the horizontal field of view."""
    return (width / 2) / math.tan(math.radians(fov_deg) / 2)


def trajectory(camera: dict, frames: int, width: int, height: int, seed: int = 0) -> Trajectory:
    """The camera of every frame of a shot, from its plan `camera` (a CameraPose as a dict)."""
    distance = SUBJECT_DISTANCE[camera["shot_size"]]
    start = _look_at_subject(distance, ELEVATION[camera.get("angle", "eye_level")],
                             DUTCH_ROLL if camera.get("angle") == "dutch" else 0.0)
    focal = focal_length(camera.get("fov_deg", 50.0), width)
    if camera.get("path"):
        moves = _keyed(camera["path"], frames, distance)
    else:
        moves = _named(camera.get("movement", "static"), camera.get("movement_amount", 0.5), frames, distance, seed)
    c2w = np.stack([start @ local for local, _ in moves])
    intrinsics = np.array([[focal * zoom, focal * zoom, width / 2, height / 2] for _, zoom in moves])
    return Trajectory(c2w=c2w, intrinsics=intrinsics, width=width, height=height, keyframe_pose=start,
                      keyframe_focal=focal)


def ease(t: float) -> float:
    """0 -> 1, slow at both ends: a move starts and stops as an operator's does."""
    return t * t * (3 - 2 * t)


def _named(movement: str, amount: float, frames: int, distance: float, seed: int) -> list[tuple[np.ndarray, float]]:
    """(the camera's move from its first pose, zoom factor) for each frame of a named move."""
    move = MOVES[movement]
    rng = random.Random(seed)
    phases = [rng.uniform(0, 2 * math.pi) for _ in range(6)]
    out = []
    for i in range(frames):
        t = i / max(1, frames - 1)
        e = ease(t) * amount
        local = _pose(yaw=move.get("yaw", 0.0) * e, pitch=move.get("pitch", 0.0) * e, roll=0.0,
                      position=distance * np.array([move.get("x", 0.0), move.get("y", 0.0), move.get("z", 0.0)]) * e)
        if "orbit" in move:
            local = _orbit(move["orbit"] * e, distance)
        if "shake" in move:
            # A hand-held camera wanders on a smooth seeded path, a degree or two.
            wobble = [move["shake"] * amount * (math.sin(2 * math.pi * (1.3 + k) * t + phases[k])
                                                + 0.5 * math.sin(2 * math.pi * (3.7 + k) * t + phases[k + 3])) / 1.5
                      for k in range(3)]
            local = _pose(yaw=wobble[0], pitch=wobble[1], roll=wobble[2] / 2, position=np.zeros(3))
        zoom = move.get("zoom", 1.0) ** e
        out.append((local, zoom))
    return out


def _keyed(path: list[dict], frames: int, distance: float) -> list[tuple[np.ndarray, float]]:
    """An explicit path: poses keyed at shares of the shot, eased between keys."""
    keys = sorted(path, key=lambda k: k["at"])
    out = []
    for i in range(frames):
        t = i / max(1, frames - 1)
        after = next((k for k in keys if k["at"] >= t), keys[-1])
        before = next((k for k in reversed(keys) if k["at"] <= t), keys[0])
        span = after["at"] - before["at"]
        e = ease((t - before["at"]) / span) if span > 0 else 0.0

        def mix(field: str, default: float = 0.0) -> float:
            return before.get(field, default) + (after.get(field, default) - before.get(field, default)) * e

        position = distance * np.array([mix("x"), mix("y"), mix("z")])
        out.append((_pose(yaw=mix("yaw"), pitch=mix("pitch"), roll=mix("roll"), position=position), mix("zoom", 1.0)))
    return out


def _pose(yaw: float, pitch: float, roll: float, position: np.ndarray) -> np.ndarray:
    """A camera move in the camera's own frame: turn right by yaw, up by pitch, clockwise by roll."""
    a, b, c = (math.radians(v) for v in (yaw, pitch, roll))
    turn = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])   # about y (down)
    lift = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])  # about x: +z to -y
    tilt = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])   # about z
    pose = np.eye(4)
    pose[:3, :3] = turn @ lift @ tilt
    pose[:3, 3] = position
    return pose


def _orbit(degrees: float, distance: float) -> np.ndarray:
    """The camera carried round the subject on a circle, still facing it: negative is to its left."""
    a = math.radians(degrees)
    pose = _pose(yaw=-degrees, pitch=0.0, roll=0.0, position=np.zeros(3))
    # The subject is `distance` ahead; circling it moves the camera sideways and forward.
    pose[:3, 3] = [distance * math.sin(a), 0.0, distance * (1 - math.cos(a))]
    return pose


def _look_at_subject(distance: float, elevation: float, roll: float) -> np.ndarray:
    """The first pose: `distance` from the subject at the origin, raised by `elevation` degrees, facing it."""
    e = math.radians(elevation)
    # Raised is -y in OpenCV's world (y down); the camera looks along +z, pitched down toward the subject.
    position = np.array([0.0, -distance * math.sin(e), -distance * math.cos(e)])
    return _translation(position) @ _pose(yaw=0.0, pitch=-elevation, roll=roll, position=np.zeros(3))


def _translation(position: np.ndarray) -> np.ndarray:
    pose = np.eye(4)
    pose[:3, 3] = position
    return pose
