"""Film grammar in the plan (issue 29, item 3): a shot's grammar and partner round-trip, a partner
that cannot be is a one-line error, a camera that breaks its grammar is a warning, both planners
write it, the animatic honours an insert and the storyboard labels each shot, and eval counts the
rules that hold."""

import json

import numpy as np
import pytest
from PIL import Image

from scenegen.errors import UserError
from scenegen.evaluation.grammar import grammar_held
from scenegen.modules.keyframe.animatic import AnimaticKeyframe
from scenegen.modules.script import ScriptRequest
from scenegen.modules.script.llm import LLMPlanner
from scenegen.orchestrator.backend import Job
from scenegen.orchestrator.render import status
from scenegen.orchestrator.store import RunDir
from scenegen.schemas import OutputFormat, StoryPlan
from scenegen.schemas.checks import grammar_warnings, plan_errors, plan_warnings
from scenegen.schemas.files import dump_plan, load_plan, plan_schema
from scenegen.schemas.film_grammar import grammar_rules

from support.fake_llm import FakeLLM, Fault
from support.runs import SMALL
from test_screen_direction import LIFE, MYSTERY, offline


def life() -> dict:
    """The life as JSON: s01 establishes the kitchen, s02 cuts in over nora's shoulder, s03 answers it."""
    plan = json.loads(dump_plan(offline(*LIFE)))
    assert [(s["grammar"], s.get("partner")) for s in plan["shots"][:3]] == [
        ("establishing", None), ("cut_in", "s01"), ("shot_reverse_shot", "s02")]
    return plan


def parsed(plan: dict) -> StoryPlan:
    return StoryPlan.model_validate(plan)


def test_grammar_and_partner_round_trip_and_the_schema_says_what_they_mean(tmp_path):
    plan = life()
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    loaded = load_plan(path, 24)
    assert dump_plan(loaded) == dump_plan(parsed(plan))
    assert (loaded.shots[2].grammar, loaded.shots[2].partner) == ("shot_reverse_shot", "s02")
    # A shot without a grammar writes neither field: plans without them read and write as before.
    assert all("partner" not in s for s in json.loads(dump_plan(loaded))["shots"] if s.get("grammar") == "establishing")
    shot = json.loads(plan_schema())["$defs"]["Shot"]["properties"]
    assert "shot_reverse_shot (the other side of an exchange" in shot["grammar"]["description"]
    assert "the id of the earlier shot this one answers" in shot["partner"]["description"]


@pytest.mark.parametrize("index, change, message", [
    (1, lambda s: s[1].pop("partner"), "a cut_in shot names the earlier shot it answers; set partner to its id"),
    (0, lambda s: s[0].update(partner="s02"), "an establishing shot answers no earlier shot; remove partner, or set "
                                              "grammar to one of shot_reverse_shot, cut_in, match_cut"),
    (0, lambda s: s[0].update(grammar=None, partner="s02"), "a shot with no grammar answers no earlier shot; remove "
                                                            "partner, or set grammar to one of shot_reverse_shot, "
                                                            "cut_in, match_cut"),
    (2, lambda s: s[2].update(partner="s99"), "shot id 's99' is unknown; a partner is an earlier shot's id"),
    (1, lambda s: s[1].update(partner="s03"), "shot id 's03' is a later shot, or this one; a partner is an earlier "
                                              "shot's id"),
    (1, lambda s: s[1].update(partner="s02"), "shot id 's02' is a later shot, or this one; a partner is an earlier "
                                              "shot's id"),
], ids=["missing", "meaningless", "no-grammar", "unknown", "later", "itself"])
def test_a_partner_that_cannot_be_is_a_one_line_error_at_its_json_path(tmp_path, index, change, message):
    plan = life()
    change(plan["shots"])
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    with pytest.raises(UserError) as error:
        load_plan(path, 24)
    assert str(error.value) == f"{path}: shots[{index}].partner: {message}"


