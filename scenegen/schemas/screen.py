"""Screen direction: which side of the frame each character keeps, and the line the camera keeps to.

**The line.** Two people in a shot stand on a line, the line of action. A camera on one side
of it sees one of them on the left of the frame and the other on the right; from the other
side it sees them the other way round. So which side of the line a shot's camera is on is
read from the frame: for characters `a` and `b`, the side where `a` is drawn left of `b`.

**Where the keyframe draws them.** `left_to_right(characters, camera)` is the order the
keyframe draws a shot's characters in, left to right (modules/keyframe/animatic.py draws
them there, and a test holds the two together):
- the shot's `characters` in their order, the first on the left; an over-the-shoulder shot
  puts the first named, whose shoulder it is, on the left too; a close-up puts its subject
  (the first) in the middle and the others at the frame's edges, right, then left, in turn;
- a shot facing back (`camera.bearing` more than 90 degrees from the location's front: a
  reverse angle) lists them from the other end, right to left. A reverse angle looks back
  across the scene from the same side of the line, so the shoulder in the foreground is
  now on the right: `[mara, nora]` at bearing 0 and `[nora, mara]` at 180 both draw mara on
  the left, nora on the right, and `[mara, nora]` at 180 draws them swapped, the frame of a
  camera that went round to the other side.

**The rule (the 180 degree rule).** A scene is a run of consecutive shots in one location (a
shot with no location is in no scene: without a set, its bearing is not drawn).
Within it, the first shot to show two characters together sets the side of their line;
every later shot there that shows both keeps it, unless it crosses the line on purpose
(`camera.crosses_line`), which sets the new side for the shots after it. A shot that breaks
the rule by mistake is one warning: the shots after it are held to the side it broke from.
"""

from __future__ import annotations

from scenegen.schemas.plan import CameraPose, ShotSize

CLOSE = (ShotSize.close_up, ShotSize.extreme_close_up)


def facing_back(bearing: float) -> bool:
    """A camera turned more than a right angle from its location's front: a reverse angle."""
    return abs(bearing) > 90


def left_to_right(characters: list[str], camera: CameraPose) -> list[str]:
    """`characters` in the order the keyframe draws them across the frame, left to right."""
    if camera.shot_size in CLOSE and camera.angle != "over_the_shoulder" and len(characters) > 1:
        subject, others = characters[0], characters[1:]
        drawn = [*reversed(others[1::2]), subject, *others[0::2]]
    else:
        drawn = list(characters)
    return drawn[::-1] if facing_back(camera.bearing) else drawn
