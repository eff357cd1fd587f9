"""Each animatic backend does what its spec says, checked on decoded output."""

import av
import numpy as np
import pytest
from PIL import Image

from scenegen.camera import SUBJECT_DISTANCE, trajectory
from scenegen.media import EncoderSettings, concatenate, cut_points, yuv_frames
from scenegen.modules.boundary.animatic import AnimaticBoundary
from scenegen.modules.captions.srt import _timestamp
from scenegen.modules.clip.animatic import camera_path
from scenegen.modules.segment.pyav import PyAVSegment
from scenegen.orchestrator.backend import Job
from scenegen.schemas.plan import StoryPlan
from scenegen.schemas.timing import FrameLayout

from support.runs import subtitle_cues

W, H = 64, 48


def centre(box):
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def window_path(movement: str, frames: int = 24, seed: int = 1, plate=(80, 60)):
    camera = {"shot_size": "medium", "angle": "eye_level", "movement": movement, "movement_amount": 1.0, "fov_deg": 45}
    return camera_path(trajectory(camera, frames, W, H, seed), plate, SUBJECT_DISTANCE["medium"])


@pytest.mark.parametrize("movement, axis, sign", [
    ("pan_right", 0, 1), ("pan_left", 0, -1), ("truck_right", 0, 1), ("tilt_up", 1, -1), ("tilt_down", 1, 1),
    # Circling left round the subject, the camera turns right to keep it: the scenery sweeps right.
    ("crane_up", 1, -1), ("orbit_left", 0, 1), ("orbit_right", 0, -1),
])
def test_moves_travel_the_right_way(movement, axis, sign):
    boxes = window_path(movement)
    positions = [centre(b)[axis] for b in boxes]
    # (A crane or a truck also takes the camera a little further from the subject, so it
    # travels a little less far on the keyframe than a turn does.)
    assert sign * (positions[-1] - positions[0]) > 4
    assert all(sign * (b - a) >= -1e-9 for a, b in zip(positions, positions[1:])), "moves ease, never reverse"


@pytest.mark.parametrize("movement, narrower", [("dolly_in", True), ("zoom_in", True), ("dolly_out", False), ("zoom_out", False)])
def test_push_ins_shrink_the_window(movement, narrower):
    widths = [b[2] - b[0] for b in window_path(movement)]
    assert (widths[-1] < widths[0]) == narrower
    # A push-in starts on the keyframe's own frame; a pull-out sees more than the frame
    # shows, so it starts pushed in and ends at the keyframe's edge.
    assert (widths[0] if narrower else widths[-1]) == pytest.approx(W if narrower else 80)


@pytest.mark.parametrize("movement", ["static", "pan_left", "zoom_in", "zoom_out", "handheld", "orbit_right", "crane_down"])
def test_the_window_never_leaves_the_keyframe(movement):
    for box in window_path(movement, frames=48, seed=3):
        assert box[0] >= -1e-6 and box[1] >= -1e-6 and box[2] <= 80 + 1e-6 and box[3] <= 60 + 1e-6


def test_static_holds_and_handheld_wanders_by_seed():
    assert len(set(window_path("static", frames=10))) == 1
    assert window_path("handheld", frames=10, seed=1) != window_path("handheld", frames=10, seed=2)


