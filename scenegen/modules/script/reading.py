"""What the offline planner reads in a sentence: the kind of story, who is in it, where,
in what weather and era.

No parser and no model: whole words, matched lower-case against the vocabulary in
`prompts/offline/reading.toml` and each kind's cues in `prompts/offline/kinds/*.toml`,
with inflect turning plurals singular ("two thieves" are two thieves). Teaching the
planner a word is a line in those files. What it cannot read it leaves out, and the
kind's own defaults fill the gap, so any sentence still gives a whole story.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import cache
from importlib.resources import files

import inflect

DEFAULT_KIND = "quest"
# A cue of several words ("comes home") says more than one word ("soldier"); on a tie the
# kind earlier here wins: a quest for fire is a quest, an escape from a flood a disaster.
KIND_ORDER = ["life", "quest", "homecoming", "disaster", "war", "romance", "mystery", "chase", "rivalry", "sport", "day"]
MAX_PEOPLE = 4


@dataclass(frozen=True)
class Person:
    word: str | None      # what the sentence calls them ("detective"); None for a bare name
    name: str | None      # the name the sentence gives ("Nora")
    gender: str | None    # female, male; None when the sentence does not say
    age: str | None       # child or elder when the sentence says so
    kin: bool = False     # a relative of the protagonist ("her brother", "two sisters")


@dataclass(frozen=True)
class Place:
    text: str        # as a background says it: "Tokyo", "the mountains", "the old lighthouse"
    category: str    # a [places.*] table of reading.toml: city, coast, ..., building
    noun: str        # the word that named it: "tokyo", "mountains", "lighthouse"


@dataclass(frozen=True)
class Premise:
    kind: str
    people: list[Person] = field(default_factory=list)
    place: Place | None = None
    weather: str | None = None   # a [weather.*] table of reading.toml
    era: str | None = None       # as a background says it: "in the 1920s", "in Victorian times"


@cache
def vocabulary() -> dict:
    return tomllib.loads(files("scenegen.prompts").joinpath("offline/reading.toml").read_text())


@cache
def kinds() -> dict[str, dict]:
    folder = files("scenegen.prompts").joinpath("offline/kinds")
    return {name: tomllib.loads(folder.joinpath(f"{name}.toml").read_text()) for name in KIND_ORDER}


@cache
def english() -> inflect.engine:
    return inflect.engine()


def read(sentence: str) -> Premise:
    words = vocabulary()
    # Words in any script, numbers, and the punctuation that ends a name or a clause.
    tokens = re.findall(r"[^\W\d_][\w'’-]*|\d+s?|[,;:.!?]", sentence)
    tokens = [re.sub(r"['’]s?$", "", t) for t in tokens]   # "woman's" is a woman
    lowered = [t.lower() for t in tokens]
    singular = [_singular(t) for t in lowered]
    return Premise(
        kind=_kind(" ".join(lowered)),
        people=_people(tokens, lowered, singular, words),
        place=_place(tokens, lowered, singular, words),
        weather=next((kind for t in lowered for kind, w in words["weather"].items() if t in w["words"]), None),
        era=_era(lowered, words),
    )


def _singular(word: str) -> str:
    """A plural noun's singular; a word the vocabulary knows as it is stays (inflect takes
    "princess" for a plural of "princes")."""
    if word in _known_nouns() or not word[:1].isalpha():
        return word
    return english().singular_noun(word) or word


@cache
def _known_nouns() -> frozenset[str]:
    return _people_nouns() | _place_nouns()


@cache
def _people_nouns() -> frozenset[str]:
    people = vocabulary()["people"]
    return frozenset(w for g in ("female", "male", "neutral") for w in people[g])


@cache
def _place_nouns() -> frozenset[str]:
    words = vocabulary()
    return frozenset([*words["buildings"], *(w for table in words["places"].values() for w in table.get("words", []))])


def _kind(text: str) -> str:
    def score(kind: str) -> int:
        return sum(len(cue.split()) for cue in kinds()[kind]["cues"] if re.search(rf"\b{re.escape(cue)}\b", text))

    best = max(KIND_ORDER, key=lambda kind: (score(kind), -KIND_ORDER.index(kind)))
    return best if score(best) else DEFAULT_KIND


def _people(tokens: list[str], lowered: list[str], singular: list[str], words: dict) -> list[Person]:
    people_words = {w: g for g in ("female", "male", "neutral") for w in words["people"][g]}
    found: list[tuple[int, Person]] = []   # where each was named, and who
    for i, (token, low, one) in enumerate(zip(tokens, lowered, singular)):
        before = lowered[max(0, i - 3):i]
        if one in people_words:
            count = next((_count(w, words) for w in reversed(before) if _count(w, words)), 2 if one != low else 1)
            age = next((age for age, ws in words["ages"].items() for w in before if w in ws), None)
            age = age or ("child" if one in words["people"]["child"] else "elder" if one in words["people"]["elder"] else None)
            gender = people_words[one] if people_words[one] != "neutral" else None
            if found and _in_apposition(lowered, found[-1], i):
                # "Nora, a nurse, ...": the nurse is Nora.
                at, named = found.pop()
                found.append((at, replace(named, word=one, gender=named.gender or gender, age=age)))
                continue
            for _ in range(count):
                # "her brother" is the protagonist's brother; "two sisters" are each other's.
                kin = one in words["people"]["kin"] and bool(found)
                found.append((i, Person(word=one, name=None, gender=gender, age=age, kin=kin)))
        elif _starts_a_name(tokens, lowered, singular, i):
            found.append((i, Person(word=None, name=" ".join(_capitalised_run(tokens, i)), gender=None, age=None)))
    # A pronoun speaks of the nearest name before it: "Romeo meets Juliet and her nurse".
    for j, low in enumerate(lowered):
        gender = next((g for g, ws in words["grammar"]["pronouns"].items() if low in ws), None)
        named = [k for k, (at, person) in enumerate(found) if person.name and at < j]
        if gender and named and found[named[-1]][1].gender is None:
            at, person = found[named[-1]]
            found[named[-1]] = (at, replace(person, gender=gender))
    if not found:
        # "She dreams of the sea": a protagonist known only by a pronoun.
        gender = next((g for t in lowered for g, ws in words["grammar"]["pronouns"].items() if t in ws), None)
        found = [(0, Person(word=None, name=None, gender=gender, age=None))] if gender else []
    return [person for _, person in found][:MAX_PEOPLE]


def _count(word: str, words: dict) -> int | None:
    if word.isdigit():
        return int(word) if 1 <= int(word) <= 99 else None
    return words["counts"].get(word)


def _in_apposition(lowered: list[str], named: tuple[int, Person], i: int) -> bool:
    """Whether a person word at i only describes the name just before it: "Nora, a nurse"."""
    at, person = named
    between = lowered[at + len(person.name.split()) if person.name else at + 1:i]
    allowed = {",", *vocabulary()["grammar"]["determiners"], *(w for ws in vocabulary()["ages"].values() for w in ws)}
    return bool(person.name) and person.word is None and "," in between and set(between) <= allowed


def _starts_a_name(tokens: list[str], lowered: list[str], singular: list[str], i: int) -> bool:
    """A capitalised word that is no known word and no place starts a name; the words after it
    in capitals are the same name ("Mary Jane")."""
    return (tokens[i][:1].isupper() and lowered[i] not in _not_names() and not _names_a_place(lowered, singular, i)
            and not (i and tokens[i - 1][:1].isupper() and lowered[i - 1] not in _not_names()))


@cache
def _not_names() -> frozenset[str]:
    """Words that may be capitalised at the head of a sentence or clause and are never a name."""
    words = vocabulary()
    grammar = words["grammar"]
    known = [*grammar["determiners"], *grammar["places_after"], *grammar["openers"],
             *(w for ws in grammar["pronouns"].values() for w in ws), *words["counts"], *words["named"],
             *words["eras"], *_known_nouns(), *(w for ws in words["ages"].values() for w in ws),
             *(w for kind in words["weather"].values() for w in kind["words"]),
             *(w for kind in kinds().values() for cue in kind["cues"] for w in cue.split())]
    return frozenset(known)


def _names_a_place(lowered: list[str], singular: list[str], i: int) -> bool:
    """Whether word i follows 'in', 'through', ... (weather, era or an article between), or
    'of' after a place word ("the streets of Paris")."""
    if i >= 2 and lowered[i - 1] == "of" and singular[i - 2] in _place_nouns():
        return True
    for word in reversed(lowered[max(0, i - 3):i]):
        if word in vocabulary()["grammar"]["places_after"]:
            return True
        if word not in _place_skip() and not re.fullmatch(r"\d{4}s?", word):
            return False
    return False


@cache
def _place_skip() -> frozenset[str]:
    """Words that may stand between a preposition and a place: 'through rainy Tokyo', 'in 1920s Paris'."""
    words = vocabulary()
    return frozenset([*words["grammar"]["determiners"], *words["eras"],
                      *(w for kind in words["weather"].values() for w in kind["words"])])


def _capitalised_run(tokens: list[str], start: int) -> list[str]:
    """The capitalised words from `start` that make one name or place, three at most."""
    run = [tokens[start]]
    for token in tokens[start + 1:start + 3]:
        if not token[:1].isupper() or token.lower() in _not_names():
            break
        run.append(token)
    return run


def _place(tokens: list[str], lowered: list[str], singular: list[str], words: dict) -> Place | None:
    """A building the story lives in first, then a proper name after a preposition, then a place noun."""
    building = next((i for i, one in enumerate(singular) if one in words["buildings"]), None)
    if building is not None:
        return Place(text=_noun_phrase(tokens, lowered, building), category="building", noun=singular[building])
    for i, token in enumerate(tokens):
        # An era before the name is the era's ("Victorian London" is London, in Victorian times).
        if token[:1].isupper() and lowered[i] not in _place_skip() and lowered[i] not in words["grammar"]["openers"] \
                and _names_a_place(lowered, singular, i):
            text = " ".join(_capitalised_run(tokens, i))
            return Place(text=f"the {text}" if lowered[i - 1] == "the" else text,
                         category=words["named"].get(lowered[i], "city"), noun=text.lower())
    for i, low in enumerate(lowered):
        for category, table in words["places"].items():
            if low in table.get("words", []) or singular[i] in table.get("words", []):
                return Place(text=_noun_phrase(tokens, lowered, i), category=category, noun=low)
    return None


def _noun_phrase(tokens: list[str], lowered: list[str], noun: int) -> str:
    """'a small fishing village' as 'the small fishing village': one place, named again and again.

    The words before the noun belong to it only back to an article ("run a bakery" is
    the bakery, "at sea" the sea); a proper name keeps its capitals ("the Alps").
    """
    grammar = vocabulary()["grammar"]
    start = noun
    while start > 0 and noun - start < 3 and lowered[start - 1] not in _place_skip() \
            and lowered[start - 1] not in grammar["places_after"] and lowered[start - 1][:1].isalnum():
        start -= 1
    if start < noun and (start == 0 or lowered[start - 1] not in grammar["determiners"]):
        start = noun
    return " ".join(["the", *(t if t[:1].isupper() else t.lower() for t in tokens[start:noun + 1])])


def _era(lowered: list[str], words: dict) -> str | None:
    for token in lowered:
        if re.fullmatch(r"\d{3}0s", token):
            return f"in the {token}"
        if re.fullmatch(r"\d{4}", token):
            return f"in {token}"
        if token in words["eras"]:
            return f"in {words['eras'][token]} times"
    return None
