"""Locations in the plan (issue 28): both planners write them, every shot names one, a reverse
angle faces the other way in its location, and a plan whose shots point nowhere is refused in
one line that names the JSON path."""

import json
from collections import Counter

import pytest

from scenegen.errors import UserError
from scenegen.modules.script import ScriptRequest
from scenegen.modules.script.llm import LLMPlanner
from scenegen.modules.script.offline import OfflinePlanner
from scenegen.schemas import StoryPlan
from scenegen.schemas.checks import plan_errors
from scenegen.schemas.files import dump_plan, load_plan, plan_schema

from support.fake_llm import FakeLLM, Fault

LIFE = ("a woman's life", 30)
MYSTERY = ("a detective solves a murder in a snowed-in mountain hotel", 12)


def offline(sentence: str, shots: int) -> StoryPlan:
    return OfflinePlanner().plan(ScriptRequest(sentence=sentence, shots=shots))


@pytest.mark.parametrize("sentence, shots", [LIFE, MYSTERY], ids=["life", "mystery"])
def test_offline_plans_put_every_shot_in_a_location_some_return_to(sentence, shots):
    plan = offline(sentence, shots)
    assert plan_errors(plan, 24) == []
    assert plan.locations and all(shot.location for shot in plan.shots)
    uses = Counter(shot.location for shot in plan.shots)
    assert set(uses) == {place.id for place in plan.locations}   # none is left unused
    assert max(uses.values()) >= 2
    for place in plan.locations:
        assert 2 <= len(place.layout) <= 4, place
        assert len({item.bearing for item in place.layout}) == len(place.layout)   # one thing per direction
        # The shots there say the place the location describes.
        for shot in plan.shots:
            if shot.location == place.id:
                assert shot.background.lower().startswith(place.description.lower().rstrip(".")), (place, shot.background)


def test_each_place_has_an_id_of_its_own():
    plan = offline(*MYSTERY)
    ids = [place.id for place in plan.locations]
    assert len(ids) == len(set(ids))
    assert {"lobby", "kitchen", "office"} <= set(ids)


def test_a_reverse_angle_faces_the_other_way_in_its_location():
    plan = offline(*LIFE)
    exchanges = [(a, b) for a, b in zip(plan.shots, plan.shots[1:])
                 if a.location == b.location and a.camera.angle == b.camera.angle == "over_the_shoulder"
                 and a.characters == b.characters[::-1]]
    assert len(exchanges) >= 3
    for asked, answered in exchanges:
        assert (asked.camera.bearing, answered.camera.bearing) == (0.0, 180.0), (asked.id, answered.id)
    # A shot that is no one's reverse keeps to the location's front, or near it.
    wides = [shot for shot in plan.shots if shot.camera.shot_size in ("wide", "extreme_wide")]
    assert all(shot.camera.bearing == 0.0 for shot in wides)


def write(tmp_path, plan: dict):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    return path


@pytest.mark.parametrize("what, breaker, path, said", [
    ("unknown location", lambda p: p["shots"][3].update(location="nowhere"), "shots[3].location", "unknown location id 'nowhere'"),
    ("duplicate location id", lambda p: p["locations"][1].update(id=p["locations"][0]["id"]), "locations[1].id",
     "duplicate location id 'kitchen'"),
    ("shot with no location", lambda p: p["shots"][2].pop("location"), "shots[2].location",
     "every shot names its location once the plan has locations"),
], ids=lambda v: v if isinstance(v, str) and " " in v else "")
def test_a_shot_that_points_nowhere_is_one_line_naming_its_path(tmp_path, what, breaker, path, said):
    plan = json.loads(dump_plan(offline("a woman's life", 8)))
    breaker(plan)
    with pytest.raises(UserError) as refused:
        load_plan(write(tmp_path, plan), fps=24)
    message = str(refused.value)
    assert len(message.splitlines()) == 1
    assert message.startswith(f"{tmp_path / 'plan.json'}: {path}: ") and said in message, message


