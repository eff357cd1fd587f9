"""Offline planner: a deterministic story plan from (sentence, shots, seed), no model needed.

1. The sentence is read (`reading.py`): the kind of story (a life, a quest, a chase, a
   romance, ...), the people it names and what they are, the places and their world,
   weather and era.
2. The kind's acts share the shots (25% / 50% / 25%); each act's beats become scenes,
   so 1 shot or 200 both get a beginning, a middle and an end.
3. A cast is drawn once, with appearances that never change: the protagonist, then the
   kind's roles the chosen beats call for, filled in the order the sentence names
   people ("a detective chases a thief": the thief is the one chased), one named at the
   protagonist's side in a role at their side. A shot's text says each one as the
   picture shows them at their age there ("an old woman with silver hair").
4. Each beat happens in the places named, kept to their world ("a rooftop in Tokyo",
   "the lamp room of the lighthouse"; a beach in a mountain story becomes a mountain
   lake), in the named weather, which the light says too. Each place is a location of the
   plan, shared by every scene there, with what stands where in it (locations.toml).
5. Each scene is covered with camera grammar: an establishing wide, a two-shot, then
   reverse angles over the shoulder and close-ups, a pull-out to end long scenes. A
   reverse faces the other way in the location (bearing 180) from the shot it answers,
   over the other shoulder, so the camera keeps to one side of the line between the two
   and each keeps their side of the frame (schemas/screen.py): no shot crosses it.
   Each shot says its grammar where it is one (schemas/film_grammar.py): the opener is
   establishing, a reverse a shot_reverse_shot answering the shot before it, a move
   closer on someone just seen a cut_in on it; a shot that comes a while later answers none.
6. Light follows the story: dawn to golden hour through the first half, night at the
   crisis, warm light at the end; contrast rises toward the climax.
7. Sound follows it too: each act opens on its narration, each beat's lines are said in
   the shots where their speakers are in frame (a shot lasts as long as its words
   need), and the score enters anew with each act, in its mood, swells into the climax
   and drops after it.

Every sentence comes from `prompts/offline/planner.j2` and the kinds' templates; words
from `prompts/offline/` (vocabulary.toml, reading.toml, locations.toml, kinds/*.toml).
"""

from __future__ import annotations

import random
import re
import tomllib
from collections import Counter
from functools import cache
from importlib.resources import files
from typing import ClassVar

from jinja2 import meta

from scenegen.modules.script import ScriptBackend, ScriptRequest, reading
from scenegen.modules.script.grammar import tag
from scenegen.prompts import environment, sentence
from scenegen.schemas import (
    CameraPose, Character, Grammar, Lighting, Shot, StoryPlan, Transition, TransitionType,
)
from scenegen.schemas.plan import (
    NARRATOR, PARTNERED, LayoutItem, Line, Location, Score, ScoreChange, ScoreCue, Voice,
)
from scenegen.schemas.timing import seconds_to_say

ACT_ORDER_FOR_FEW = {1: [1], 2: [0, 2]}
KELVIN = {"dawn": 3800, "morning": 5200, "noon": 6000, "afternoon": 5600, "golden_hour": 3200, "dusk": 4200, "night": 7500}
# Story position (0..1) -> time of day: the day passes, night falls at the crisis, warmth returns.
DAYLIGHT = [(0.12, "dawn"), (0.25, "morning"), (0.4, "noon"), (0.52, "afternoon"), (0.64, "golden_hour"),
            (0.72, "dusk"), (0.86, "night"), (0.93, "dawn"), (1.01, "golden_hour")]
SECONDS = {"extreme_wide": 4.0, "wide": 3.5, "full": 3.0, "medium": 3.0, "medium_close": 2.5,
           "close_up": 2.5, "extreme_close_up": 2.0}
