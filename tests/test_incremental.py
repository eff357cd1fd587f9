"""Editing a plan recomputes exactly the nodes that depend on what changed."""

import av
import pytest

from scenegen.orchestrator.render import status
from scenegen.schemas.files import load_plan

from support.runs import edit_plan, rerender, subtitle_cues


def neighbours(plan, k: int) -> set[str]:
    """The boundary nodes touching shot k (only non-cut transitions have one)."""
    shots = plan.shots
    found = set()
    if k > 0 and shots[k - 1].transition.type != "cut":
        found.add(f"boundary:{shots[k - 1].id}+{shots[k].id}")
    if k < len(shots) - 1 and shots[k].transition.type != "cut":
        found.add(f"boundary:{shots[k].id}+{shots[k + 1].id}")
    return found


def segments(plan, k: int) -> set[str]:
    """The film segments showing frames of shot k's clip: its own, and the previous one when it
    ends in a boundary made from this clip."""
    found = {f"segment:{plan.shots[k].id}"}
    if k > 0 and plan.shots[k - 1].transition.type != "cut":
        found.add(f"segment:{plan.shots[k - 1].id}")
    return found


def music_moved(small_run, before) -> set[str]:
    """The pieces of score whose own slice (length, cues) the edit changed, and the mix that
    lays them: a piece lasts from its enter to the next, so a shot's new length reaches one."""
    from scenegen.schemas.timing import FrameLayout, score_scenes

    def pieces(plan):
        return {p.node: (p.seconds, p.cues, p.fades_out) for p in score_scenes(plan, FrameLayout.of(plan, 12))}

    old, new = pieces(before), pieces(load_plan(small_run.plan, 12))
    changed = {node for node in new if old.get(node) != new[node]}
    assert changed, "the edit moved no music: the test would not see a piece re-run"
    return changed | {"mix"}


def shot_with_transitions(plan) -> int:
    return next(k for k in range(len(plan.shots)) if neighbours(plan, k))


def edit_and_render(run, change):
    edit_plan(run, change)
    pending = {s.node.id for s in status(run) if s.state != "done"}
    report = rerender(run)
    assert report.ok
    return set(report.executed), pending


def test_camera_movement_edit_keeps_the_keyframe(small_run):
    plan = load_plan(small_run.plan, 12)
    k = shot_with_transitions(plan)
    shot = plan.shots[k]
    new = "tilt_up" if shot.camera.movement != "tilt_up" else "pan_left"
    executed, pending = edit_and_render(small_run, lambda p: p["shots"][k]["camera"].update(movement=new, movement_amount=0.9))
    expected = {f"clip:{shot.id}", "film", "timeline", "storyboard"} | neighbours(plan, k) | segments(plan, k)
    assert executed == expected
    assert pending == expected, "status must announce exactly what render then computes"


def test_a_camera_path_edit_keeps_the_keyframe_and_moves_the_clip(small_run):
    plan = load_plan(small_run.plan, 12)
    k = shot_with_transitions(plan)
    shot = plan.shots[k]
    path = [{"at": 0.0}, {"at": 1.0, "yaw": 6.0, "z": 0.1}]
    executed, _ = edit_and_render(small_run, lambda p: p["shots"][k]["camera"].update(path=path))
    assert executed == {f"clip:{shot.id}", "film", "timeline", "storyboard"} | neighbours(plan, k) | segments(plan, k)
    assert load_plan(small_run.plan, 12).shots[k].camera.path[1].yaw == 6.0


def test_lighting_edit_redraws_keyframe_and_what_follows(small_run):
    plan = load_plan(small_run.plan, 12)
    k = shot_with_transitions(plan)
    shot = plan.shots[k]
    executed, _ = edit_and_render(small_run, lambda p: p["shots"][k]["lighting"].update(time_of_day="night", mood="tense"))
    assert executed == {f"keyframe:{shot.id}", f"clip:{shot.id}", "film", "timeline", "storyboard"} | neighbours(plan, k) | segments(plan, k)


def test_a_caption_edit_changes_words_and_no_pixel(small_run):
    frames_before = decoded(small_run.root / "film.mp4")
    executed, _ = edit_and_render(small_run, lambda p: p["shots"][0].update(context="A new beginning."))
    # No picture is drawn or encoded again: the film is re-muxed with its new subtitle track.
    assert executed == {"film", "timeline", "storyboard", "captions"}
    assert "A new beginning." in (small_run.root / "shots.srt").read_text()
    frames_after = decoded(small_run.root / "film.mp4")
    assert len(frames_after) == len(frames_before) and all((a == b).all() for a, b in zip(frames_before, frames_after))
    assert subtitle_cues(small_run.root / "film.mp4")[0][2] == "A new beginning."


def decoded(video) -> list:
    with av.open(str(video)) as container:
        return [frame.to_ndarray(format="yuv420p") for frame in container.decode(video=0)]