def test_a_broken_reverse_shot_is_warned_about_rule_by_rule():
    plan = life()
    assert plan_warnings(parsed(plan)) == []
    plan["shots"][2]["camera"]["bearing"] = 90.0   # a quarter turn, not a reverse
    assert grammar_warnings(parsed(plan)) == [(
        "shots[2].grammar", "a shot_reverse_shot shot faces the opposite way from s02 (its camera.bearing 180 from 0), "
                            "and this one does not; change its camera, or its grammar")]
    plan["shots"][2]["camera"]["bearing"] = 180.0
    plan["shots"][2]["characters"] = plan["shots"][2]["characters"][:1]   # one of the two, against both: no pair
    plan["shots"][2]["dialogue"] = [line for line in plan["shots"][2]["dialogue"]
                                    if line["speaker"] in plan["shots"][2]["characters"]]
    assert [what.split(" shot ")[1] for _, what in grammar_warnings(parsed(plan))] == [
        "shows the same two characters as s02: both of them in each shot, or one in each, and this one does not; "
        "change its camera, or its grammar"]
    # The rules are held within a tolerance: a reverse 30 degrees off is still a reverse.
    plan = life()
    plan["shots"][2]["camera"]["bearing"] = -150.0
    assert grammar_warnings(parsed(plan)) == []


def test_a_broken_cut_in_is_warned_about_rule_by_rule():
    plan = life()
    cut_in = plan["shots"][1]
    cut_in["camera"]["shot_size"] = "extreme_wide"                 # wider than the wide it cuts in on
    cut_in["location"] = plan["shots"][3]["location"]               # and in another place
    broken = [rule.name for judged in grammar_rules(parsed(plan)) if judged.index == 1
              for rule in judged.rules if not rule.held]
    assert broken == ["tighter", "same_location"]
    # ... and the reverse that answers it is no longer in its partner's place either.
    assert [where for where, _ in grammar_warnings(parsed(plan))] == ["shots[1].grammar"] * 2 + ["shots[2].grammar"]
    cut_in["camera"]["shot_size"] = "medium_close"
    cut_in["location"] = plan["shots"][0]["location"]
    cut_in["characters"] = [plan["characters"][-1]["id"]]          # someone the wide did not show
    cut_in["dialogue"], cut_in["ages"] = [], {}
    assert plan_errors(parsed(plan), 24) == []
    assert [what.split(" shot ")[1].split(",")[0] for where, what in grammar_warnings(parsed(plan))
            if where == "shots[1].grammar"] == ["is on a subject s01 shows (its first character is among s01's)"]


def test_the_other_grammars_rules():
    plan = life()
    kitchen = plan["shots"][:3]
    for shot in kitchen:
        shot.pop("grammar", None), shot.pop("partner", None)
    kitchen[2].update(grammar="insert")                              # medium close: not close enough
    kitchen[1].update(grammar="match_cut", partner="s01")            # a wide's size it has not
    plan["shots"][3]["grammar"] = "cut_away"                         # away from nora, to nora
    held = {judged.shot.id: {rule.name: rule.held for rule in judged.rules} for judged in grammar_rules(parsed(plan))}
    assert held["s03"] == {"close": False, "in_scene": True}
    assert held["s02"] == {"follows": True, "same_framing": False}
    assert held["s04"] == {"away": False}
    kitchen[2]["camera"]["shot_size"] = "extreme_close_up"
    assert {rule.name: rule.held for judged in grammar_rules(parsed(plan)) if judged.shot.id == "s03"
            for rule in judged.rules} == {"close": True, "in_scene": True}


@pytest.mark.parametrize("sentence, shots", [LIFE, MYSTERY], ids=["life", "mystery"])
def test_the_offline_planner_writes_grammar_that_holds(sentence, shots):
    plan = offline(sentence, shots)
    assert plan_errors(plan, 24) == [] and plan_warnings(plan) == []
    counts = grammar_held(plan)["film"]
    assert all(c["held"] == c["rules"] for c in counts.values())
    # Every scene opens on an establishing shot; the coverage's reverses and cut-ins answer the shot before them.
    openers = [i for i, s in enumerate(plan.shots) if i == 0 or s.location != plan.shots[i - 1].location]
    assert all(plan.shots[i].grammar == "establishing" for i in openers)
    assert all(s.partner == plan.shots[i - 1].id for i, s in enumerate(plan.shots) if s.partner)
    if sentence == LIFE[0]:
        assert {name: c["shots"] for name, c in counts.items()} == {"establishing": 12, "shot_reverse_shot": 5,
                                                                    "cut_in": 13}