TIME_PASSES = 6   # in a scene longer than this, every sixth shot comes a while later
FOV = {"extreme_wide": 80, "wide": 65, "full": 50, "medium": 45, "medium_close": 40, "close_up": 35, "extreme_close_up": 30}
PRONOUNS = {"female": ("she", "her", "her"), "male": ("he", "him", "his"), "neutral": ("they", "them", "their")}
VOICES = {"female": "feminine", "male": "masculine"}
# Roles that stand beside the protagonist, for someone the sentence puts there ("Nora and her brother").
COMPANIONS = ("companion", "ally", "friend", "partner", "teammate", "comrade", "sibling")
# What someone is, by age and gender, as a shot's text says it.
AGE_NOUNS = {"child": {"female": "girl", "male": "boy", "neutral": "child"},
             "adult": {"female": "woman", "male": "man", "neutral": "person"},
             "elder": {"female": "old woman", "male": "old man", "neutral": "old person"}}


class OfflinePlanner(ScriptBackend):
    name: ClassVar[str] = "offline"
    description: ClassVar[str] = "the offline planner (no LLM)"

    def plan(self, request: ScriptRequest) -> StoryPlan:
        words = tomllib.loads(files("scenegen.prompts").joinpath("offline/vocabulary.toml").read_text())
        macros = environment().get_template("offline/planner.j2").module
        rng = random.Random(f"{request.sentence}\x00{request.shots}\x00{request.seed}")
        premise = reading.read(request.sentence)
        kind = reading.kinds()[premise.kind]
        arc = kind["acts"]

        scenes = _scenes(arc, request.shots)
        # The cast: whoever the chosen beats and the title and logline name, so one shot of a
        # chase still knows who is chased.
        named_in_title = meta.find_undeclared_variables(environment().parse(kind["title"] + kind["logline"]))
        cast = _cast(rng, words, kind, premise, [*(role for _, beat, _ in scenes for role in beat["roles"]),
                                                 *(role for role in kind["roles"] if {role, f"{role}_word"} & named_in_title)])
        hero = cast["hero"]
        names = {"hero": hero["name"], "hero_word": hero["word"], "hero_called": hero["called"],
                 **dict(zip(("subj", "obj", "poss"), PRONOUNS[hero["gender"]])),
                 **{role: c["name"] for role, c in cast.items()}, **{f"{role}_word": c["word"] for role, c in cast.items()},
                 "place_clause": _place_clause(premise), "disaster": premise.event or "the disaster"}

        def say(text: str, **more: str) -> str:
            return environment().from_string(text).render(**names, **more)

        characters = [
            Character(
                id=c["id"], name=c["name"],
                description=sentence(say(kind["hero"]["description"] if role == "hero" else kind["roles"][role]["description"],
                                         name=c["name"], word=c["word"], called=c["called"])),
                appearance=sentence(macros.appearance(c["look"])),
                voice=c["voice"],
            )
            for role, c in cast.items()
        ]
        cues: list[ScoreCue] = []
        shots: list[Shot] = []
        locations: dict[str, Location] = {}   # by the words that place it: scenes there share it
        total = request.shots
        turns: Counter[str] = Counter()   # rooms and a world's own locations are taken in turn
        for scene_no, (act, beat, count) in enumerate(scenes):
            position = len(shots) / total
            # A beat whose place has its own hour (a rooftop at night) keeps it; the others follow the day.
            time_of_day = beat.get("time_of_day") or next(t for edge, t in DAYLIGHT if position < edge)
            roles = ["hero", *beat["roles"]]
            people = [cast[r] for r in roles]
            act_no = [a["name"] for a in arc].index(act["name"])
            # A beat may set its own ages: a story remembered cuts between the old hero and the young one.
            age = {cast[r]["id"]: beat.get("ages", {}).get(r) or cast[r]["ages"][act_no] for r in roles}
            climax = 0.6 <= position < 0.86
            # The fields first, then the words from them: the text can never say another hour or kelvin.
            key_light = _key_light(time_of_day, scene_no)
            kelvin = KELVIN[time_of_day] + rng.choice([-200, 0, 200])
            contrast = "high" if climax or time_of_day == "night" else ("low" if position < 0.25 else "medium")
            weather = premise.weather and reading.vocabulary()["weather"][premise.weather]
            lighting = Lighting(
                time_of_day=time_of_day, key_light=key_light, color_temperature_k=kelvin, contrast=contrast,
                mood=beat["mood"], text=sentence(macros.lighting(time_of_day, key_light, kelvin, contrast, beat["mood"],
                                                                 weather and weather["light"])),
            )
            where = _where(say(beat["location"]), beat["setting"], premise, kind, scene_no, act_no, turns)
            if where not in locations:
                locations[where] = _location(where, beat["setting"], time_of_day, premise, locations.values())
            moments = [say(m) for m in (beat["action"], *beat["moments"])]
            lines = [(cast[line["by"]], say(line["say"])) for line in beat["lines"]]
            opens_act = scene_no == 0 or scenes[scene_no - 1][0] is not act
            first_id = _shot_id(len(shots) + 1, total)
            if opens_act and scene_no > 0:
                cues.append(ScoreCue(shot=first_id, change=ScoreChange.enter, mood=beat["mood"]))
            elif climax and not any(c.change == ScoreChange.swell for c in cues):
                cues.append(ScoreCue(shot=first_id, change=ScoreChange.swell))
            elif position >= 0.86 and cues and cues[-1].change == ScoreChange.swell:
                cues.append(ScoreCue(shot=first_id, change=ScoreChange.drop))
            for k, (size, angle, movement, framed, grammar) in enumerate(_coverage(rng, count, len(people), beat["mood"])):
                index = len(shots) + 1
                later = k > 0 and k % TIME_PASSES == 0
                grammar = None if later else grammar   # a while later, the shot answers none before it
                in_frame = [people[i] for i in framed]
                subject = " and ".join(p["name"] for p in in_frame) or where
                last_of_scene = k == count - 1
                narration = say(act["narration"]) if opens_act and k == 0 else None
                # The next line whose speaker is in frame is said here, one line a shot.
                line = next(((who, text) for who, text in lines if who in in_frame), None) if not narration else None
                if line:
                    lines.remove(line)
                dialogue = [Line(speaker=line[0]["id"], text=line[1])] if line else []
                said = [(narration, NARRATOR.pace)] if narration else []
                said += [(line[1], line[0]["voice"].pace)] if line else []
                transition = _transition(scenes, scene_no, last_of_scene, k, count)
                incoming = shots[-1].transition.duration if shots else 0.0
                shots.append(Shot(
                    id=_shot_id(index, total),
                    index=index,
                    characters=[p["id"] for p in in_frame],
                    ages={p["id"]: age[p["id"]] for p in in_frame if age[p["id"]] != "adult"},
                    character=sentence(macros.character([_as_seen(p, age[p["id"]]) for p in in_frame], hero["name"],
                                                        say(beat["action"]))),
                    location=locations[where].id,
                    background=sentence(macros.background(
                        where, time_of_day, weather and weather["indoors" if beat["setting"] == "indoor" else "outdoors"]
                        or rng.choice(words["phrases"]["scenery_details"]), premise.era)),
                    relation=sentence(macros.relation([p["name"] for p in in_frame],
                                                 words["layouts"][beat["mood"]] if len(in_frame) > 1
                                                 else rng.choice(words["phrases"]["solo_layouts"]))),
                    camera=CameraPose(
                        shot_size=size, angle=angle, movement=movement,
                        movement_amount=0.0 if movement == "static" else rng.choice([0.3, 0.5, 0.7]),
                        fov_deg=FOV[size], bearing=_bearing(size, angle, framed, len(people)),
                        text=sentence(macros.camera(size, angle, movement, FOV[size], subject)),
                    ),
                    grammar=grammar,
                    # The coverage's reverses and cut-ins answer the shot just before them, in the scene.
                    partner=shots[-1].id if grammar in PARTNERED else None,
                    lighting=lighting,
                    context=sentence(macros.context(
                        say(beat["event"]), act["name"], k, moments[(k - 1) % len(moments)], hero["name"],
                        [p["name"] for p in in_frame], [p["name"] for p in people[1:]], size, angle,
                        later=later)),
                    duration=max(SECONDS[size] + rng.choice([-0.5, -0.25, 0.0, 0.25, 0.5]),
                                 seconds_to_say(said, incoming, transition.duration)),
                    transition=transition,
                    narration=narration,
                    dialogue=dialogue,
                ))
        return StoryPlan(
            title=sentence(say(kind["title"])),
            logline=sentence(say(kind["logline"])),
            style=_style(premise),
            seed=request.seed,
            characters=characters,
            locations=list(locations.values()),
            shots=shots,
            score=Score(mood=scenes[0][1]["mood"], cues=cues),
        )