def test_appearance_edit_repaints_that_character_everywhere(small_run):
    plan = load_plan(small_run.plan, 12)
    character = plan.characters[1]
    showing = [k for k, s in enumerate(plan.shots) if character.id in s.characters]
    assert showing and len(showing) < len(plan.shots)
    executed, _ = edit_and_render(small_run, lambda p: p["characters"][1].update(appearance="short silver hair, a crimson coat"))
    expected = {f"portrait:{character.id}", "film", "timeline", "storyboard"}
    for k in showing:
        expected |= {f"keyframe:{plan.shots[k].id}", f"clip:{plan.shots[k].id}"} | neighbours(plan, k) | segments(plan, k)
    assert executed == expected


def test_transition_edit_touches_no_clip(small_run):
    plan = load_plan(small_run.plan, 12)
    k = next(k for k, s in enumerate(plan.shots) if s.transition.type != "cut")
    shot, following = plan.shots[k], plan.shots[k + 1]
    assert shot.transition.duration != 0.25
    executed, _ = edit_and_render(small_run, lambda p: p["shots"][k]["transition"].update(type="dissolve", duration=0.25))
    # A shorter or longer overlap moves where both shots' segments cut their clips.
    assert executed == {f"boundary:{shot.id}+{following.id}", f"segment:{shot.id}", f"segment:{following.id}",
                        "film", "captions", "timeline", "storyboard"} | music_moved(small_run, plan)


def test_character_description_only_changes_the_storyboard(small_run):
    executed, _ = edit_and_render(small_run, lambda p: p["characters"][0].update(description="Someone else entirely."))
    assert executed == {"storyboard"}


def test_upstream_rerun_with_identical_bytes_stops_there(small_run):
    # The animatic draws only the props the character text names, so a rewording that
    # keeps them re-runs the keyframe (its key changed) but writes the same image: the
    # clip and all after it are reused.
    plan = load_plan(small_run.plan, 12)
    shot = plan.shots[2]
    reworded = shot.character + " Worded anew, the same as before."
    executed, pending = edit_and_render(small_run, lambda p: p["shots"][2].update(character=reworded))
    assert executed == {f"keyframe:{shot.id}", "storyboard"}
    assert f"clip:{shot.id}" in pending, "status cannot know the keyframe's bytes in advance"


@pytest.mark.parametrize("field", ["duration"])
def test_duration_edit_keeps_the_keyframe(small_run, field):
    plan = load_plan(small_run.plan, 12)
    k = shot_with_transitions(plan)
    shot = plan.shots[k]
    executed, _ = edit_and_render(small_run, lambda p: p["shots"][k].update(duration=shot.duration + 1.0))
    assert executed == ({f"clip:{shot.id}", "film", "captions", "timeline", "storyboard"} | neighbours(plan, k)
                        | segments(plan, k) | music_moved(small_run, plan))


def test_nothing_recomputed_and_status_all_done_without_edits(small_run):
    assert all(s.state == "done" for s in status(small_run))
    report = rerender(small_run)
    assert report.up_to_date and report.executed == []


def test_an_edit_saved_during_a_render_is_not_stamped_as_rendered(small_run):
    from scenegen.orchestrator.executor import InProcessExecutor
    from scenegen.orchestrator.render import Progress, bring_up_to_date

    # Start from a stale clip, and save an edit of another shot while that clip renders.
    edit_plan(small_run, lambda p: p["shots"][0].update(duration=p["shots"][0]["duration"] + 0.5))

    class EditWhileRendering(Progress):
        def submitted(self, node) -> None:
            if node.kind == "clip":
                edit_plan(small_run, lambda p: p["shots"][3]["camera"].update(movement="crane_up"))

    executor = InProcessExecutor(workers=2)
    small_run.lock()
    try:
        report = bring_up_to_date(small_run, executor, EditWhileRendering())
    finally:
        executor.close()
        small_run.unlock()
    assert report.ok and report.inputs_changed
    assert not small_run.stamp_is_current()
    shot = load_plan(small_run.plan, 12).shots[3].id
    assert f"clip:{shot}" in {s.node.id for s in status(small_run) if s.state != "done"}
    assert f"clip:{shot}" in rerender(small_run).executed


def test_a_location_edit_redraws_its_set_and_its_shots_only(small_run):
    plan = load_plan(small_run.plan, 12)
    place = plan.shots[0].location
    shown = [k for k, shot in enumerate(plan.shots) if shot.location == place]
    assert len(shown) < len(plan.shots), "the test needs shots elsewhere, which must be kept"
    executed, pending = edit_and_render(small_run, lambda p: next(
        location for location in p["locations"] if location["id"] == place).update(description="a village classroom"))
    expected = {f"set:{place}", "film", "timeline", "storyboard"}
    for k in shown:
        expected |= {f"keyframe:{plan.shots[k].id}", f"clip:{plan.shots[k].id}"} | neighbours(plan, k) | segments(plan, k)
    assert executed == expected
    assert pending == expected
