"""What the offline planner reads in a sentence: the kind of story, who is in it, where,
in what weather and era.

The sentence is first tagged (`grammar.py`: each word's class and lemma), so a verb is
never a place ("a boxer *trains*") and "thieves" are thieves. Then, from the words of
`prompts/offline/reading.toml` and each kind's cues in `prompts/offline/kinds/*.toml`:

- **who**: every noun for a person, a creature or a machine, and every name. The lead is
  the subject of the first clause that has a person for one ("a fisherman's *son*
  leaves", "when the storm breaks, two *sisters* ..."); with no such clause, the first
  person named ("the life of a *seamstress*"). Others keep their order;
- **where**: every place, composed from the inside out, as the sentence nests them
  ("a surf shop on a beach in Cornwall"), and the world they set, whose locations the
  story keeps to: a vehicle's, a landscape's (also from a modifier: "a *mountain*
  hotel", "a *coastal* town"), a building's own ("a lighthouse" stands on a coast), or a
  city's. A place the story leaves ("leaves the island to study in the city") opens it;
- **weather** and **era**, and the **kind**: the kind whose cues weigh most.

What it cannot read it leaves out, and the kind's own defaults fill the gap, so any
sentence still gives a whole story. Teaching the planner a word is a line in those files.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import cache
from importlib.resources import files

from scenegen.modules.script.grammar import Token, closed_classes, english, readings, tag

DEFAULT_KIND = "quest"
# A cue of several words ("comes home") says more than one word ("soldier"); on a tie the
# kind earlier here wins: a quest for fire is a quest, an escape from a flood a disaster.
KIND_ORDER = ["life", "memory", "quest", "homecoming", "leaving", "disaster", "survival", "war", "romance",
              "mystery", "chase", "rivalry", "training", "performance", "sport", "venture", "day"]
MAX_PEOPLE = 4
NOUN_PHRASE = {"DET", "POSS", "NUM", "ADJ", "NOUN", "PROPN"}
# Prepositions that put one place inside another ("a shop *on* a beach *in* Cornwall"), not
# those of a way ("to", "for", "through").
NESTING = {"in", "on", "at", "by", "near", "inside", "within", "of", "outside", "above", "below", "beside", "off",
           "aboard", "under", "beyond", "along", "behind"}


@dataclass(frozen=True)
class Person:
    word: str | None      # what the sentence calls them ("detective"); None for a bare name
    name: str | None      # the name the sentence gives ("Nora")
    gender: str | None    # female, male; None when the sentence does not say
    age: str | None       # child or elder when the sentence says so
    kin: bool = False     # a relative of the protagonist ("her brother", "two sisters")
    creature: bool = False   # an animal or a machine ("a stray dog", "a robot")
    companion: bool = False  # at the protagonist's side from the first words ("a girl *and a robot* escape")


@dataclass(frozen=True)
class Place:
    text: str        # as a background says it: "Tokyo", "the mountains", "the old lighthouse"
    category: str    # "building", or the world it names: city, coast, mountains, ..., train, ship
    noun: str        # the lemma that named it: "tokyo", "mountain", "lighthouse"


@dataclass(frozen=True)
class Setting:
    """Where a story is: its places from the innermost out, each with the word that joins it
    to the one before ("the bakery", "in Paris"), and the world whose locations it keeps to."""

    places: tuple[tuple[str, Place], ...]
    world: str | None

    @property
    def text(self) -> str:
        return " ".join(f"{at} {place.text}".strip() for at, place in self.places)

    @property
    def inside(self) -> Place | None:
        """The building or vehicle the indoor scenes are in, if the story has one: the innermost place."""
        first = self.places[0][1]
        return first if first.category == "building" or vocabulary()["worlds"].get(first.category, {}).get("aboard") \
            else None


@dataclass(frozen=True)
class Premise:
    kind: str
    people: list[Person] = field(default_factory=list)
    setting: Setting | None = None
    origin: Setting | None = None   # the place a story of leaving opens in, before `setting`
    weather: str | None = None      # a [weather.*] table of reading.toml
    era: str | None = None          # as a background says it: "in the 1920s", "in Victorian times"
    event: str | None = None        # what strikes, as a story says it: "the flood" (reading.toml, [events])


@cache
def vocabulary() -> dict:
    return tomllib.loads(files("scenegen.prompts").joinpath("offline/reading.toml").read_text())


@cache
def kinds() -> dict[str, dict]:
    folder = files("scenegen.prompts").joinpath("offline/kinds")
    return {name: tomllib.loads(folder.joinpath(f"{name}.toml").read_text()) for name in KIND_ORDER}


def read(sentence: str) -> Premise:
    tokens = tag(sentence, common=_never_names())
    setting, origin = _settings(tokens)
    lead = _lead(tokens)
    event = next((vocabulary()["events"][t.lemma] for t in tokens
                  if t.lemma in vocabulary()["events"] and t.pos in ("NOUN", "ADJ")), None)
    return Premise(
        kind=_kind(tokens, lead, event),
        people=_people(tokens, lead),
        setting=setting,
        origin=origin,
        weather=_weather(tokens),
        era=_era(tokens),
        event=event,
    )


# Who

def person_kind(lemma: str) -> str | None:
    """'female', 'male', 'neutral', 'creature' or 'group' for a noun that names one, else None: the
    lists of reading.toml, a -man or -woman ("fisherwoman"), an -ist or -ian ("pianist"), or a
    compound ending in a listed word of five letters or more ("schoolteacher", "songbird")."""
    people = vocabulary()["people"]
    lemma = lemma.rpartition("-")[2]   # an "ex-convict" is a convict
    for kind in ("female", "male", "neutral", "creature", "group"):
        if lemma in people[kind]:
            return kind
    if lemma.endswith(("man", "woman")) and english().plural_noun(lemma).endswith("men"):   # a fisherman, not a human
        return "female" if lemma.endswith("woman") else "male"
    a_list = lemma.endswith("list") and "NOUN" in readings(lemma[:-4])   # a checklist, a playlist
    if lemma.endswith(("ist", "ian")) and len(lemma) > 5 and not a_list:
        return "neutral"   # a pianist, a librarian, a specialist
    # A compound ending in one: a "schoolteacher" is a teacher, a "songbird" a bird.
    return next((kind for kind, word in _person_ends() if lemma.endswith(word) and lemma != word), None)


@cache
def _person_ends() -> list[tuple[str, str]]:
    people = vocabulary()["people"]
    return [(kind, w) for kind in ("female", "male", "neutral", "creature") for w in people[kind] if len(w) >= 5]


def _a_doer(lemma: str) -> bool:
    """A noun for one who does a verb, WordNet's verb with -er or -or ("keeper", "hiker",
    "inspector"), that is no verb itself: a summer, a letter or a tower is no one."""
    if not lemma.endswith(("er", "or")) or len(lemma) < 6 or lemma in _place_nouns() or "VERB" in readings(lemma):
        return False
    stem = lemma[:-2]
    return any(readings(s).get("VERB") == s for s in (stem, stem + "e", stem[:-1] if stem[-1:] == stem[-2:-1] else stem))


def _people(tokens: list[Token], lead_at: int | None) -> list[Person]:
    words = vocabulary()
    found: list[tuple[int, Person]] = []   # where each was named, and who
    for i, token in enumerate(tokens):
        kind = _person_at(tokens, i, doer=i == lead_at)
        if kind is None:
            if _a_name(tokens, i):
                title = tokens[i - 1] if i and tokens[i - 1].pos == "NOUN" and tokens[i - 1].text[:1].isupper() \
                    and person_kind(tokens[i - 1].lemma) else None
                kind = title and person_kind(title.lemma)
                found.append((i, Person(word=title and title.lemma, name=_name_run(tokens, i),
                                        gender=kind if kind in ("female", "male") else None,
                                        age=_apposed_age(tokens, i) or (title and _age(tokens, i - 1, title.lemma)),
                                        companion=_beside(tokens, lead_at, i))))
            continue
        one = token.lemma
        if token.text[:1].isupper() and i + 1 < len(tokens) and _a_name(tokens, i + 1):
            continue   # a title before a name: "Grandpa Joe", "Captain Ahab" (the name counts, with the word)
        count = _count(tokens, i)
        age = _age(tokens, i, one)
        gender = kind if kind in ("female", "male") else None
        if found and _in_apposition(tokens, found[-1], i):
            # "Nora, a nurse, ...": the nurse is Nora.
            at, named = found.pop()
            found.append((at, replace(named, word=one, gender=named.gender or gender, age=age or named.age,
                                      creature=kind == "creature")))
            continue
        for _ in range(min(count, MAX_PEOPLE)):
            # "her brother" is the protagonist's brother; "two sisters" are each other's.
            kin = one in words["people"]["kin"] and bool(found)
            found.append((i, Person(word=one, name=None, gender=gender, age=age, kin=kin, creature=kind == "creature",
                                    companion=_beside(tokens, lead_at, i))))
    # A pronoun speaks of the nearest name before it ("Romeo meets Juliet and her nurse"), or of the
    # nearest person the sentence gives no gender ("a retired boxer trains his granddaughter").
    pronouns = _gendered()
    for j, token in enumerate(tokens):
        before = [k for k, (at, person) in enumerate(found) if at < j and not person.creature]
        named = [k for k in before if found[k][1].name] or [k for k in before if found[k][1].gender is None]
        if token.lower in pronouns and named and found[named[-1]][1].gender is None:
            at, person = found[named[-1]]
            found[named[-1]] = (at, replace(person, gender=pronouns[token.lower]))
    if not found:
        # "She dreams of the sea": a protagonist known only by a pronoun.
        gender = next((pronouns[t.lower] for t in tokens if t.lower in pronouns), None)
        found = [(0, Person(word=None, name=None, gender=gender, age=None))] if gender else []
    lead = next((k for k, (at, _) in enumerate(found) if at == lead_at), 0)
    ordered = [person for _, person in found[lead:lead + 1] + found[:lead] + found[lead + 1:]]
    # Kin are the lead's kin: the lead is nobody's ("a farmer's daughter" leads as a daughter).
    return [replace(p, kin=False) if k == 0 else p for k, p in enumerate(ordered)][:MAX_PEOPLE]


def _beside(tokens: list[Token], lead: int | None, i: int) -> bool:
    """Whether the person at i is joined to the lead by "and": "Nora and her brother"."""
    between = tokens[lead + 1:_phrase_start(tokens, i)] if lead is not None and i > lead else []
    return any(t.pos == "CCONJ" for t in between) and all(t.pos in ("CCONJ", "PUNCT") for t in between)


def _person_at(tokens: list[Token], i: int, doer: bool = False) -> str | None:
    """What kind of person the noun at i names, if it heads its phrase ("the rival chefs": chefs)."""
    token = tokens[i]
    after = tokens[i + 1] if i + 1 < len(tokens) else None
    # A noun that describes the next is no one ("a *bus* driver"), unless the next is a word WordNet
    # lacks, as a second object is ("teaches a clumsy boy kung fu").
    if token.pos != "NOUN" or after is not None and after.pos == "NOUN" and (readings(after.lower) or person_kind(after.lemma)):
        return None
    return person_kind(token.lemma) or ("neutral" if doer and _a_doer(token.lemma) else None)


def _lead(tokens: list[Token]) -> int | None:
    """Where the lead is named: the subject of the first clause whose subject is a person, else
    the first person outside a phrase of place or time, else the first person."""
    # A doer ("a hiker") is someone only as a verb's subject: the object of one may be anything.
    people = [i for i in range(len(tokens)) if _person_at(tokens, i) or _a_name(tokens, i)
              or _person_at(tokens, i, doer=True) and _subject_of_a_verb(tokens, i)]
    subjects = [i for i in people if _subject_of_a_verb(tokens, i)]
    free = [i for i in people if not _in_a_phrase(tokens, i) or _a_name(tokens, i)]   # "the life of Kofi"
    chosen = next(iter(subjects or free or people), None)
    # A possessor leads only when what is theirs is no person: "a fisherman's son" is the son.
    while chosen is not None and chosen + 1 < len(tokens) and tokens[chosen + 1].pos == "PART":
        end = chosen + 2
        while end < len(tokens) and tokens[end].pos in NOUN_PHRASE:
            end += 1
        head = next((k for k in range(end - 1, chosen + 1, -1) if tokens[k].pos == "NOUN"), None)
        if head not in people:
            break
        chosen = head
    return chosen


def _subject_of_a_verb(tokens: list[Token], i: int) -> bool:
    """Whether the person at i heads the phrase just before a verb ("a retired boxer trains", "a girl
    and a robot escape", "Nora, a nurse, falls", "a radio operator on the ice falls"): only noun
    phrases, phrases of place, conjunctions and commas between."""
    if i and tokens[i - 1].pos == "ADP" or _in_a_phrase(tokens, i):
        return False
    for k in range(i + 1, len(tokens)):
        pos = tokens[k].pos
        if pos in ("VERB", "AUX"):
            return True
        if pos == "PART" and k + 1 < len(tokens):
            return False   # a possessor: the possessed is the subject
        if pos == "ADP" and tokens[k].lower in NESTING - {"of"}:
            continue
        if pos not in NOUN_PHRASE | {"CCONJ", "PUNCT", "ADV"} or tokens[k].lower in (".", ";", ":", "!", "?"):
            return False
    return False


def _in_a_phrase(tokens: list[Token], i: int) -> bool:
    """Whether the word at i stands in a prepositional phrase ("the life *of a seamstress*")."""
    for k in range(i - 1, -1, -1):
        pos = tokens[k].pos
        if pos == "ADP":
            return True
        if pos not in NOUN_PHRASE | {"PART"}:
            return False
    return False


def _a_name(tokens: list[Token], i: int) -> bool:
    """A capitalised word that starts a name of someone: no place, not describing a noun after it."""
    return _starts_a_proper_name(tokens, i) and not _describes(tokens, i) and not _names_a_place(tokens, i)


def _starts_a_proper_name(tokens: list[Token], i: int) -> bool:
    """A capitalised word that is no era or other never-name ("Victorian Edinburgh" starts at Edinburgh)."""
    def proper(k: int) -> bool:
        low = tokens[k].lower
        return tokens[k].pos == "PROPN" and (low not in _never_names() or low in vocabulary()["named"]
                                             or _place_category(tokens[k].lemma) is not None)

    return proper(i) and not (i and proper(i - 1))


def _describes(tokens: list[Token], i: int) -> bool:
    """Whether the name starting at i describes the noun after it: "a Welsh village", "a Michelin star"."""
    end = i
    while end + 1 < len(tokens) and tokens[end + 1].pos == "PROPN":
        end += 1
    return end + 1 < len(tokens) and tokens[end + 1].pos in ("NOUN", "ADJ")


def _name_run(tokens: list[Token], i: int) -> str:
    run = [tokens[i].text]
    for token in tokens[i + 1:i + 3]:
        if token.pos != "PROPN":
            break
        run.append(token.text)
    return " ".join(run)


def _count(tokens: list[Token], i: int) -> int:
    counts = vocabulary()["counts"]
    for token in reversed(tokens[max(0, i - 3):i]):
        if token.pos == "NUM":
            value = int(token.lower) if token.lower.isdigit() else _number(token.lower) or counts.get(token.lower)
            if value and 1 <= value <= 99:
                return value
    return 2 if tokens[i].plural else 1


def _age(tokens: list[Token], i: int, one: str) -> str | None:
    words = vocabulary()
    before = [t.lemma for t in tokens[max(0, i - 3):i] if t.pos in ("ADJ", "NOUN", "ADV")]
    named = next((age for age, ws in words["ages"].items() for w in before if w in ws), None)
    return named or ("child" if one in words["people"]["child"] else "elder" if one in words["people"]["elder"] else None)


def _apposed_age(tokens: list[Token], i: int) -> str | None:
    """ "Eli, ninety, remembers": an age given after a name."""
    after = tokens[i + 1:i + 4]
    if len(after) >= 2 and after[0].lower == "," and after[1].pos in ("NUM", "NOUN"):
        number = after[1].lower
        value = int(number) if number.isdigit() else _number(number)
        if value:
            return "elder" if value >= 60 else "child" if value < 16 else None
    return None


def _number(word: str) -> int | None:
    """A number written in words, up to ninety-nine: 'eighteen', 'ninety', 'seventy-two'."""
    units = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
             "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
    tens = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
    head, _, tail = word.partition("-")
    if head in units and not tail:
        return units.index(head)
    if head in tens and (not tail or tail in units[1:10]):
        return tens[head] + (units.index(tail) if tail else 0)
    return None


def _in_apposition(tokens: list[Token], named: tuple[int, Person], i: int) -> bool:
    """Whether a person word at i only describes the name just before it: "Nora, a nurse"."""
    at, person = named
    between = tokens[at + len(person.name.split()) if person.name else at + 1:i]
    return bool(person.name) and person.word is None and any(t.lower == "," for t in between) \
        and all(t.lower == "," or t.pos in ("DET", "ADJ", "NOUN") for t in between)


@cache
def _gendered() -> dict[str, str]:
    return {w: gender for gender, ws in closed_classes()["gendered"].items() for w in ws}


@cache
def _never_names() -> frozenset[str]:
    """Words that may be capitalised at the head of a sentence or clause and are never a name.
    A kind's cue of one word counts; the words of a longer cue do not: "new life" leaves New York a name."""
    words = vocabulary()
    known = [*words["names"]["never"], *words["eras"], *_place_nouns(), *words["named"],
             *(w for g in ("female", "male", "neutral", "creature", "group") for w in words["people"][g]),
             *(w for ws in words["ages"].values() for w in ws),
             *_weather_words(),
             *(cue for kind in kinds().values() for cue in kind["cues"] if " " not in cue)]
    return frozenset(known)


# Where

@cache
def _place_nouns() -> frozenset[str]:
    words = vocabulary()
    return frozenset([*words["buildings"], *words["buildings_like"],
                      *(w for world in words["worlds"].values() for w in world["words"])])


def rooms(inside: Place) -> list[str]:
    """The rooms of a building or a vehicle, where its indoor scenes happen in turn."""
    words = vocabulary()
    if inside.category != "building":
        return words["worlds"][inside.category]["rooms"]
    return words["buildings"].get(inside.noun) or words["buildings"][words["buildings_like"][inside.noun]]


def _place_category(lemma: str) -> str | None:
    words = vocabulary()
    if lemma in words["buildings"] or lemma in words["buildings_like"]:
        return "building"
    return next((name for name, world in words["worlds"].items() if lemma in world["words"]), None)


def _names_a_place(tokens: list[Token], i: int) -> bool:
    """Whether the name at i follows 'in', 'through', ... (weather, era, an article between),
    or 'of' after a place word ("the streets of Paris"); a name that says what land it is, wherever
    it stands ("the north face of *Mount Everest*", "farmers in the *Rocky Mountains*")."""
    if _name_category(tokens, i) not in (None, "building"):
        return True
    end = i
    while end + 1 < len(tokens) and tokens[end + 1].pos == "PROPN":
        end += 1
    if end + 2 < len(tokens) and tokens[end + 1].pos == "PART" and _place_category(tokens[end + 2].lemma) not in (None, "building"):
        return True   # "Tokyo's streets" (not "Nora's bakery": a building is someone's)
    if i == 0 and end + 2 < len(tokens) and tokens[end + 1].lower in (",", ":") \
            and re.fullmatch(r"\d{4}s?", tokens[end + 2].lower):
        return True   # "Paris, 1942: ..."
    of = next((k for k in range(i - 1, max(-1, i - 3), -1) if tokens[k].lower == "of"), None)
    if of and all(t.lower in vocabulary()["eras"] for t in tokens[of + 1:i]):
        # "the streets of (Victorian) London", "in the heart of Tokyo"
        if _place_category(tokens[of - 1].lemma) or _names_a_place(tokens, _phrase_start(tokens, of - 1) + 1):
            return True
    for k in range(i - 1, max(-1, i - 4), -1):
        token = tokens[k]
        if token.lower in vocabulary()["names"]["places_after"] or \
                token.pos == "VERB" and token.lemma in vocabulary()["names"]["place_verbs"]:
            return True   # "in Paris", "escape Victorian London"
        if token.lower == "for":   # "leaves for Lima", against "a fight for Berlin"
            return any(t.pos == "VERB" and t.lemma in closed_classes()["motion"] for t in tokens[:k])
        if token.pos not in ("DET", "NUM", "ADJ") and token.lower not in vocabulary()["eras"] and not _weather_word(token):
            return False
    return False


def _name_category(tokens: list[Token], i: int) -> str | None:
    """What the name at i says it is, if anything: a name known whole or by its first word ("the
    Sahara", "Mount Fuji"), or one whose first or last word is a place's ("the Gobi Desert", "the
    Rocky Mountains")."""
    text = _name_run(tokens, i)
    named = vocabulary()["named"]
    last = text.split()[-1].lower()
    return named.get(text.lower()) or named.get(tokens[i].lower) or _place_category(tokens[i].lemma) or \
        _place_category(readings(last).get("NOUN", last))


def _places(tokens: list[Token]) -> list[tuple[int, Place]]:
    """Every place the sentence names, where it names it: buildings, also where they describe
    something ("a *lighthouse* keeper"), vehicles, settlements and landscapes that head their
    phrase ("a mountain *village*"), and names after a preposition ("in *Paris*")."""
    found = []
    for i, token in enumerate(tokens):
        if _starts_a_proper_name(tokens, i) and _names_a_place(tokens, i) and not _describes(tokens, i):
            text = _name_run(tokens, i)
            category = _name_category(tokens, i)
            found.append((i, Place(text=f"the {text}" if i and tokens[i - 1].lower == "the" else text,
                                   category=category if category not in (None, "building") else "city",
                                   noun=text.lower())))
            continue
        category = _place_category(token.lemma) if token.pos == "NOUN" else None
        if category is None:
            continue
        head = i + 1 == len(tokens) or tokens[i + 1].pos not in ("NOUN", "PROPN")
        start = _phrase_start(tokens, i)
        before = tokens[start - 1] if start else None
        if vocabulary()["worlds"].get(category, {}).get("aboard") and before and before.pos == "VERB" \
                and before.lemma not in vocabulary()["names"]["boarding"]:
            continue   # a vehicle someone catches or misses is no place the story is in; one they ride is
        # A building is a place wherever it stands: "a *lighthouse* keeper", "a *restaurant* kitchen".
        if head or category == "building":
            found.append((i, Place(text=_noun_phrase(tokens, i, head), category=category, noun=token.lemma)))
    return found


def _noun_phrase(tokens: list[Token], noun: int, head: bool) -> str:
    """'a small fishing village' as 'the small fishing village': one place, named again and again.

    The words before the noun belong to it back to an article; weather and era words are kept
    apart ("a stormy coast" is the coast, in a storm).
    """
    start = noun
    while head and start > 0 and tokens[start - 1].pos in ("ADJ", "NOUN", "PROPN", "NUM") and noun - start < 3 \
            and not _weather_word(tokens[start - 1]) and tokens[start - 1].lower not in vocabulary()["eras"] \
            and not re.fullmatch(r"\d+s?", tokens[start - 1].lower):
        start -= 1
    return " ".join(["the", *(t.text if t.pos == "PROPN" else t.lower for t in tokens[start:noun + 1])])


def _hints(tokens: list[Token]) -> list[str]:
    """Worlds named by a word that describes a place or a person: "a *mountain* hotel", "a *coastal*
    town", "a *desert* island", "a *street* vendor"."""
    worlds = vocabulary()["worlds"]
    hints = []
    for i, token in enumerate(tokens[:-1]):
        if tokens[i + 1].pos not in ("NOUN", "PROPN", "ADJ") or token.pos not in ("NOUN", "ADJ", "PROPN"):
            continue
        hints += [vocabulary()["settlements"].get(token.lemma, name) for name, world in worlds.items()
                  if not world.get("aboard") and (token.lemma in world.get("adjectives", []) or token.lemma in world["words"])]
    return hints


def _settings(tokens: list[Token]) -> tuple[Setting | None, Setting | None]:
    """Where the story is and, for a story of leaving, where it opens: the places the object of a
    verb of leaving or of "from" holds ("leaves *her village in the Andes* for Lima")."""
    nests = _nests(tokens, _places(tokens))
    left = next((nest for nest in nests if _left_behind(tokens, nest[0][0], nests)), None)
    rest = [nest for nest in nests if nest is not left]
    hints = _hints(tokens)
    origin = _setting([left], hints) if left else None
    return (_setting(rest, [] if left else hints) if rest else None), origin


def _nests(tokens: list[Token], places: list[tuple[int, Place]]) -> list[list[tuple[int, str, Place]]]:
    """The places in runs the sentence nests by a preposition of place ("a shop *on* a beach *in*
    Cornwall"): each as (where it is named, the word joining it to the one before, the place)."""
    nests: list[list[tuple[int, str, Place]]] = []
    for i, place in places:
        start = _phrase_start(tokens, i)
        joined = nests and start - 2 == nests[-1][-1][0]
        if joined and tokens[start - 1].lower in NESTING:
            nests[-1].append((i, tokens[start - 1].lower, place))
        elif joined and tokens[start - 1].pos == "PART":   # "Tokyo's streets" are the streets of Tokyo
            (at, _, owner), *rest = nests[-1]
            nests[-1] = [(i, "", place), (at, "of", owner), *rest]
        else:
            nests.append([(i, "", place)])
    return nests


def _left_behind(tokens: list[Token], i: int, nests: list) -> bool:
    """Whether the place at i is one the story leaves: the object of a verb of leaving, after
    "from" when a verb of going governs it or a "to" names where the story goes ("sails from
    Lisbon", "chased from Marseille to the mountains", not "falls from a cliff"), or the
    place a story comes "back to" another from ("flies back to Lagos after years in London")."""
    start = _phrase_start(tokens, i)
    before = tokens[start - 1] if start else None
    if before is None:
        return False
    verbs = [t for t in tokens[:start] if t.pos == "VERB"]
    going = bool(verbs) and verbs[-1].lemma in closed_classes()["motion"]
    heads = [_phrase_start(tokens, nest[0][0]) for nest in nests]
    goes_to = any(tokens[k - 1].lower in ("to", "toward", "towards") for k in heads if k and k != start)
    back = any(k > 1 and tokens[k - 1].lower == "to" and tokens[k - 2].lower == "back" for k in heads if k != start)
    return (before.lower == "from" and (going or goes_to) or back and i != nests[0][0][0] or
            before.pos == "VERB" and before.lemma in vocabulary()["names"]["leaving"])


def _setting(nests: list[list[tuple[int, str, Place]]], hints: list[str]) -> Setting:
    """The places nested as the sentence nests them, the rest from the inside out (a building, a
    town, a landscape), and their world: a vehicle's, a landscape's (named, or hinted by a word
    that describes a place), a building's own, a settlement's, or, for a building that sets
    none, its surroundings, in no landscape of their own ("around")."""
    words = vocabulary()

    def scale(nest: list[tuple[int, str, Place]]) -> int:
        category = nest[0][2].category
        return 0 if category == "building" or words["worlds"].get(category, {}).get("aboard") else \
            1 if category == "city" else 2

    nested: list[tuple[str, Place]] = []
    outermost = -1
    for nest in sorted(nests, key=scale):
        if scale(nest) <= outermost:
            continue   # two cities, two landscapes: not one inside the other ("a spy in Paris loves a pilot in Berlin")
        nested.append((preposition(nest[0][2]) if nested else "", nest[0][2]))
        nested += [(at, place) for _, at, place in nest[1:]]
        outermost = scale(nest)
    categories = [place.category for _, place in nested]
    # A vehicle is the world only when the story is aboard it: not "a village near the ship".
    vehicle = categories[0] if words["worlds"].get(categories[0], {}).get("aboard") else None
    # Water lies in every landscape: a lake or a river sets the world only where nothing else does.
    lands = [c for c in [*categories, *hints] if c not in ("building", "city") and not words["worlds"].get(c, {}).get("aboard")]
    land = next((c for c in lands if c != "lake"), None)
    building_world = next((words["building_worlds"][p.noun] for _, p in nested if p.noun in words["building_worlds"]), None)
    settled = next((words["settlements"].get(p.noun, "city") for _, p in nested if p.category == "city"), None)
    world = vehicle or land or ("lake" if "lake" in lands else None) or building_world or settled or \
        ("city" if "city" in hints else "around")
    return Setting(places=tuple(nested), world=world)


def _phrase_start(tokens: list[Token], i: int) -> int:
    while i > 0 and tokens[i - 1].pos in NOUN_PHRASE:
        i -= 1
    return i


def preposition(place: Place) -> str:
    """How a background puts something in a place: "in Paris", "on the island", "aboard the train"."""
    world = vocabulary()["worlds"].get(place.category)
    if world is None:
        return "in"
    return "on" if place.noun in world.get("on", []) else world["at"]


# Weather, era and kind

def _weather_word(token: Token) -> bool:
    return token.lemma in _weather_words() or token.lower in _weather_words()


@cache
def _weather_words() -> frozenset[str]:
    """Every word of every weather phrase: "rainy", "winter", "storm"."""
    return frozenset(w for kind in vocabulary()["weather"].values() for phrase in kind["words"] for w in phrase.split())


def _weather(tokens: list[Token]) -> str | None:
    """The weather a sentence names; the longest phrase wins ("a winter storm" is a snowstorm).
    A verb names it only where the table says ("it snows"; soldiers who storm a castle bring no storm)."""
    best: tuple[tuple, str] | None = None
    for kind, table in vocabulary()["weather"].items():
        for phrase in table["words"]:
            size = len(phrase.split())
            for i in range(len(tokens) - size + 1):
                window = tokens[i:i + size]
                if all(word in (t.lemma, t.lower) and (t.pos != "VERB" or t.lemma in table.get("verbs", []))
                       for word, t in zip(phrase.split(), window)):
                    # A noun names weather more surely than an adjective: "the frozen tundra in a *blizzard*".
                    rank = (size, window[-1].pos == "NOUN", -i)
                    if best is None or rank > best[0]:
                        best = (rank, kind)
    return best[1] if best else None


def _era(tokens: list[Token]) -> str | None:
    """The time the sentence sets: a decade, a year (a number of 1000 to 2199 that counts no noun
    after it: "in 1942", not "1000 soldiers"), or an era's word ("Victorian")."""
    for i, token in enumerate(tokens):
        if re.fullmatch(r"\d{3}0s", token.lower):
            return f"in the {token.lower}"
        counts = i + 1 < len(tokens) and tokens[i + 1].pos in ("NOUN", "ADJ")
        if re.fullmatch(r"1\d{3}|2[01]\d{2}", token.lower) and not counts:
            return f"in {token.lower}"
        if token.lower in vocabulary()["eras"]:
            return vocabulary()["eras"][token.lower]
    return None


def _kind(tokens: list[Token], lead: int | None, event: str | None) -> str:
    """The kind whose cues weigh most. A cue weighs a point a word, matched on the words as typed
    or as lemmas ("fell in love" is "fall in love"), each word counted once (the longest cue
    takes it); a kind's `verbs` count only as verbs ("trains his granddaughter" is training, "a
    night train" is not); the lead's own verb (or, with none, the first phrase's head) weighs two
    points more: it is what happens; and
    a kind may weigh a named disaster more (`event_weight`): fleeing a wildfire is no chase."""
    # What happens: the lead's verb, or in a sentence of no verb the head of its first phrase ("a *quest* for fire").
    verb = next((k for k in range(lead or 0, len(tokens)) if tokens[k].pos == "VERB"), None)
    if verb is None:
        verb = next((k for k, t in enumerate(tokens) if t.pos == "NOUN" and (k + 1 == len(tokens) or tokens[k + 1].pos != "NOUN")), None)

    def score(kind: str) -> int:
        table = kinds()[kind]
        spans = []
        for cue in table["cues"]:
            words = cue.split()
            for i in range(len(tokens) - len(words) + 1):
                if all(w in (t.lower, t.lemma) for w, t in zip(words, tokens[i:i + len(words)])):
                    spans.append(range(i, i + len(words)))
        spans += [range(i, i + 1) for i, t in enumerate(tokens) if t.pos == "VERB" and t.lemma in table.get("verbs", [])]
        taken: set[int] = set()
        points = 0
        for span in sorted(spans, key=len, reverse=True):
            if not taken & set(span):
                taken |= set(span)
                points += len(span) + 2 * (verb in span)
        return points + (table.get("event_weight", 0) if event else 0)

    best = max(KIND_ORDER, key=lambda kind: (score(kind), -KIND_ORDER.index(kind)))
    return best if score(best) else DEFAULT_KIND