def _shot_id(index: int, total: int) -> str:
    return f"s{index:0{max(2, len(str(total)))}d}"


def _scenes(arc: list[dict], shots: int) -> list[tuple[dict, dict, int]]:
    """(act, beat, shot count) per scene, the acts sharing the shots by their share."""
    acts = [arc[i] for i in ACT_ORDER_FOR_FEW.get(shots, range(len(arc)))]
    weights = [a["share"] for a in acts]
    per_act = _share(shots, weights)
    scenes = []
    for act, n in zip(acts, per_act):
        beats = act["beats"]
        used = [beats[round(i * (len(beats) - 1) / max(1, min(n, len(beats)) - 1))] for i in range(min(n, len(beats)))]
        for beat, count in zip(used, _share(n, [1.0] * len(used))):
            scenes.append((act, beat, count))
    return scenes


def _share(total: int, weights: list[float]) -> list[int]:
    """Split `total` by `weights`, each part at least 1 while total allows (largest remainder)."""
    raw = [total * w / sum(weights) for w in weights]
    parts = [max(1, int(r)) if total >= len(weights) else int(r) for r in raw]
    while sum(parts) < total:
        i = max(range(len(raw)), key=lambda i: raw[i] - parts[i])
        parts[i] += 1
    while sum(parts) > total:
        i = max(range(len(parts)), key=lambda i: parts[i])
        parts[i] -= 1
    return parts


