"""The one camera model: a shot's pose and frame count to camera-to-world matrices and intrinsics."""

import math

import numpy as np
import pytest
from pydantic import ValidationError

from scenegen.camera import DUTCH_ROLL, SUBJECT_DISTANCE, focal_length, trajectory
from scenegen.modules.clip.animatic import camera_path
from scenegen.schemas.plan import CameraPose

W, H = 64, 48
SUBJECT = np.zeros(3)


def camera(movement="static", amount=1.0, size="medium", angle="eye_level", fov=45.0, path=None, frames=25, seed=0):
    pose = {"shot_size": size, "angle": angle, "movement": movement, "movement_amount": amount, "fov_deg": fov}
    return trajectory({**pose, **({"path": path} if path else {})}, frames, W, H, seed)


def forward(c2w):
    return c2w[:3, 2]


def degrees_between(a, b):
    return math.degrees(math.acos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1)))


def test_static_is_one_pose_looking_at_the_subject():
    still = camera()
    assert all(np.allclose(m, still.c2w[0]) for m in still.c2w)
    assert np.allclose(still.c2w[0], np.diag([1, 1, 1, 1]) + np.pad([[0], [0], [-2.0]], ((0, 1), (3, 0))))
    x, y, depth = still.project(SUBJECT, 0)
    assert (x, y) == pytest.approx((W / 2, H / 2)) and depth == pytest.approx(SUBJECT_DISTANCE["medium"])


@pytest.mark.parametrize("fov, fx", [(90.0, W / 2), (60.0, (W / 2) / math.tan(math.radians(30)))])
def test_intrinsics_come_from_the_field_of_view(fov, fx):
    intrinsics = camera(fov=fov).intrinsics
    assert intrinsics[0] == pytest.approx([fx, fx, W / 2, H / 2])
    assert focal_length(fov, W) == pytest.approx(fx)


@pytest.mark.parametrize("movement, turn, direction", [
    ("pan_right", 30, (1, 0)), ("pan_left", 30, (-1, 0)), ("tilt_up", 20, (0, -1)), ("tilt_down", 20, (0, 1))])
def test_turns_rotate_the_view_in_place(movement, turn, direction):
    path = camera(movement)
    first, last = path.c2w[0], path.c2w[-1]
    assert np.allclose(first[:3, 3], last[:3, 3]), "a turn does not move the camera"
    assert degrees_between(forward(first), forward(last)) == pytest.approx(turn)
    # Camera x is right and y down: the last view points the named way.
    assert np.sign(forward(last)[:2]).tolist() == pytest.approx(list(direction))
    half = camera(movement, amount=0.5)
    assert degrees_between(forward(half.c2w[0]), forward(half.c2w[-1])) == pytest.approx(turn / 2)


@pytest.mark.parametrize("movement, travel", [
    ("truck_right", (0.4, 0, 0)), ("truck_left", (-0.4, 0, 0)), ("crane_up", (0, -0.3, 0)), ("crane_down", (0, 0.3, 0)),
    ("dolly_in", (0, 0, 0.4)), ("dolly_out", (0, 0, -0.4))])
def test_travels_move_the_camera_without_turning_it(movement, travel):
    path = camera(movement)
    distance = SUBJECT_DISTANCE["medium"]
    assert np.allclose(path.c2w[0][:3, :3], path.c2w[-1][:3, :3])
    assert path.c2w[-1][:3, 3] - path.c2w[0][:3, 3] == pytest.approx(np.array(travel) * distance)


@pytest.mark.parametrize("movement, factor", [("zoom_in", 1.8), ("zoom_out", 1 / 1.8)])
def test_a_zoom_changes_the_lens_not_the_camera(movement, factor):
    path = camera(movement)
    assert all(np.allclose(m, path.c2w[0]) for m in path.c2w)
    assert path.intrinsics[-1][0] / path.intrinsics[0][0] == pytest.approx(factor)


@pytest.mark.parametrize("movement, side", [("orbit_left", -1), ("orbit_right", 1)])
def test_an_orbit_circles_the_subject_and_keeps_it_centred(movement, side):
    path = camera(movement)
    distance = SUBJECT_DISTANCE["medium"]
    for frame in range(len(path.c2w)):
        x, y, depth = path.project(SUBJECT, frame)
        assert (x, y, depth) == pytest.approx((W / 2, H / 2, distance))
    assert np.sign(path.c2w[-1][0, 3]) == side
    assert degrees_between(-path.c2w[0][:3, 3], -path.c2w[-1][:3, 3]) == pytest.approx(40)


def test_moves_ease_in_and_out():
    positions = [m[2, 3] for m in camera("dolly_in", frames=41).c2w]
    steps = np.diff(positions)
    assert steps[0] < steps[20] / 10 and steps[-1] < steps[20] / 10 and (steps >= 0).all()


def test_handheld_wanders_a_little_by_its_seed():
    a, b = camera("handheld", seed=1), camera("handheld", seed=2)
    assert not np.allclose(a.c2w, b.c2w)
    assert max(degrees_between(forward(a.c2w[0]), forward(m)) for m in a.c2w) < 4
    assert np.allclose(camera("handheld", seed=1).c2w, a.c2w)