def test_the_llm_planner_writes_grammar_repairs_an_unknown_partner_and_drops_one_that_cannot_be(tmp_path):
    def unknown(answer):
        answer["shots"][2]["partner"] = "s99"   # not a shot of the film: refused by the schema's enum

    def later(answer):
        answer["shots"][4].update(grammar="cut_in", partner="s06")   # a shot of the film, but after this one

    def meaningless(answer):
        answer["shots"][0].update(grammar="establishing", partner="s01")

    for mutate, repaired in ((unknown, "shots[2].partner"), (later, None), (meaningless, None)):
        llm = FakeLLM([Fault("ShotBatch", mutate=mutate)])
        planner = LLMPlanner({"base_url": llm.url, "model": "m", "retries": 1}, http_client=llm.client())
        plan = planner.plan(ScriptRequest(sentence="a baker's journey to the sea", shots=8,
                                          workdir=tmp_path / mutate.__name__))
        asks = [r for r in llm.requests if r["response_format"]["json_schema"]["schema"]["title"] == "ShotBatch"]
        if repaired:
            assert len(asks) == 2 and repaired in asks[1]["messages"][-1]["content"]
            assert "'s08'" in asks[1]["messages"][-1]["content"]   # the ids it may name
        else:
            # Set, not asked: a grammar that answers no shot has no partner, one that answers a later shot none.
            assert len(asks) == 1
            assert (plan.shots[0].grammar, plan.shots[0].partner) == (("establishing", None) if mutate is meaningless
                                                                      else (None, None))
            assert (plan.shots[4].grammar, plan.shots[4].partner) == (None, None)
        assert plan_errors(plan, 24) == []
        assert [(s.id, s.grammar, s.partner) for s in plan.shots if s.partner] == [
            ("s03", "shot_reverse_shot", "s01"), ("s07", "shot_reverse_shot", "s05")]
    defs = asks[0]["response_format"]["json_schema"]["schema"]["$defs"]
    assert defs["ShotSpec"]["properties"]["partner"]["anyOf"][0]["enum"] == [f"s{i:02d}" for i in range(1, 9)]
    assert defs["Grammar"]["enum"] == ["establishing", "shot_reverse_shot", "cut_in", "cut_away", "insert", "match_cut"]


def keyframe(tmp_path, grammar: str | None) -> tuple[np.ndarray, list, dict]:
    """A close-up of mara (a red portrait) holding a letter, as the shot's grammar has it drawn."""
    plan = life()
    shot = {**plan["shots"][1], "characters": ["mara"], "ages": {}, "character": "Mara reads the letter",
            "camera": {**plan["shots"][1]["camera"], "shot_size": "close_up", "angle": "eye_level"},
            "grammar": grammar, "partner": None}
    plan["characters"] = [{"id": "mara", "name": "Mara", "description": "d", "appearance": "a"}]
    plan["shots"], plan["locations"] = [shot], []
    shot["location"] = None
    shot["dialogue"] = []
    model = parsed({**plan, "score": None})
    params = AnimaticKeyframe().params(model, model.shots[0], OutputFormat(width=320, height=192))
    portrait = tmp_path / "mara.png"
    Image.new("RGB", (512, 512), (255, 30, 0)).save(portrait)
    out = tmp_path / f"{grammar}.png"
    facts = AnimaticKeyframe().run(Job(node="keyframe:x", params=params, output=out, root=tmp_path, seed=1,
                                       keep=tmp_path, inputs={"portrait:mara": portrait}))
    return np.asarray(Image.open(out).convert("RGB")).astype(int), facts["figures"], params