def _cast(rng: random.Random, words: dict, kind: dict, premise: reading.Premise, roles: list[str]) -> dict[str, dict]:
    """The protagonist and each role the beats call for, as the sentence names them where it does."""
    named = _named_roles(kind, premise.people)
    genders = {w: g for g in ("female", "male") for w in reading.vocabulary()["people"][g]}
    kin_words = reading.vocabulary()["people"]["kin"]
    taken: set[str] = set()
    cast: dict[str, dict] = {}
    for role in ["hero", *dict.fromkeys(roles)]:
        person = named.get(role, reading.Person(word=None, name=None, gender=None, age=None))
        default = kind["hero"] if role == "hero" else kind["roles"][role]
        word = person.word or default["word"]
        # A protagonist of no known gender is "they"; others are drawn, unless their word says.
        gender = person.gender or genders.get(word) or \
            ("neutral" if role == "hero" or person.creature else rng.choice(["female", "male", "neutral"]))
        pool = words["names"]["creature" if person.creature else gender]
        name = person.name or rng.choice([n for n in pool if n not in taken])
        taken.add(name)
        cast[role] = {
            "id": _identifier(name, cast), "name": name, "look": _look(rng, words["appearance"], person, word, gender),
            "word": word, "gender": gender, "creature": person.creature,
            # A relative by the sentence's word, or by the role's own when the sentence names no one for
            # it and the protagonist is a person: a stray dog has no mother at the kitchen table.
            "called": f"{cast['hero']['name']}'s {word}" if person.kin or role not in named and word in kin_words
            and not cast["hero"]["creature"] else reading.english().a(word),
            # The kind says how a role ages act by act (a life); else the sentence ("an old fisherman").
            "ages": kind.get("ages", {}).get(role) or [person.age or "adult"] * len(kind["acts"]),
        }
        # The voice is drawn apart from the plan's other draws: it never changes anyone's looks.
        voice_draw = random.Random(f"{name}\x00{gender}\x00voice")
        kind_of_voice = ("childlike" if all(a == "child" for a in cast[role]["ages"])
                         else VOICES.get(gender) or voice_draw.choice(list(VOICES.values())))
        cast[role]["voice"] = Voice(kind=kind_of_voice, pitch=voice_draw.choice([-0.4, -0.2, 0.0, 0.2, 0.4]))
    return cast


