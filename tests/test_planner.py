"""The offline planner: deterministic, any length from 1 to 200, cinematic grammar."""

from collections import Counter

import pytest

from scenegen.modules.portrait.animatic import COLOURS, SKIN, read_appearance
from scenegen.modules.script import ScriptRequest
from scenegen.modules.script.offline import OfflinePlanner
from scenegen.schemas.files import dump_plan
from scenegen.schemas.plan import StoryPlan, reference_errors


def plan(sentence="a woman's life", shots=30, seed=0) -> StoryPlan:
    return OfflinePlanner().plan(ScriptRequest(sentence=sentence, shots=shots, seed=seed))


def test_same_request_same_plan_and_seed_changes_it():
    assert dump_plan(plan()) == dump_plan(plan())
    assert dump_plan(plan(seed=1)) != dump_plan(plan())


@pytest.mark.parametrize("shots", [1, 2, 3, 5, 8, 30, 77, 200])
def test_exact_shot_count_and_a_valid_plan(shots):
    p = plan(shots=shots)
    assert len(p.shots) == shots
    assert [s.index for s in p.shots] == list(range(1, shots + 1))
    assert reference_errors(p, 24) == [] and reference_errors(p, 8) == []
    # Round-trips through the schema as written to disk.
    assert StoryPlan.model_validate_json(dump_plan(p)) == p.model_copy(update={"schema_ref": "plan.schema.json"})


def test_acts_scale_with_the_number_of_shots():
    def acts(p):
        return list(dict.fromkeys(s.context.split(".")[0] for s in p.shots if s.context.split(".")[0] in ("Childhood", "Adulthood", "Late years")))

    assert acts(plan(shots=30)) == ["Childhood", "Adulthood", "Late years"]
    assert acts(plan(shots=3)) == ["Childhood", "Adulthood", "Late years"]
    assert acts(plan(shots=1)) == ["Adulthood"]
    long = plan(shots=200)
    opening = sum(1 for s in long.shots[:60] if s.lighting.contrast == "low")
    assert opening >= 45, "the first quarter is the setup, lit softly"


def test_camera_grammar_varies_sensibly():
    p = plan(shots=30)
    sizes = Counter(s.camera.shot_size for s in p.shots)
    assert {"wide", "close_up", "medium_close"} <= set(sizes) or {"extreme_wide", "close_up", "medium_close"} <= set(sizes)
    assert len({s.camera.angle for s in p.shots}) >= 3
    assert len({s.camera.movement for s in p.shots}) >= 5
    # Each scene opens wide: every shot after a scene transition is an establishing shot.
    openers = [p.shots[0]] + [b for a, b in zip(p.shots, p.shots[1:]) if a.transition.type != "cut"]
    assert all(s.camera.shot_size in ("wide", "extreme_wide") for s in openers)
    # Reverse angles: over-the-shoulder shots come in pairs with the characters swapped.
    pairs = [(a, b) for a, b in zip(p.shots, p.shots[1:])
             if a.camera.angle == b.camera.angle == "over_the_shoulder"]
    assert pairs and all(a.characters == b.characters[::-1] for a, b in pairs)


def test_lighting_follows_the_story():
    p = plan(shots=30)
    times = [s.lighting.time_of_day for s in p.shots]
    assert times[0] == "dawn" and "night" in times[int(0.6 * 30):int(0.9 * 30)]
    assert p.shots[-1].lighting.time_of_day == "golden_hour"
    # Contrast rises from soft to hard at the crisis and eases off after it.
    contrast = [s.lighting.contrast for s in p.shots]
    assert contrast[0] == "low" and contrast[-1] == "medium"
    assert all(s.lighting.contrast == "high" for s in p.shots if s.lighting.time_of_day == "night")
    assert all(s.lighting.color_temperature_k < 4000 for s in p.shots if s.lighting.time_of_day == "golden_hour")


def test_cast_has_stable_distinct_appearances_that_the_painter_reads():
    p = plan(shots=30)
    assert len({c.id for c in p.characters}) == len(p.characters) >= 3
    assert len({c.appearance for c in p.characters}) == len(p.characters)
    used = {cid for s in p.shots for cid in s.characters}
    assert used == {c.id for c in p.characters}
    hero = p.characters[0]
    assert sum(hero.id in s.characters for s in p.shots) >= 25
    for c in p.characters:
        words = c.appearance.lower().replace(",", "").split()
        look = read_appearance(c.appearance, c.id)
        assert look["hair"] == COLOURS[words[words.index("hair") - 1]]
        assert look["skin"] == SKIN[words[words.index("skin") - 1]]


def test_sentence_picks_arc_and_protagonist():
    quest = plan("a quest for the last lighthouse", shots=12)
    assert "Departure." in quest.shots[0].context
    man = plan("a man's journey home", shots=4)
    assert man.characters[0].name in ("Tomas", "Idris", "Luca", "Kenji", "Milo", "Rafael", "Jonah", "Arun", "Felix", "Omar", "Theo", "Emil")


