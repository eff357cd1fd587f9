"""The offline planner tells the sentence's story: measured on a corpus written for it, and on the
sentences that once read wrong.

The corpus (tests/reading_corpus/) is two sets, labelled with the lead, the places, the weather
and the world of each sentence. tuning.toml is what the reader was tuned on: 183 sentences. Its
first 85, 5 per kind, were written by one helper; their first half was split from a held-out
half by SHA-256 order within each kind, and that half was folded into tuning after a helper
writing the new kinds read it. Two probe batches followed, written by another helper to find
backgrounds that contradict their world: 69 sentences crossing every world with several kinds,
and 29 naming places the reader misread. held_out.toml is a second set of 85, written after the
first 85 to the same spec by a helper that read none of the project, and looked at by nobody
while tuning: its failures are reported as counts only. bench/reading.py measures both and
writes docs/reading.md.
"""

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from scenegen.modules.script import ScriptRequest, reading
from scenegen.modules.script.offline import OfflinePlanner

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("reading_bench", ROOT / "bench" / "reading.py")
bench = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = bench  # dataclasses look their module up while the class is made
spec.loader.exec_module(bench)
BAR = {"lead": 0.9, "places": 0.9, "weather": 0.9, "contradictions": 1.0}


@pytest.fixture(scope="module")
def measured():
    return {split: bench.measure(split) for split in bench.SPLITS}


def short_of_the_bar(scores: dict, fields: list[str]) -> dict[str, str]:
    """Fields under the bar, as counts only: the held-out set stays unread."""
    return {name: f"{scores[name].right}/{scores[name].total}" for name in fields if scores[name].share < BAR[name]}


def test_the_held_out_sentences_read_right(measured):
    scores = measured["held_out"]
    assert all(scores[name].total >= 25 for name in ("lead", "places", "weather"))
    assert not short_of_the_bar(scores, ["lead", "places", "weather"])


@pytest.mark.xfail(strict=True, reason="one held-out sentence's backgrounds hold what its world cannot (48 of 49 "
                                       "hold none); the sentence was not looked at, so issue [1/6] stays open on it")
def test_no_held_out_background_contradicts_its_world(measured):
    assert not short_of_the_bar(measured["held_out"], ["contradictions"])


def test_the_tuning_sentences_read_right(measured):
    scores = measured["tuning"]
    assert not {name: scores[name].missed for name in BAR if scores[name].share < BAR[name]}


def test_docs_report_what_the_reader_does_now(measured):
    page = (ROOT / "docs" / "reading.md").read_text()
    assert bench.table(measured) in page, "run python bench/reading.py"


def plan(sentence: str, shots: int = 30):
    return OfflinePlanner().plan(ScriptRequest(sentence=sentence, shots=shots, seed=0))


def backgrounds(story) -> list[str]:
    return [shot.background.lower() for shot in story.shots]


def share(story, word: str) -> float:
    return sum(bench.says(b, word) for b in backgrounds(story)) / len(story.shots)


def cast(story) -> list[str]:
    return [c.description.lower() for c in story.characters]


def test_the_lead_is_the_sentences_subject():
    son = plan("a fisherman's son leaves the island to study in the city")
    assert re.match(r"\w+, a son\b", son.characters[0].description)
    assert any("fisherman" in c for c in cast(son)[1:])
    keeper = plan("an old lighthouse keeper rescues sailors in a winter storm")
    assert re.match(r"\w+, a keeper\b", keeper.characters[0].description)
    assert any("sailor" in c for c in cast(keeper)[1:])


def test_a_verb_is_never_a_place():
    boxer = plan("a retired boxer trains his granddaughter")
    assert reading.read("a retired boxer trains his granddaughter").kind == "training"
    assert not [b for b in backgrounds(boxer) if re.search(r"\btrains?\b", b)]
    assert re.match(r"\w+, a boxer\b", boxer.characters[0].description)
    assert any("granddaughter" in c for c in cast(boxer))


def test_a_city_is_kept_beside_a_building():
    bakery = plan("two sisters open a bakery in Paris")
    assert share(bakery, "paris") == share(bakery, "bakery") == 1.0
    assert not [b for b in backgrounds(bakery) if "mountain" in b]
    assert reading.read("two sisters open a bakery in Paris").kind == "venture"


def test_every_person_and_creature_is_cast():
    story = plan("a girl and a robot escape a flooded city")
    assert re.match(r"\w+, a girl\b", story.characters[0].description)
    robot = next(c for c in story.characters if "robot" in c.description)
    assert "robot" in robot.appearance or "plating" in robot.appearance
    assert all("flood" in b for b in backgrounds(story)) and share(story, "city") == 1.0


@pytest.mark.parametrize("sentence, world, never", [
    ("a murder on the night train", "train", [r"below the night train", r"\bferry\b", r"\bdeck\b"]),
    ("a quest in the mountains", "mountains", [r"\bsea\b", r"\bbeach\b", r"\bharbou?r\b"]),
    ("a thief flees across the desert", "desert", [r"\bsubway\b", r"\btunnel\b", r"\bsea\b"]),
])
def test_a_kinds_places_come_from_the_settings_world(sentence, world, never):
    story = plan(sentence)
    assert reading.read(sentence).setting.world == world
    assert not [b for b in backgrounds(story) for pattern in never if re.search(pattern, b)]
    if world == "train":   # a train story stays aboard and at its stations
        assert all("the night train" in b for b in backgrounds(story))