def _look(rng: random.Random, looks: dict, person: reading.Person, word: str, gender: str) -> dict:
    """How someone looks, for good: a person's hair, eyes, skin and clothes; a creature's coat or a
    machine's plating, its eyes and what it wears."""
    if person.creature and word in looks["machine"]["words"]:
        table = looks["machine"]
        return {"coat": rng.choice(table["coats"]), "eyes": rng.choice(table["eyes"]),
                "garment": rng.choice(table["garments"]), "garment_colour": rng.choice(looks["garment_colours"])}
    if person.creature:
        table = looks["creature"]
        covering = next((c for c in ("feathers", "scales", "skin") if word in table[c]), "fur")
        return {"coat": f"{rng.choice(table['colours'])} {covering}", "eyes": rng.choice(table["eyes"]),
                "garment": rng.choice(table["coats"][covering]), "garment_colour": rng.choice(looks["garment_colours"])}
    return {
        "hair_colour": rng.choice(looks["hair_colours"]), "hair_style": rng.choice(looks["hair_styles"]),
        "eyes": rng.choice(looks["eyes"]), "skin": rng.choice(looks["skins"]),
        "garment": rng.choice([g for g in looks["garments"] if gender != "male" or g not in looks["womenswear"]]),
        "garment_colour": rng.choice(looks["garment_colours"]), "extra": rng.choice(looks["extras"]),
    }


def _as_seen(person: dict, age: str) -> dict:
    """Someone as a shot's text shows them: what they are at this age and how they look then, the
    hair grey in late years as the animatic draws it ("an old woman with silver hair and a green scarf")."""
    look = person["look"]
    if person["creature"]:
        what = {"child": "young ", "elder": "old "}.get(age, "") + person["word"]
        looks = f"{look['coat']} and {reading.english().a(look['garment_colour'])} {look['garment']}"
    else:
        what = AGE_NOUNS[age][person["gender"]]
        hair = "silver" if age == "elder" else look["hair_colour"]
        looks = f"{hair} hair and {reading.english().a(look['garment_colour'])} {look['garment']}"
    return {"name": person["name"], "seen": f"{reading.english().a(what)} with {looks}"}


def _named_roles(kind: dict, people: list[reading.Person]) -> dict[str, reading.Person]:
    """Who the sentence names, by role: the first is the protagonist; a person called what a
    role is called takes it ("her coach" is the coach), one at the protagonist's side from the
    first words a role at their side ("a girl and a robot": the robot is no quarry), the others
    the roles in the kind's order."""
    named = dict(zip(["hero"], people))
    rest = list(people[1:])
    for person in list(rest):
        role = next((r for r, table in kind["roles"].items() if table["word"] == person.word and r not in named), None)
        if role is None and person.companion:
            role = next((r for r in kind["roles"] if r in COMPANIONS and r not in named), None)
        if role:
            named[role] = person
            rest.remove(person)
    for role, person in zip([r for r in kind["roles"] if r not in named], rest):
        named[role] = person
    return named


def _identifier(name: str, cast: dict[str, dict]) -> str:
    """A plan id from a name: 'Mary Jane' is mary-jane; a second 'Kim' is kim-2."""
    base = "-".join(re.findall(r"[a-z0-9]+", name.lower()))[:36] or "someone"
    taken = {c["id"] for c in cast.values()}
    return next(i for i in (base, *(f"{base}-{n}" for n in range(2, 99))) if i not in taken)


