"""Screen direction (issue 28, item 3): within a scene the camera keeps to one side of the line
between two characters, the planners keep to it, the keyframe draws it, and a plan that breaks
it is warned about, not refused."""

import json

import numpy as np
import pytest
from PIL import Image

from scenegen.modules.keyframe.animatic import AnimaticKeyframe, figure_xs
from scenegen.modules.portrait.animatic import SIZE
from scenegen.modules.script import ScriptRequest
from scenegen.modules.script.offline import OfflinePlanner
from scenegen.orchestrator.backend import Job
from scenegen.orchestrator.run import Run
from scenegen.schemas import CameraPose, StoryPlan
from scenegen.schemas.checks import plan_errors, plan_warnings, screen_direction_warnings
from scenegen.schemas.files import dump_plan
from scenegen.schemas.screen import left_to_right

from support.runs import SMALL

LIFE = ("a woman's life", 30)
MYSTERY = ("a detective solves a murder in a snowed-in mountain hotel", 12)


def offline(sentence: str, shots: int) -> StoryPlan:
    return OfflinePlanner().plan(ScriptRequest(sentence=sentence, shots=shots))


def exchange() -> dict:
    """The first scene of the life that is an exchange: a wide, over nora's shoulder, and the reverse."""
    plan = json.loads(dump_plan(offline(*LIFE)))
    first = plan["shots"][:3]
    assert [s["camera"]["angle"] for s in first[1:]] == ["over_the_shoulder"] * 2
    assert first[1]["characters"] == first[2]["characters"][::-1] and first[2]["camera"]["bearing"] == 180
    return plan


def warnings_of(plan: dict) -> list[tuple[str, str]]:
    parsed = StoryPlan.model_validate(plan)
    assert plan_errors(parsed, 24) == []
    return plan_warnings(parsed)


@pytest.mark.parametrize("sentence, shots", [LIFE, MYSTERY], ids=["life", "mystery"])
def test_offline_scenes_keep_to_one_side_of_the_line(sentence, shots):
    plan = offline(sentence, shots)
    assert screen_direction_warnings(plan) == []
    assert plan_warnings(plan) == []
    # The life's exchanges have reverse angles: the rule is met by them, not for want of them.
    if sentence == LIFE[0]:
        assert sum(s.camera.bearing == 180 and len(s.characters) == 2 for s in plan.shots) >= 3


def test_a_reverse_angle_that_lists_them_as_the_shot_it_answers_crosses_the_line():
    plan = exchange()
    plan["shots"][2]["characters"].reverse()   # [nora, mara] at 180: the camera went round them
    nora, mara = plan["shots"][2]["characters"]
    warnings = warnings_of(plan)
    assert warnings == [("shots[2].camera.bearing",
                         f"crosses the line between {nora} and {mara} from shots[1]: {nora} was on the left there and "
                         f"is on the right here; set camera.crosses_line if meant, or swap the shot's characters or "
                         f"turn its bearing")]
    # Turning the camera back to 0 keeps the side again; the shot, no longer a reverse, says so no more.
    plan["shots"][2]["camera"]["bearing"] = 0
    assert [where for where, _ in warnings_of(plan)] == ["shots[2].grammar"]
    del plan["shots"][2]["grammar"], plan["shots"][2]["partner"]
    assert warnings_of(plan) == []


def test_crosses_line_silences_the_warning_and_moves_the_line():
    plan = exchange()
    plan["shots"][2]["characters"].reverse()
    plan["shots"][2]["camera"]["crosses_line"] = True
    assert warnings_of(plan) == []
    # After the crossing the new side holds: going back over the line is a crossing too.
    plan["shots"].insert(3, {**plan["shots"][1], "id": "back-again", "dialogue": []})
    for index, shot in enumerate(plan["shots"]):
        shot["index"] = index + 1
    assert [where for where, _ in warnings_of(plan)] == ["shots[3].camera.bearing"]


def test_a_mistaken_shot_is_one_warning_and_a_new_scene_starts_afresh():
    plan = exchange()
    plan["shots"][1]["characters"].reverse()   # one over-the-shoulder shot on the wrong side, then back
    assert [where for where, _ in warnings_of(plan)] == ["shots[1].camera.bearing"]
    plan["shots"][1]["characters"].reverse()
    # A later scene with the same two sets its own line: them the other way round throughout is no crossing.
    pair = set(plan["shots"][1]["characters"])
    shots = plan["shots"]
    start = next(i for i in range(3, len(shots)) if shots[i]["location"] != shots[i - 1]["location"]
                 and set(shots[i]["characters"]) == pair)
    scene = [s for s in shots[start:] if s["location"] == shots[start]["location"]]
    for shot in scene[:next((k for k, s in enumerate(scene[1:], 1) if s is not shots[start + k]), len(scene))]:
        shot["characters"].reverse()
    assert warnings_of(plan) == []