def test_weather_reaches_backgrounds_and_light():
    snow = plan("a doctor crosses the city in a snowstorm")
    assert all("snowstorm" in b for b in backgrounds(snow))
    assert all("snowstorm" in shot.lighting.text for shot in snow.shots)
    fire = plan("a family flees a wildfire")
    assert all("wildfire" in b for b in backgrounds(fire))
    said = " ".join(t for s in fire.shots for t in (s.context, s.character, s.background, s.lighting.text)).lower()
    assert "siren" not in said and "bookcase" not in said and "the fire" in said


@pytest.mark.parametrize("sentence, kind", [
    ("a boxer trains for the fight of his life", "training"),
    ("a dancer wins over the crowd", "performance"),
    ("a son leaves home", "leaving"),
    ("an old woman remembers her first love", "memory"),
    ("a widow opens a bakery", "venture"),
    ("a sailor is stranded on an island", "survival"),
])
def test_the_kinds_people_type_are_told(sentence, kind):
    assert reading.read(sentence).kind == kind
    assert not [c for c in cast(plan(sentence)) if "cartographer" in c]


def test_a_story_remembered_cuts_between_then_and_now():
    story = plan("an old woman remembers her first love")
    hero = story.characters[0].id
    ages = [shot.ages.get(hero, "adult") for shot in story.shots if hero in shot.characters]
    assert "elder" in ages and {"child", "adult"} & set(ages)
    changes = sum(a != b for a, b in zip(ages, ages[1:]))
    assert changes >= 4, ages


# Found by a review of the reader: each once crashed the planner or cast or said the wrong thing.

@pytest.mark.parametrize("sentence", ["two friends explore a village near the ship", "the forest near the train",
                                      "the streets of a ship", "a ship sinks", "a ship sinks at dawn"])
def test_a_vehicle_is_the_world_only_when_the_story_is_aboard(sentence):
    from scenegen.schemas.checks import plan_errors

    story = plan(sentence, 12)
    assert plan_errors(story, 24) == []
    setting = reading.read(sentence).setting
    aboard = setting is not None and setting.world in ("ship", "train")
    assert aboard == (setting is not None and setting.places[0][1].noun in ("ship", "train"))


@pytest.mark.parametrize("sentence, noun", [
    ("two sisters fight over the family business", "business"), ("a murder on the midnight express", "express"),
    ("the summer ends", "summer"), ("a letter arrives for Nora", "letter"), ("a human walks home", "human"),
    ("the explorers cross a wilderness", "wilderness"),
])
def test_a_common_noun_is_no_one(sentence, noun):
    assert not [c for c in plan(sentence, 8).characters if re.match(rf"\w+, an? {noun}\b", c.description)]


def test_a_letter_for_nora_is_noras_story():
    assert reading.read("a letter arrives for Nora").people[0].name == "Nora"


def test_creatures_look_like_what_they_are():
    rex = plan("Rex, a stray dog, finds his way home", 8).characters[0]
    assert rex.name == "Rex" and "fur" in rex.appearance and "hair" not in rex.appearance
    whale = plan("a whale swims home across the ocean", 8).characters[0]
    assert "skin" in whale.appearance and "fur" not in whale.appearance
    dog = plan("the life of a stray dog", 30)   # no human mother or grandchild
    kin = reading.vocabulary()["people"]["kin"]
    assert not [c for c in dog.characters[1:] if re.search(rf"{dog.characters[0].name}'s ({'|'.join(kin)})\b", c.description)]


def test_silver_hair_is_an_elders():
    story = plan("Eli, ninety, remembers the bakery he ran in Warsaw before the war", 30)
    for shot in story.shots:
        for part in shot.character.split(";"):
            assert "silver hair" not in part or "old" in part, part


def test_places_of_one_scale_are_not_put_inside_each_other():
    story = plan("a spy in Paris loves a pilot in Berlin")
    assert not [b for b in backgrounds(story) if "paris" in b and "berlin" in b]
    home = reading.read("Amara flies back to Lagos after ten years in London")
    assert home.setting.text == "Lagos" and home.origin.text == "London"
    chased = reading.read("a getaway driver is chased from Marseille to the Swiss mountains")
    assert chased.origin.text == "Marseille" and chased.setting.world == "mountains"


@pytest.mark.parametrize("sentence, era", [("a general leads 1000 soldiers", None), ("an old miner remembers the strike of 1984", "in 1984"),
                                           ("Aiko, a telegraph girl in wartime Tokyo", "in wartime"),
                                           ("a knight in medieval England", "in medieval times")])
def test_a_year_is_an_era_and_a_count_is_not(sentence, era):
    assert reading.read(sentence).era == era


def test_numbers_in_words_count_people():
    assert len([p for p in reading.read("eleven sisters and a dog").people if p.word == "sister"]) == reading.MAX_PEOPLE
    assert [p.word for p in reading.read("twenty-two sisters").people].count("sister") == reading.MAX_PEOPLE