def _where(location: str, setting: str, premise: reading.Premise, kind: dict, scene_no: int, act_no: int,
           turns: Counter[str]) -> str:
    """The beat's location in the places the sentence names, kept to their world.

    Indoors a building's or a vehicle's rooms are taken in turn; a beat whose location names
    what the world has not ("a wide beach" in the mountains) takes the world's own location for
    its setting instead, and a vehicle's story never leaves it. A story that leaves a place
    opens there: for the whole first act in a kind about leaving, else in its first scene; if
    it names no other, it goes on in the land it left.
    """
    at_origin = premise.origin is not None and (act_no == 0 if kind.get("origin") == "act" else scene_no == 0)
    place = premise.origin if at_origin else premise.setting
    if place is None and premise.origin is None:
        return location
    words = reading.vocabulary()
    world = words["worlds"].get((place or premise.origin).world or "", {})
    own = world.get("locations", {}).get(setting)
    if place is None:
        # Nowhere named but the place left: the story goes on elsewhere, in the land it left (no
        # desert of red dunes for a boy who runs away from his farm), and says from where; a vehicle
        # left behind is left with its decks.
        if own and not world.get("aboard") and _foreign(location, world):
            location = _in_turn(own, turns, setting)
        return f"{location}, far from {premise.origin.text}"
    inside = place.inside
    if inside is not None and setting == "indoor":
        return f"{_in_turn(reading.rooms(inside), turns, 'rooms')} of {place.text}"
    swapped = bool(own) and (world.get("aboard") or _foreign(location, world))
    if swapped:
        location = _in_turn(own, turns, setting)
    at = reading.preposition(place.places[0][1])
    if world.get("aboard"):
        return world[setting].format(location=location, place=place.text, at=at)
    if inside is not None:
        return f"{location} near {place.text}"
    # The world's own places are named plainly ("a well at an oasis in the Sahara"), a beat's own
    # in the world's way ("a tiny kitchen at home in an oasis town in the Sahara").
    if swapped or not world:
        return f"{location} {at} {place.text}"
    return world[setting].format(location=location, place=place.text, at=at)


def _location(where: str, setting: str, time_of_day: str, premise: reading.Premise, taken) -> Location:
    """The plan's location for a place the planner picked: named by its head noun ("a bright kitchen in a
    small family house" is `kitchen`, a second kitchen `kitchen-2`), with what stands where in it."""
    table = _layouts()
    head, called = _head_noun(where, table["places"], table["named_with_the_word_before"])
    ids = {place.id for place in taken}
    base = "-".join(re.findall(r"[a-z0-9]+", called))[:36] or "place"
    number = next(n for n in range(1, len(ids) + 2) if (f"{base}-{n}" if n > 1 else base) not in ids)
    # A place is first seen at the hour of its first scene; a later scene there keeps its own light.
    return Location(
        id=f"{base}-{number}" if number > 1 else base,
        name=(where[:1].upper() + where[1:]) if len(where) <= 80 else called.capitalize(),
        description=sentence(where + (f" {premise.era}" if premise.era else "")),
        time_of_day=time_of_day,
        season=table["seasons"].get(premise.weather or ""),
        layout=[LayoutItem(what=what, bearing=bearing)
                for what, bearing in table["places"].get(head) or table["settings"][setting]],
    )


@cache
def _layouts() -> dict:
    return tomllib.loads(files("scenegen.prompts").joinpath("offline/locations.toml").read_text())


def _head_noun(where: str, known: dict, plain: list[str]) -> tuple[str, str]:
    """The noun a place phrase is about, and what to call the place: of its first nouns ("the manager's
    office", "an apartment full of boxes"), the last the layouts know, else the last; a noun too plain
    to tell places apart is called with the word before it ("a guest room": guest-room)."""
    tokens = tag(where)
    nouns: list[int] = []
    for i, token in enumerate(tokens):
        if token.pos == "NOUN":
            nouns.append(i)
        elif nouns and not (token.pos == "PART" and token.lower in ("'s", "’s")):
            break
    if not nouns:
        return "place", "place"
    at = next((i for i in reversed(nouns) if tokens[i].lemma in known), nouns[-1])
    head = tokens[at].lemma
    before = tokens[at - 1] if at else None
    if head in plain and before is not None and before.pos in ("NOUN", "ADJ"):
        return head, f"{before.lower} {head}"
    return head, head


def _in_turn(choices: list[str], turns: Counter[str], key: str) -> str:
    choice = choices[turns[key] % len(choices)]
    turns[key] += 1
    return choice


def _foreign(location: str, world: dict) -> bool:
    """Whether a location names something its world has not: a beach in the mountains."""
    named = {t.lemma for t in tag(location)} | set(location.lower().split())
    return bool(named & set(world.get("foreign", [])))


def _place_clause(premise: reading.Premise) -> str:
    place = premise.setting or premise.origin
    where = "" if place is None else f" {reading.preposition(place.places[0][1])} {place.text}"
    return where + (f" {premise.era}" if premise.era else "")


def _style(premise: reading.Premise) -> str:
    """The film's look, for every model that draws it: a live-action film, of its era where one is named."""
    return "cinematic film still, 35mm, natural colour" + (f", period detail {premise.era}" if premise.era else "")