def test_a_location_no_shot_is_in_is_a_warning():
    plan = exchange()
    plan["locations"].append({"id": "attic", "name": "the attic", "description": "a dusty attic",
                              "time_of_day": "noon"})
    assert warnings_of(plan) == [(f"locations[{len(plan['locations']) - 1}]",
                                  "no shot is in location 'attic'; remove it, or name it in a shot's location")]


@pytest.mark.parametrize("angle, size", [("eye_level", "full"), ("over_the_shoulder", "medium_close"),
                                         ("eye_level", "close_up"), ("over_the_shoulder", "close_up")])
@pytest.mark.parametrize("bearing", [0, 45, -135, 180])
@pytest.mark.parametrize("people", [2, 3, 4])
def test_the_keyframe_draws_everyone_where_the_rule_reads_them(angle, size, bearing, people):
    camera = CameraPose(shot_size=size, angle=angle, bearing=bearing, text="t")
    names = ["a", "b", "c", "d"][:people]
    xs = figure_xs(people, "they talk", camera.model_dump(mode="json"), 400)
    assert [name for _, name in sorted(zip(xs, names))] == left_to_right(names, camera)


def test_a_reverse_keyframe_keeps_each_figure_on_their_side(tmp_path):
    """Over nora's shoulder at mara, then the reverse over mara's at nora: nora is left in both,
    mara right; drawn as the rule reads it, not swapped."""
    portraits = {}
    for cid, colour in (("nora", (0, 60, 255)), ("mara", (255, 30, 0))):
        portraits[cid] = tmp_path / f"{cid}.png"
        Image.new("RGB", (SIZE, SIZE), colour).save(portraits[cid])

    def centre_of(characters: list[str], bearing: float, colour: int) -> float:
        out = tmp_path / f"{'-'.join(characters)}{bearing}.png"
        params = {"style": "s", "plan_seed": 0, "take": None, "characters": characters, "ages": {}, "character": "c",
                  "background": "a plain field", "relation": "they talk", "width": 320, "height": 192,
                  "camera": {"shot_size": "medium_close", "angle": "over_the_shoulder", "fov_deg": 50, "bearing": bearing},
                  "lighting": {"time_of_day": "noon", "key_light": "top", "color_temperature_k": 5600,
                               "contrast": "low", "mood": "calm", "text": "t"}}
        AnimaticKeyframe().run(Job(node="keyframe:x", params=params, output=out, root=tmp_path, seed=1, keep=tmp_path,
                                   inputs={f"portrait:{cid}": portraits[cid] for cid in characters}))
        image = np.asarray(Image.open(out).convert("RGB")).astype(int)
        # The figure facing the lens wears its portrait's colour (the shoulder is a dark silhouette).
        other = 2 - colour
        worn = (image[..., colour] > 150) & (image[..., other] < 90) & (image[..., 1] < 100)
        assert worn.sum() > 50
        return float(np.nonzero(worn)[1].mean()) / image.shape[1]

    assert centre_of(["nora", "mara"], 0, colour=0) > 0.55     # mara faces the lens, on the right
    assert centre_of(["mara", "nora"], 180, colour=2) < 0.45   # the reverse: nora faces it, on the left


def test_the_cli_says_warnings_and_still_succeeds(tmp_path, cli):
    plan = exchange()   # cut to its first scene, whose reverse angle crosses the line
    plan["shots"] = plan["shots"][:3]
    plan["shots"][2]["transition"] = {"type": "cut", "duration": 0}
    plan["shots"][2]["characters"].reverse()
    plan["locations"] = [place for place in plan["locations"] if place["id"] == plan["shots"][0]["location"]]
    plan["score"]["cues"] = [cue for cue in plan["score"]["cues"] if cue["shot"] in {s["id"] for s in plan["shots"]}]
    assert [where for where, _ in warnings_of(plan)] == ["shots[2].camera.bearing"]
    path = tmp_path / "crossing.json"
    path.write_text(json.dumps(plan))
    result = cli("render", str(path), "--out", str(tmp_path / "run"), *SMALL)
    assert result.exit_code == 0, result.output
    said = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert said == [f"warning: {tmp_path / 'run' / 'plan.json'}: shots[2].camera.bearing: crosses the line between "
                    f"{plan['shots'][2]['characters'][0]} and {plan['shots'][2]['characters'][1]} from shots[1]: "
                    f"{plan['shots'][2]['characters'][0]} was on the left there and is on the right here; set "
                    f"camera.crosses_line if meant, or swap the shot's characters or turn its bearing"]
    assert Run(tmp_path / "run").warnings() == [said[0].removeprefix("warning: ")]
    status = cli("status", str(tmp_path / "run"))
    assert status.exit_code == 0 and said[0] in status.stderr
    written = cli("plan", "a woman's life", "--shots", "3", "-o", str(tmp_path / "fine.json"), "--planner", "offline")
    assert written.exit_code == 0 and "warning" not in written.stderr