@pytest.mark.parametrize("angle", ["high", "low", "overhead"])
def test_angles_raise_or_lower_the_camera_and_still_frame_the_subject(angle):
    path = camera(angle=angle)
    x, y, _ = path.project(SUBJECT, 0)
    assert (x, y) == pytest.approx((W / 2, H / 2))
    height = -path.c2w[0][1, 3]   # up is -y
    assert height > 0 if angle in ("high", "overhead") else height < 0


def test_a_dutch_angle_rolls_the_camera():
    right = camera(angle="dutch").c2w[0][:3, 0]
    assert math.degrees(math.atan2(right[1], right[0])) == pytest.approx(DUTCH_ROLL)


def test_an_explicit_path_replaces_the_named_move():
    keys = [{"at": 0.0}, {"at": 0.5, "yaw": 20.0, "z": 0.2}, {"at": 1.0, "yaw": 20.0, "z": 0.2, "zoom": 1.5}]
    path = camera("pan_left", path=keys, frames=21)
    assert degrees_between(forward(path.c2w[0]), forward(path.c2w[10])) == pytest.approx(20)
    assert forward(path.c2w[10])[0] > 0, "yaw is to the right, whatever the named move says"
    assert path.c2w[10][2, 3] - path.c2w[0][2, 3] == pytest.approx(0.2 * SUBJECT_DISTANCE["medium"])
    assert path.intrinsics[-1][0] / path.intrinsics[10][0] == pytest.approx(1.5)
    assert np.allclose(path.c2w[10], path.c2w[20]), "the second half only zooms"


def test_the_plan_checks_a_path():
    pose = {"shot_size": "wide", "text": "t"}
    assert CameraPose.model_validate({**pose, "path": [{"at": 0}, {"at": 1, "yaw": 10}]}).path[1].yaw == 10
    with pytest.raises(ValidationError, match="in order of `at`"):
        CameraPose.model_validate({**pose, "path": [{"at": 1}, {"at": 0}]})
    with pytest.raises(ValidationError, match="pitch"):
        CameraPose.model_validate({**pose, "path": [{"at": 0, "pitch": 120}]})


def test_the_animatic_window_follows_the_path():
    """A small turn shows in the animatic as the slide that turn makes on screen: f * tan(angle)."""
    path = camera(path=[{"at": 0.0}, {"at": 1.0, "yaw": 5.0}])
    boxes = camera_path(path, (80, 60), SUBJECT_DISTANCE["medium"])
    shift = (boxes[-1][0] + boxes[-1][2]) / 2 - (boxes[0][0] + boxes[0][2]) / 2
    assert shift == pytest.approx(path.intrinsics[0][0] * math.tan(math.radians(5)), rel=1e-6)
    assert boxes[0] == pytest.approx((8, 6, 72, 54)), "the first frame is the keyframe's own"


@pytest.mark.parametrize("size", [(160, 96), (320, 192), (96, 64)])
def test_every_move_cuts_a_window_inside_the_keyframe(size):
    """Pull-outs that need the whole keyframe once came out a hair outside it and crashed the cut."""
    from scenegen.camera import MOVES
    from scenegen.modules.keyframe.animatic import MARGIN
    from scenegen.modules.clip.animatic import cut_window, split_planes

    width, height = size
    plate = (int(round(width * MARGIN / 2)) * 2, int(round(height * MARGIN / 2)) * 2)
    planes = split_planes(np.zeros((plate[1] * 3 // 2, plate[0]), np.uint8), *plate)
    for movement in MOVES:
        for amount in (0.3, 0.5, 0.7, 1.0):
            for shot_size in SUBJECT_DISTANCE:
                pose = {"shot_size": shot_size, "movement": movement, "movement_amount": amount, "fov_deg": 40}
                boxes = camera_path(trajectory(pose, 30, width, height, 1), plate, SUBJECT_DISTANCE[shot_size])
                for box in boxes:
                    assert 0 <= box[0] < box[2] <= plate[0] and 0 <= box[1] < box[3] <= plate[1], (movement, box)
                    cut_window(planes, box, width, height)


def test_the_animatic_window_keeps_an_orbits_distance_and_survives_passing_the_subject():
    distance = SUBJECT_DISTANCE["medium"]
    widths = [b[2] - b[0] for b in camera_path(camera("orbit_left", amount=0.5), (80, 60), distance)]
    assert widths == pytest.approx([W] * len(widths)), "circling the subject keeps its distance"
    through = camera_path(camera(path=[{"at": 0.0}, {"at": 1.0, "z": 1.5}]), (80, 60), distance)
    assert all(b[2] > b[0] and b[3] > b[1] for b in through)


def test_a_path_that_starts_turned_shows_it_from_the_first_frame():
    """Keys are relative to the keyframe's pose: a path whose first key has turned starts turned."""
    boxes = camera_path(camera(path=[{"at": 0.5, "yaw": 4.0}]), (80, 60), SUBJECT_DISTANCE["medium"])
    centre = (boxes[0][0] + boxes[0][2]) / 2
    assert centre - 40 == pytest.approx(focal_length(45.0, W) * math.tan(math.radians(4)), rel=1e-6)