def _coverage(rng: random.Random, count: int, people: int, mood: str) -> list[tuple[str, str, str, list[int], Grammar | None]]:
    """(shot size, angle, movement, indices of the people in frame, grammar) for each shot of a scene; a
    cut_in or shot_reverse_shot answers the shot before it."""
    everyone = list(range(people))
    shots = [("extreme_wide" if rng.random() < 0.5 else "wide", "high" if mood == "melancholic" else "eye_level",
              rng.choice(["pan_right", "pan_left", "crane_down", "dolly_in", "truck_right"]), everyone,
              Grammar.establishing)]
    k = 0
    close_moves = ["static", "dolly_in", "handheld"] if mood == "tense" else ["static", "dolly_in", "zoom_in"]
    while len(shots) < count:
        if people > 1:
            # Reverse angles: over one shoulder (in on the two from the shot before), then the other,
            # then in on the protagonist's face and the reverse of it, then both.
            other = 1 + (k // 5) % (people - 1)
            pattern = [("medium_close", "over_the_shoulder", "static", [0, other], Grammar.cut_in),
                       ("medium_close", "over_the_shoulder", "static", [other, 0], Grammar.shot_reverse_shot),
                       ("close_up", "dutch" if mood == "tense" else "eye_level", rng.choice(close_moves), [0],
                        Grammar.cut_in),
                       ("close_up", "low" if mood == "tense" else "eye_level", rng.choice(close_moves), [other],
                        Grammar.shot_reverse_shot),
                       ("full", "eye_level", rng.choice(["static", "dolly_in", "truck_left"]), everyone, None)]
        else:
            # Closer and closer on the one in the scene, then back.
            pattern = [("medium", "eye_level", rng.choice(["static", "truck_left", "dolly_in"]), everyone, Grammar.cut_in),
                       ("close_up", "low" if mood in ("hopeful", "tense") else "eye_level", rng.choice(close_moves),
                        everyone, Grammar.cut_in),
                       ("extreme_close_up", "eye_level", "static", everyone, Grammar.cut_in),
                       ("full", "high", rng.choice(["orbit_left", "orbit_right", "tilt_up"]), everyone, None)]
        shots.append(pattern[k % len(pattern)])
        k += 1
    shots = shots[:count]
    if count >= 4:
        # Long scenes end by pulling away from the moment.
        shots[-1] = ("wide", "high", rng.choice(["dolly_out", "crane_up", "zoom_out"]), everyone, None)
    return shots


def _bearing(size: str, angle: str, framed: list[int], people: int) -> float:
    """Which way the camera faces in the location, from the location's front. With two or more in the
    scene the camera looks at the others from the protagonist's side (0), and turns round (180) for the
    shots that show the protagonist's face: the reverse angles. Alone, the protagonist is seen from a
    little to either side, so the scene's shots show more than one wall."""
    if people > 1:
        faced = framed[-1] if angle == "over_the_shoulder" else framed[0] if len(framed) == 1 else None
        return 180.0 if faced == 0 else 0.0
    return {"medium": -30.0, "close_up": 30.0, "extreme_close_up": 30.0}.get(size, 0.0)


def _key_light(time_of_day: str, scene_no: int) -> str:
    if time_of_day == "noon":
        return "top"
    if time_of_day == "night":
        return "back"
    return "left" if scene_no % 2 == 0 else "right"


def _transition(scenes: list, scene_no: int, last_of_scene: bool, shot_in_scene: int, count: int) -> Transition:
    if not last_of_scene and (shot_in_scene + 1) % TIME_PASSES == 0 and shot_in_scene + 1 < count:
        # Within a long scene time passes too: a dissolve into the shot whose caption says "Later".
        return Transition(type=TransitionType.dissolve, duration=0.5)
    if not last_of_scene or scene_no == len(scenes) - 1:
        return Transition(type=TransitionType.cut)
    if scenes[scene_no][0] is not scenes[scene_no + 1][0]:
        # Between acts: a longer, generated transition.
        return Transition(type=TransitionType.smooth, duration=1.0)
    return Transition(type=TransitionType.dissolve, duration=0.5)