def test_a_plan_without_locations_still_loads_and_its_clips_hash_as_before(tmp_path):
    from scenegen.modules.clip import ClipBackend
    from scenegen.schemas import OutputFormat

    plan = json.loads(dump_plan(offline("a woman's life", 6)))
    plan.pop("locations")
    for shot in plan["shots"]:
        shot.pop("location")
        shot["camera"].pop("bearing", None)
    loaded = load_plan(write(tmp_path, plan), fps=24)
    assert loaded.locations == [] and all(shot.location is None and shot.camera.bearing == 0 for shot in loaded.shots)
    # The clip reads no bearing (a set's view will), so its key is what it was before plans had one.
    shot = loaded.shots[0]
    params = ClipBackend.params(None, loaded, shot, OutputFormat())
    assert params["camera"] == shot.camera.model_dump(mode="json", exclude={"text", "bearing", "crosses_line"}, exclude_none=True)
    assert "bearing" not in params["camera"]


def test_the_json_schema_knows_locations():
    schema = json.loads(plan_schema())
    assert "locations" in schema["properties"]
    assert {"location"} <= set(schema["$defs"]["Shot"]["properties"])
    assert schema["$defs"]["CameraPose"]["properties"]["bearing"]["maximum"] == 180.0
    assert set(schema["$defs"]["Location"]["required"]) == {"id", "name", "description", "time_of_day"}
    assert schema["$defs"]["Season"]["enum"] == ["spring", "summer", "autumn", "winter"]


def llm_plan(llm: FakeLLM, tmp_path, shots=8) -> StoryPlan:
    planner = LLMPlanner({"base_url": llm.url, "model": "test-model", "retries": 1}, http_client=llm.client())
    return planner.plan(ScriptRequest(sentence="a baker's journey to the sea", shots=shots, workdir=tmp_path))


def test_the_llm_planner_writes_locations_and_asks_for_them(tmp_path):
    llm = FakeLLM()
    plan = llm_plan(llm, tmp_path)
    assert plan_errors(plan, 24) == []
    assert [place.id for place in plan.locations] == ["bakery", "coastal-road"]
    assert plan.location("bakery").layout[1].what == "the ovens"
    assert [shot.location for shot in plan.shots] == ["bakery"] * 2 + ["coastal-road"] * 6
    assert [shot.camera.bearing for shot in plan.shots][:4] == [0, 0, 180, 0]
    # The outline is asked for them, and each batch may name only their ids.
    assert "the locations:" in llm.requests[0]["messages"][1]["content"]
    batch = llm.requests[2]
    assert "- bakery (Mara's bakery)" in batch["messages"][1]["content"]
    spec = batch["response_format"]["json_schema"]["schema"]["$defs"]["ShotSpec"]["properties"]
    assert spec["location"]["enum"] == ["bakery", "coastal-road"]


def test_an_unknown_or_doubled_location_id_is_repaired(tmp_path):
    def elsewhere(answer):
        answer["shots"][1]["location"] = "moon"

    def doubled(answer):
        answer["locations"][1]["id"] = "bakery"

    llm = FakeLLM([Fault("Outline", mutate=doubled), Fault("ShotBatch", mutate=elsewhere)])
    plan = llm_plan(llm, tmp_path, shots=4)
    assert llm.stages() == ["Outline", "Outline", "PreShots", "ShotBatch", "ShotBatch"]
    outline_repair = [m["content"] for m in llm.requests[1]["messages"][2:] if m["role"] == "user"]
    assert "locations: the id 'bakery' is used twice" in outline_repair[0]
    batch_repair = [m["content"] for m in llm.requests[-1]["messages"][2:] if m["role"] == "user"]
    assert "shots[1].location" in batch_repair[0] and "'bakery'" in batch_repair[0]
    assert {shot.location for shot in plan.shots} <= {"bakery", "coastal-road"}