def constant_clip(path, luma: int, frames: int = 6):
    planes = np.full((H * 3 // 2, W), 128, np.uint8)
    planes[:H] = luma
    with EncoderSettings(crf=0).writer(path, 12, W, H) as video:
        for _ in range(frames):
            video.write_yuv(planes)


def run_boundary(tmp_path, kind: str, window: int):
    constant_clip(tmp_path / "a.mp4", 50)
    constant_clip(tmp_path / "b.mp4", 150)
    backend = AnimaticBoundary({"crf": 0})
    job = Job(node="boundary:a+b", params={"type": kind, "frames": window, "fps": 12, "width": W, "height": H},
              inputs={"clip:a": tmp_path / "a.mp4", "clip:b": tmp_path / "b.mp4"}, output=tmp_path / "out.mp4",
              root=tmp_path, keep=tmp_path / "kept", seed=0)
    backend.run(job)
    return [float(f[:H].mean()) for f in yuv_frames(tmp_path / "out.mp4")]


def test_dissolve_is_a_linear_crossfade(tmp_path):
    # Lossless encoding (crf 0): the window holds exactly the blend of the two shots.
    assert run_boundary(tmp_path, "dissolve", 3) == pytest.approx([75, 100, 125], abs=0.5)


def test_smooth_eases_from_one_shot_to_the_other(tmp_path):
    # Flat shots have nothing to colour-match, so the window is the smoothstep ease itself.
    lumas = run_boundary(tmp_path, "smooth", 5)
    ease = [t * t * (3 - 2 * t) for t in (i / 6 for i in range(1, 6))]
    assert lumas == pytest.approx([50 + 100 * e for e in ease], abs=0.6)


def test_a_window_longer_than_the_clips_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="shorter than the 9-frame transition"):
        run_boundary(tmp_path, "dissolve", 9)


def test_videos_of_other_sizes_are_not_joined(tmp_path):
    constant_clip(tmp_path / "a.mp4", 50)
    with EncoderSettings().writer(tmp_path / "b.mp4", 12, W * 2, H) as video:
        video.write_yuv(np.full((H * 3 // 2, W * 2), 50, np.uint8))
    with pytest.raises(ValueError, match="b.mp4 was encoded with other settings than .*a.mp4"):
        concatenate([tmp_path / "a.mp4", tmp_path / "b.mp4"], tmp_path / "joined.mp4", 12)


def test_captions_of_any_text_become_subtitle_cues(tmp_path):
    constant_clip(tmp_path / "a.mp4", 50)
    constant_clip(tmp_path / "b.mp4", 90)
    texts = ["Amélie, 一个女人", "two\nlines", "braces {are} an ASS override"]
    concatenate([tmp_path / "a.mp4", tmp_path / "b.mp4"], tmp_path / "joined.mp4", 12,
                 captions=[(0, 0.25, texts[0]), (0.25, 0.5, texts[1]), (0.5, 1.0, texts[2])])
    cues = subtitle_cues(tmp_path / "joined.mp4")
    assert [(start, end) for start, end, _ in cues] == [(0, 0.25), (0.25, 0.5), (0.5, 1.0)]
    # mov_text is written from ASS events, where braces open an override: they show as parentheses.
    assert [text for _, _, text in cues] == [texts[0], texts[1], "braces (are) an ASS override"]


def test_frame_layout_and_caption_times():
    shot = {"character": "c", "background": "b", "relation": "r", "context": "x",
            "camera": {"shot_size": "wide", "text": "t"}, "lighting": {"time_of_day": "noon", "text": "t"}}
    plan = StoryPlan.model_validate({
        "title": "t", "logline": "l", "style": "s", "characters": [],
        "shots": [
            {**shot, "id": "a", "index": 1, "duration": 1.0, "transition": {"type": "dissolve", "duration": 0.4}},
            {**shot, "id": "b", "index": 2, "duration": 2.0},
            {**shot, "id": "c", "index": 3, "duration": 1.0},
        ],
    })
    layout = FrameLayout.of(plan, 10)
    assert [(s.frames, s.start, s.overlap_in, s.overlap_out) for s in layout.spans] == [(10, 0, 0, 4), (20, 6, 4, 0), (10, 26, 0, 0)]
    assert layout.total_frames == 36
    assert _timestamp(36 / 10) == "00:00:03,600"
    assert _timestamp((24 * 3725 + 12) / 24) == "01:02:05,500"


def test_keyframe_figures_wear_their_portraits_colours(small_run):
    # Identity flows through the portrait: the garment colour sampled from a character's
    # portrait covers part of every keyframe that shows them.
    import json

    from scenegen.modules.portrait.animatic import GARMENT_SAMPLE

    records = [json.loads(p.read_text()) for p in (small_run.state / "records").rglob("*.json")]
    artifacts = {r["node"]: small_run.root / r["artifact"] for r in records}
    plan = json.loads(small_run.plan.read_text())
    for shot in plan["shots"]:
        if shot["camera"]["shot_size"] == "extreme_wide" or shot["camera"]["angle"] == "over_the_shoulder":
            continue
        keyframe = np.asarray(Image.open(artifacts[f"keyframe:{shot['id']}"]).convert("RGB")).astype(int)
        for cid in shot["characters"]:
            garment = np.array(Image.open(artifacts[f"portrait:{cid}"]).convert("RGB").getpixel(GARMENT_SAMPLE))
            # The grade tints and saturates, so look for near matches.
            close = (np.abs(keyframe - garment).sum(axis=2) < 90).mean()
            assert close > 0.002, (shot["id"], cid, close)


def test_a_child_is_drawn_smaller_and_an_elder_silver_haired(small_run, tmp_path):
    """One shot's keyframe drawn three times, as child, adult and elder: only the figure changes."""
    import json

    from scenegen.modules.keyframe.animatic import AnimaticKeyframe

    records = [json.loads(p.read_text()) for p in (small_run.state / "records").rglob("*.json")]
    artifacts = {r["node"]: small_run.root / r["artifact"] for r in records}
    plan = json.loads(small_run.plan.read_text())
    shot = plan["shots"][0]
    cid = shot["characters"][0]
    base = {"style": plan["style"], "plan_seed": 0, "take": None, "characters": [cid], "character": shot["character"],
            "background": shot["background"], "relation": shot["relation"],
            "camera": {"shot_size": "full", "angle": "eye_level", "fov_deg": 50}, "lighting": shot["lighting"],
            "width": 160, "height": 96}

    def drawn(ages: dict, characters=(cid,)) -> np.ndarray:
        out = tmp_path / f"{'-'.join(ages.values()) or 'none'}{len(characters)}.png"
        AnimaticKeyframe().run(Job(node="keyframe:x", params={**base, "characters": list(characters), "ages": ages},
                                   inputs={f"portrait:{cid}": artifacts[f"portrait:{cid}"]}, output=out,
                                   root=tmp_path, seed=1, keep=tmp_path))
        return np.asarray(Image.open(out).convert("RGB")).astype(int)

    empty = drawn({}, characters=())

    def figure_height(image) -> int:
        rows = np.nonzero((np.abs(image - empty).sum(axis=2) > 30).any(axis=1))[0]
        return int(rows.max() - rows.min())

    adult, child, elder = drawn({}), drawn({cid: "child"}), drawn({cid: "elder"})
    assert figure_height(child) < 0.8 * figure_height(adult)
    assert figure_height(elder) == figure_height(adult) and (np.abs(elder - adult).sum(axis=2) > 30).any()


def test_each_room_and_each_weather_has_its_own_look(tmp_path):
    from scenegen.modules.keyframe.animatic import AnimaticKeyframe

    def drawn(background: str) -> np.ndarray:
        out = tmp_path / f"{background.replace(' ', '-')}.png"
        params = {"style": "s", "plan_seed": 0, "take": None, "characters": [], "ages": {}, "character": "c",
                  "background": background, "relation": "r", "width": 160, "height": 96,
                  "camera": {"shot_size": "wide", "angle": "eye_level", "fov_deg": 60},
                  "lighting": {"time_of_day": "noon", "key_light": "top", "color_temperature_k": 6000,
                               "contrast": "medium", "mood": "calm", "text": "t"}}
        AnimaticKeyframe().run(Job(node="keyframe:x", params=params, inputs={}, output=out, root=tmp_path, seed=1,
                                   keep=tmp_path))
        return np.asarray(Image.open(out).convert("RGB")).astype(int)

    rooms = ["a kitchen", "a hospital room", "a classroom", "a small cafe", "an office", "an apartment full of boxes",
             "a library", "a great hall"]
    looks = [drawn(room) for room in rooms]
    for i in range(len(rooms)):
        for j in range(i + 1, len(rooms)):
            differing = (np.abs(looks[i] - looks[j]).sum(axis=2) > 40).mean()
            assert differing > 0.02, (rooms[i], rooms[j], differing)
    dry, rain, snow = drawn("a city street"), drawn("a city street in the rain"), drawn("a snowy city street")
    assert (drawn("a train station in the city") == drawn("a station in the city")).all(), "a train is not rain"
    # Rain is pale slanted streaks, snow pale flakes: both add near-white pixels to the same street.
    def pale(image) -> float:
        return (image.min(axis=2) > 190).mean()

    assert pale(rain) > pale(dry) + 0.01 and pale(snow) > pale(rain)


def _keyframe_drawer(small_run, tmp_path):
    """Draw one of the run's shots again with other characters, camera or words."""
    import json

    from scenegen.modules.keyframe.animatic import AnimaticKeyframe

    records = [json.loads(p.read_text()) for p in (small_run.state / "records").rglob("*.json")]
    artifacts = {r["node"]: small_run.root / r["artifact"] for r in records}
    plan = json.loads(small_run.plan.read_text())
    shot = plan["shots"][0]

    def drawn(characters, shot_size="full", character="someone stands still") -> np.ndarray:
        out = tmp_path / f"{len(list(tmp_path.iterdir()))}.png"
        params = {"style": plan["style"], "plan_seed": 0, "take": None, "characters": list(characters), "ages": {},
                  "character": character, "background": shot["background"], "relation": "side by side",
                  "camera": {"shot_size": shot_size, "angle": "eye_level", "fov_deg": 40},
                  "lighting": shot["lighting"], "width": 160, "height": 96}
        AnimaticKeyframe().run(Job(node="keyframe:x", params=params, output=out, root=tmp_path, seed=1, keep=tmp_path,
                                   inputs={f"portrait:{c['id']}": artifacts[f"portrait:{c['id']}"]
                                           for c in plan["characters"]}))
        return np.asarray(Image.open(out).convert("RGB")).astype(int)

    return drawn, [c["id"] for c in plan["characters"]]


def test_a_close_up_frames_its_subject(small_run, tmp_path):
    drawn, (a, b, *_) = _keyframe_drawer(small_run, tmp_path)

    def same_centre(x, y) -> float:
        middle = x.shape[1] // 2
        return (np.abs(x[:, middle - 2:middle + 2] - y[:, middle - 2:middle + 2]).sum(axis=2) < 10).mean()

    both, alone_a, alone_b = drawn([a, b], "close_up"), drawn([a], "close_up"), drawn([b], "close_up")
    assert same_centre(both, alone_a) > 0.95, "the first named fills the centre of the close-up"
    assert same_centre(both, alone_b) < 0.8
    assert same_centre(drawn([b, a], "close_up"), alone_b) > 0.95


def test_the_action_puts_its_prop_in_hand(small_run, tmp_path):
    drawn, (a, b, *_) = _keyframe_drawer(small_run, tmp_path)
    plain = drawn([a, b], character="Mara (red hair), stands still; Tomas (dark hair), watching Mara")
    assert (drawn([a, b], character="Mara (red hair), waits; Tomas (dark hair), watching Mara") == plain).all(), \
        "words that name no prop change nothing"
    changed = {}
    for prop in ("a loaf of bread", "a map", "a cup of tea", "a lantern", "an umbrella", "a suitcase", "a ball",
                 "flowers", "a rifle", "a box"):
        held = drawn([a, b], character=f"Mara (red hair), holds {prop}; Tomas (dark hair), watching Mara")
        changed[prop] = (np.abs(held - plain).sum(axis=2) > 40)
        assert changed[prop].mean() > 0.001, prop
    # Each holds what their own words name: Mara stands left of Tomas, so her suitcase is further left.
    def where(image) -> float:
        return np.nonzero((np.abs(image - plain).sum(axis=2) > 40).any(axis=0))[0].mean()

    hers = drawn([a, b], character="Mara (red hair), holds a suitcase; Tomas (dark hair), watching Mara")
    his = drawn([a, b], character="Mara (red hair), stands still; Tomas (dark hair), holds a suitcase")
    assert where(hers) + 10 < where(his)


@pytest.mark.parametrize("source, target", [(16, 24), (16, 8), (25, 24)])
def test_retiming_interpolates_motion_at_its_own_speed(source, target):
    """A bar crossing the frame at 2 px per source frame crosses it at the same speed after
    retiming: in-between frames show it in between (motion-compensated), not repeated."""
    from scenegen.media import frames_to_cover, retime

    def bar(x: float) -> np.ndarray:
        planes = np.full((H * 3 // 2, W), 128, np.uint8)
        planes[:H] = 20
        planes[:H, int(x):int(x) + 8] = 230
        return planes

    count = 12
    source_frames = [bar(2 * i) for i in range(frames_to_cover(count, source, target))]
    out = retime(source_frames, source, target, count)
    assert len(out) == count

    def centre(planes) -> float:
        column = planes[:H].astype(float).mean(axis=0) - 20
        return float((column * np.arange(W)).sum() / column.sum())

    expected = [3.5 + 2 * k * source / target for k in range(count)]
    assert [centre(f) for f in out] == pytest.approx(expected, abs=0.5)


def numbered_clip(path, frames: int, settings: EncoderSettings, luma0: int = 20):
    """A clip whose frame n is grey at luma0 + 8n, so a frame says which one it is, with grain
    that makes each frame's packet its own."""
    grain = np.random.default_rng(0)
    with settings.writer(path, 12, W, H) as video:
        for n in range(frames):
            planes = np.full((H * 3 // 2, W), 128, np.uint8)
            planes[:H] = luma0 + 8 * n + grain.integers(-3, 4, (H, W))
            video.write_yuv(planes)


def packets(path) -> list[bytes]:
    with av.open(str(path)) as container:
        return sorted((p.pts, bytes(p)) for p in container.demux(video=0) if p.dts is not None)


def run_segment(tmp_path, clip_settings: EncoderSettings, first: int, stop: int, boundary_settings=None):
    numbered_clip(tmp_path / "clip.mp4", 24, clip_settings)
    inputs = {"clip:a": tmp_path / "clip.mp4"}
    if boundary_settings:
        numbered_clip(tmp_path / "boundary.mp4", 6, boundary_settings, luma0=30)
        inputs["boundary:a+b"] = tmp_path / "boundary.mp4"
    job = Job(node="segment:a", params={"shot": "a", "clip": "clip:a", "first": first, "stop": stop, "fps": 12, "width": W,
                                        "height": H, "boundary": "boundary:a+b" if boundary_settings else None},
              inputs=inputs, output=tmp_path / "segment.mp4", root=tmp_path, keep=tmp_path / "kept", seed=0)
    PyAVSegment({"keyframe_seconds": 0.5}).run(job)
    return [round(float(f[:H].mean())) for f in yuv_frames(tmp_path / "segment.mp4")]


def test_a_clip_can_be_cut_at_its_keyframes_and_its_end(tmp_path):
    numbered_clip(tmp_path / "clip.mp4", 20, EncoderSettings(keyframe_seconds=0.5))
    with av.open(str(tmp_path / "clip.mp4")) as container:
        keyframes = [n for n, frame in enumerate(container.decode(video=0)) if frame.key_frame]
    cuts = cut_points(tmp_path / "clip.mp4")
    assert cuts == keyframes + [20]
    assert max(b - a for a, b in zip(cuts, cuts[1:])) <= 6, "a keyframe at least every half second"


@pytest.mark.parametrize("start, stop", [(0, None), (7, None), (6, 13), (13, 14), (5, 5), (9, 3), (-4, None),
                                         (-30, None), (19, 40)])
def test_frames_decoded_from_the_keyframe_before_start_are_the_slice_of_all_of_them(tmp_path, start, stop):
    """yuv_frames decodes from the last keyframe at or before `start`, not from the first frame."""
    numbered_clip(tmp_path / "clip.mp4", 20, EncoderSettings(keyframe_seconds=0.5))
    with av.open(str(tmp_path / "clip.mp4")) as container:
        every = [frame.to_ndarray(format="yuv420p") for frame in container.decode(video=0)]
    wanted = every[start:stop]
    got = list(yuv_frames(tmp_path / "clip.mp4", start, stop))
    assert len(got) == len(wanted) and all(np.array_equal(a, b) for a, b in zip(got, wanted))


def test_a_segment_copies_the_clip_packets_it_shows_unchanged(tmp_path):
    # Frames 3..22: the whole GOPs inside are copied, the frames around them encoded again.
    lumas = run_segment(tmp_path, EncoderSettings(keyframe_seconds=0.5), first=3, stop=22)
    assert lumas == pytest.approx([20 + 8 * n for n in range(3, 22)], abs=1)
    inside = [c for c in cut_points(tmp_path / "clip.mp4") if 3 <= c <= 22]
    clip, segment = packets(tmp_path / "clip.mp4"), {data for _, data in packets(tmp_path / "segment.mp4")}
    assert inside[0] > 3 and inside[-1] < 22, "there are frames to encode at both ends"
    assert {data for _, data in clip[inside[0]:inside[-1]]} <= segment
    assert not {data for _, data in clip[:inside[0]] + clip[inside[-1]:]} & segment


def test_a_segment_encodes_a_clip_encoded_otherwise(tmp_path):
    lumas = run_segment(tmp_path, EncoderSettings(crf=30, keyframe_seconds=0.5), first=0, stop=24)
    assert lumas == pytest.approx([20 + 8 * n for n in range(24)], abs=2)
    assert not {data for _, data in packets(tmp_path / "clip.mp4")} & {data for _, data in packets(tmp_path / "segment.mp4")}


def test_a_segment_copies_a_boundary_encoded_as_it_encodes(tmp_path):
    lumas = run_segment(tmp_path, EncoderSettings(keyframe_seconds=0.5), first=0, stop=18,
                        boundary_settings=EncoderSettings(keyframe_seconds=0.5))
    assert lumas == pytest.approx([20 + 8 * n for n in range(18)] + [30 + 8 * n for n in range(6)], abs=1)
    segment = {data for _, data in packets(tmp_path / "segment.mp4")}
    last_cut = [c for c in cut_points(tmp_path / "clip.mp4") if c <= 18][-1]
    clip, boundary = packets(tmp_path / "clip.mp4"), packets(tmp_path / "boundary.mp4")
    assert {data for _, data in clip[:last_cut] + boundary} <= segment