def test_portrait_reads_colours_and_features():
    look = read_appearance("Long auburn hair, green eyes, fair skin, a red coat, round glasses", "x")
    assert look["hair"] == COLOURS["auburn"] and look["eyes"] == COLOURS["green"]
    assert look["skin"] == SKIN["fair"] and look["garment"] == COLOURS["red"]
    assert look["hair_style"] == "long" and look["glasses"] and not look["beard"]


def test_plain_text_is_plain_and_the_storyboard_escapes_it_once(tmp_path, cli):
    sentence = "a thief's escape & the chase"
    planned = plan(sentence, shots=4)
    text = dump_plan(planned)
    assert "thief's" in text and "&#39;" not in text and "&amp;" not in text
    result = cli("story", sentence, "--shots", "4", "--size", "160x96", "--fps", "12", "--out", str(tmp_path / "run"))
    assert result.exit_code == 0, result.output
    assert "&#39;" not in (tmp_path / "run" / "shots.srt").read_text()
    page = (tmp_path / "run" / "storyboard.html").read_text()
    assert "thief&#39;s" in page and "&amp;#39;" not in page and "&amp;amp;" not in page


@pytest.mark.parametrize("bad", ["ari\n", "ari\nzed", "Ari", "-ari", "a" * 41])
def test_ids_must_match_in_full(bad):
    from pydantic import ValidationError

    data = plan(shots=2).model_dump(mode="json")
    data["characters"][0]["id"] = bad
    with pytest.raises(ValidationError, match="is not a valid id"):
        StoryPlan.model_validate(data)


SENTENCES = ["a woman's life", "a boy's life at sea", "a detective chases a thief through rainy Tokyo",
             "two sisters run a bakery", "an old fisherman and the storm", "a quest for fire",
             "a rivalry between two chefs", "a soldier comes home", "a day in a city",
             "a mystery in a lighthouse", "a girl grows up in the mountains", "a football final"]
HOURS = {"dawn": "dawn", "morning": "morning", "noon": "noon", "afternoon": "afternoon",
         "golden_hour": "golden hour", "dusk": "dusk", "night": "night"}
OTHER_HOUR_WORDS = ["sunrise", "sunset", "evening", "midnight", "midday"]
MOVES = {"static": "locked off", "pan_left": "panning left", "pan_right": "panning right", "tilt_up": "tilting up",
         "tilt_down": "tilting down", "dolly_in": "dollying in", "dolly_out": "dollying out", "zoom_in": "zooming in",
         "zoom_out": "zooming out", "truck_left": "trucking left", "truck_right": "trucking right",
         "crane_up": "craning up", "crane_down": "craning down", "orbit_left": "orbiting left",
         "orbit_right": "orbiting right", "handheld": "handheld"}


@pytest.mark.parametrize("sentence", SENTENCES)
@pytest.mark.parametrize("shots, seed", [(30, 0), (7, 3), (200, 1)])
def test_lighting_and_camera_text_say_what_their_fields_say(sentence, shots, seed):
    story = plan(sentence, shots, seed)
    for shot in story.shots:
        light, camera = shot.lighting, shot.camera
        said = (light.text + " " + shot.background).lower()
        hour = HOURS[light.time_of_day]
        assert hour in said, (shot.id, said)
        # No other hour in the words: "night, golden hour" is a contradiction a reader sees at once.
        others = [h for h in [*HOURS.values(), *OTHER_HOUR_WORDS] if h != hour and h not in hour]
        assert not [h for h in others if h in said.replace(hour, "")], (shot.id, said)
        text = light.text.lower()
        assert f"{light.color_temperature_k} k" in text, (shot.id, light)
        assert f"{light.contrast} contrast" in text and f"from the {light.key_light}" in text and light.mood in text
        words = camera.text.lower()
        assert words.startswith(camera.shot_size.replace("_", " ")), (shot.id, camera)
        assert f"{camera.angle.replace('_', ' ')} angle" in words and MOVES[camera.movement] in words
        assert f"{round(camera.fov_deg)}° lens" in words
        assert all(story.character(c).name in shot.relation for c in shot.characters), (shot.id, shot.relation)


@pytest.mark.parametrize("sentence", SENTENCES)
def test_captions_vary_and_never_paste_the_sentence(sentence):
    long, short = plan(sentence, 200, 0), plan(sentence, 30, 0)
    assert len({s.context for s in long.shots}) >= 150
    assert len({s.context for s in short.shots}) == 30
    assert not [s.id for s in long.shots if sentence.lower() in s.context.lower()]
    # A long story's rhythm: cuts within a moment, dissolves as time passes, smooth between acts.
    assert {s.transition.type for s in long.shots} == {"cut", "dissolve", "smooth"}


def test_a_life_shows_its_protagonist_growing_old():
    story = plan("a woman's life", 30, 0)
    hero = story.shots[0].characters[0]
    order = {"child": 0, "adult": 1, "elder": 2}
    ages = [order[shot.ages.get(hero, "adult")] for shot in story.shots if hero in shot.characters]
    assert ages == sorted(ages) and set(ages) == {0, 1, 2}
    assert all(set(shot.ages) <= set(shot.characters) for shot in story.shots)