def test_an_insert_keyframe_shows_the_thing_in_hand_not_the_face(tmp_path):
    close_up, close_up_boxes, plain = keyframe(tmp_path, None)
    insert, insert_boxes, inserted = keyframe(tmp_path, "insert")
    # Only an insert's key says its grammar: every other keyframe keeps its cache key.
    assert "grammar" not in plain and inserted == {**plain, "grammar": "insert"}

    def red(image):
        return int(((image[..., 0] > 150) & (image[..., 1] < 90) & (image[..., 2] < 90)).sum())

    def paper(image):   # the letter's cream, as the grade leaves it: brighter than the kitchen's walls
        return int(((image[..., 0] > 210) & (image[..., 1] > 170) & (image[..., 2] > 125)).sum())

    assert red(close_up) > 500 and red(insert) == 0          # mara's coat: there, then out of the picture
    assert paper(insert) > 20 * max(1, paper(close_up))      # the letter fills the insert
    (x0, y0, x1, y1), = insert_boxes                         # and is its one box, for eval's mask
    assert (x1 - x0) * (y1 - y0) > 0.1 * insert.shape[0] * insert.shape[1]
    assert len(close_up_boxes) == 1                          # her face: the hand with the letter is below the frame


def test_eval_counts_the_rules_held_and_the_storyboard_labels_each_shot(tmp_path, cli):
    plan = life()   # cut to its first scene: establishing, a cut-in, and the reverse, turned a quarter
    plan["shots"] = plan["shots"][:3]
    plan["shots"][2]["transition"] = {"type": "cut", "duration": 0}
    plan["shots"][2]["camera"]["bearing"] = 90.0
    plan["locations"] = [place for place in plan["locations"] if place["id"] == plan["shots"][0]["location"]]
    plan["score"]["cues"] = [cue for cue in plan["score"]["cues"] if cue["shot"] in {s["id"] for s in plan["shots"]}]
    reverse = plan["shots"][2]
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    run = tmp_path / "run"
    made = cli("render", str(path), "--no-sound", "--out", str(run), *SMALL)
    assert made.exit_code == 0, made.output
    assert "shots[2].grammar: a shot_reverse_shot shot faces the opposite way from s02" in made.stderr
    result = cli("eval", str(run))
    assert result.exit_code == 0, result.output
    grammar = json.loads((run / "metrics.json").read_text())["grammar"]
    film = grammar["film"]
    assert film["shot_reverse_shot"] == {"shots": 1, "rules": 3, "held": 2}
    assert film["establishing"]["held"] == film["establishing"]["rules"] > 0
    assert [s["broken"] for s in grammar["shots"] if s["broken"]] == [["opposite"]]
    line = ", ".join(f"{name} {c['held']} of {c['rules']}" for name, c in film.items())
    assert f"grammar rules held: {line}" in result.stdout
    report = (run / "report.html").read_text()
    assert "<h2>Film grammar</h2>" in report and f"{reverse['id']} (shot_reverse_shot: opposite)" in report
    board = (run / "storyboard.html").read_text()
    assert f'answering\n        <a href="#shot-{reverse["partner"]}">{reverse["partner"]}</a>' in board
    assert board.count('<span class="grammar">') == sum(1 for s in plan["shots"] if s.get("grammar"))
    # Only an insert is drawn otherwise: a shot that stops saying it is a reverse redraws the storyboard alone,
    # and one that becomes an insert redraws its keyframe and what is made from it.
    del reverse["grammar"], reverse["partner"]
    (run / "plan.json").write_text(json.dumps(plan))
    assert {s.node.id for s in status(RunDir(run)) if s.state != "done"} == {"storyboard"}
    reverse["grammar"] = "insert"
    (run / "plan.json").write_text(json.dumps(plan))
    assert {f"keyframe:{reverse['id']}", f"clip:{reverse['id']}", "storyboard"} <= {
        s.node.id for s in status(RunDir(run)) if s.state != "done"}
