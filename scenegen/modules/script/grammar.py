"""Parts of speech and lemmas of one sentence: the step the offline reader stands on.

No trained English tagger installs from PyPI: spaCy's and Stanza's pipelines come from
GitHub and the Hugging Face hub, NLTK's from nltk_data, and the Pattern tagger that
textblob ships reads "trains", "rescues" and "chases" as plural nouns. So a word's
possible classes and lemmas come from WordNet 3.0 as spaCy's rule lemmatizer has it
(Explosion's spacy-lookups-data: every noun, verb, adjective and adverb lemma, the
irregular forms and the suffix rules), the closed classes (articles, pronouns,
prepositions, ...) from `prompts/offline/grammar.toml`, and the class the sentence
uses from where the word stands in it. A story sentence is short and regular: a subject
(after an optional opening phrase), its verb, objects and phrases of place and time. So:

- inside a noun phrase (after an article, a possessive, a number or an adjective)
  a word is a noun or an adjective: "the last *train*";
- after the subject the first word that can be a verb is the verb, when it agrees with
  the subject ("a boxer *trains*", "two sisters *open*") or a noun phrase follows it
  ("the train *crosses* the steppe"); a singular noun and a bare stem make a compound
  ("a *train station*");
- after "to" a stem is a verb ("to *study*"), unless it names where one goes ("goes to
  *school*");
- a capitalised word inside the sentence is a name, and so is one at its head that
  WordNet knows only as a singular noun or not at all ("*Nora* trains", "*John* travels").
"""

from __future__ import annotations

import gzip
import json
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import inflect

# Open classes as WordNet names them, and as the tags say them.
OPEN = {"noun": "NOUN", "verb": "VERB", "adj": "ADJ", "adv": "ADV"}
# Tags after which a noun phrase is still open: its head is yet to come.
BEFORE_HEAD = {"DET", "POSS", "NUM", "ADJ", "PART"}
# Tags that start what follows a verb: an object or a phrase ("trains *his* granddaughter").
AFTER_VERB = {"DET", "POSS", "PRON", "ADP", "NUM", "PART", "ADV", "PUNCT", "SCONJ", "CCONJ", "PROPN", "TO"}
# Words and their possessive, numbers and decades, and any other mark.
TOKEN = re.compile(r"\d+(?:s|st|nd|rd|th)?|[^\W\d_]+(?:[-'’](?!s\b)[^\W\d_]+)*|['’]s\b|['’]|[^\w\s]")


@dataclass(frozen=True)
class Token:
    text: str           # as typed
    lower: str
    pos: str            # NOUN, PROPN, VERB, AUX, ADJ, ADV, DET, POSS, PRON, ADP, CCONJ, SCONJ, PART, NUM, PUNCT
    lemma: str          # the dictionary form: "trains" as a verb is "train", "thieves" "thief", "grew" "grow"
    plural: bool = False


@cache
def closed_classes() -> dict:
    return tomllib.loads(files("scenegen.prompts").joinpath("offline/grammar.toml").read_text())


@cache
def _wordnet() -> tuple[dict[str, frozenset[str]], dict[str, dict[str, list[str]]], dict[str, list[list[str]]]]:
    """WordNet's lemmas by class, its irregular forms, and its suffix rules, as spaCy reads them."""
    data = files("spacy_lookups_data").joinpath("data")

    def table(name: str):
        return json.loads(gzip.decompress(data.joinpath(f"en_lemma_{name}.json.gz").read_bytes()))

    index = table("index")
    return {pos: frozenset(index[pos]) for pos in OPEN}, table("exc"), table("rules")


@cache
def readings(word: str) -> dict[str, str]:
    """Each open class `word` may be in, with its lemma there: "trains" -> {NOUN: train, VERB: train};
    a compound WordNet lacks reads as its last part does ("crash-lands")."""
    index, irregular, rules = _wordnet()
    head, dash, last = word.rpartition("-")
    if dash and head and not any(word in index[pos] for pos in OPEN):
        return {pos: f"{head}-{lemma}" for pos, lemma in readings(last).items()}
    found = {}
    for pos, tag in OPEN.items():
        if word in irregular.get(pos, {}):
            found[tag] = irregular[pos][word][0]
        elif word in index[pos]:
            found[tag] = word
        else:
            for old, new in rules.get(pos, []):
                if old and word.endswith(old) and (stem := word[:len(word) - len(old)] + new) in index[pos]:
                    found[tag] = stem
                    break
    return found


def tag(sentence: str, common: frozenset[str] = frozenset()) -> list[Token]:
    """The sentence's words, each with the class it has here and its lemma.

    `common` holds words that are never names, though capitalised at the head of a sentence.
    """
    words = TOKEN.findall(sentence)
    tags = [_fixed(words, i, common) for i in range(len(words))]
    verb_seen = False   # whether this clause has its verb yet
    clause = 0          # where it starts
    for i, word in enumerate(words):
        new_subject = verb_seen and tags[i] == "CCONJ" and i + 1 < len(words) \
            and tags[i + 1] in ("DET", "POSS", "NUM", "PROPN", "PRON")
        if tags[i] == "SCONJ" or word in (",", ";", ".", ":", "!", "?") or new_subject:
            # A new clause may start: "When the war ends, a soldier *comes* home", "... and a nurse *digs*".
            verb_seen, clause = False, i + 1
        if tags[i] == "TO":
            tags[i] = "PART" if _starts_a_verb(words, tags, i) else "ADP"
        if tags[i] is not None:
            verb_seen = verb_seen or tags[i] == "AUX"
            continue
        tags[i] = _open_class(words, tags, i, verb_seen, clause)
        verb_seen = verb_seen or tags[i] == "VERB"
    return [_token(word, pos) for word, pos in zip(words, tags)]


def _fixed(words: list[str], i: int, common: frozenset[str]) -> str | None:
    """The class a word has wherever it stands, or None for an open word the context decides."""
    word, low = words[i], words[i].lower()
    grammar = closed_classes()
    if re.fullmatch(r"['’]s?", low):
        return "PART"   # a possessive: "a fisherman's son", "the sisters' bakery"
    if not re.match(r"[\w&]", word):
        return "PUNCT"
    if low[0].isdigit() or low != "one" and all(part in grammar["numbers"] for part in low.split("-")):
        return "NUM"   # "12", "two", "twenty-two"
    if low == "to":
        return "TO"
    nxt = words[i + 1].lower() if i + 1 < len(words) else ""
    if low == "her":   # "her brother" or "trains her"
        return "POSS" if nxt and (readings(nxt).keys() & {"NOUN", "ADJ"} or nxt in grammar["numbers"]) else "PRON"
    if low == "one" and nxt and "NOUN" in readings(nxt):   # "one day", against "no one"
        return "NUM"
    for pos, table in (("DET", "determiners"), ("POSS", "possessives"), ("PRON", "pronouns"), ("AUX", "auxiliaries"),
                       ("CCONJ", "conjunctions"), ("ADP", "prepositions"), ("SCONJ", "subordinators")):
        if low in grammar[table]:
            return pos
    if word[:1].isupper() and (i > 0 and words[i - 1] not in (".", "!", "?", ":") or _a_name_at_the_head(low, common)):
        return "PROPN"
    return None


def _a_name_at_the_head(low: str, common: frozenset[str]) -> bool:
    """A capitalised first word is a name when WordNet knows it, if at all, only as a singular noun."""
    found = readings(low)
    return low not in common and set(found) <= {"NOUN"} and found.get("NOUN", low) == low


def _starts_a_verb(words: list[str], tags: list[str | None], i: int) -> bool:
    """Whether "to" at i is the infinitive's: a verb stem follows that names no place ("goes to *school*")."""
    if i + 1 >= len(words) or tags[i + 1] is not None:
        return False
    nxt = words[i + 1].lower()
    return readings(nxt).get("VERB") == nxt and nxt not in closed_classes()["places"]


def _open_class(words: list[str], tags: list[str | None], i: int, verb_seen: bool, clause: int) -> str:
    low = words[i].lower()
    can = readings(low)
    if set(can) == {"VERB"} and low.endswith("ing") and i and tags[i - 1] in ("DET", "POSS", "NUM", "ADJ"):
        return "ADJ"   # inside a noun phrase: "a *whaling* ship"
    if len(can) <= 1:
        return next(iter(can), "NOUN")   # a word WordNet lacks is a noun ("granddaughter", "1920s")
    back = [k for k in range(i - 1, -1, -1) if tags[k] != "PUNCT" or words[k] == ","]
    prev = ("," if words[back[0]] == "," else tags[back[0]]) if back else None
    nxt_can = readings(words[i + 1].lower()) if i + 1 < len(words) and tags[i + 1] is None else {}
    nxt_tag = tags[i + 1] if i + 1 < len(words) else "PUNCT"
    # A verb with its object after a name ends the name's phrase: "in the Pyrenees *hides* a pilot".
    takes_an_object = "VERB" in can and _form(low, can["VERB"]) == "s" and nxt_tag in ("DET", "POSS", "NUM")
    if prev == "PROPN" and _inside_a_phrase(tags, back) and not takes_an_object:
        prev = "ADJ"   # "a Welsh *fishing* village": a name that describes
    if (prev == "AUX" or prev == "PART" and words[i - 1].lower() == "to") and "VERB" in can:
        return "VERB"   # "must *survive*", "to *study*"
    if prev == "CCONJ" and verb_seen and "VERB" in can:
        verb = next(words[k].lower() for k in back if tags[k] == "VERB")
        if _form(verb, readings(verb)["VERB"]) == _form(low, can["VERB"]):
            return "VERB"   # "packs a suitcase and *leaves*"
    if prev in BEFORE_HEAD or prev in ("ADP", None) or prev == "VERB" and can.keys() & {"NOUN", "ADJ"}:
        # A noun phrase: a modifier when a noun can follow, else its head.
        if prev is None and low.endswith("ing") and "VERB" in can:
            return "VERB"   # "climbing the Alps"
        if "NOUN" in can and "VERB" in nxt_can and _form(words[i + 1].lower(), nxt_can["VERB"]) == "s" and not _plural(low):
            return "NOUN"   # the head, and a verb after it: "the forest *burns*", "the last train crosses"
        if (nxt_can.keys() & {"NOUN", "ADJ"} or nxt_tag == "PROPN") and "ADJ" in can:
            return "ADJ"
        return "NOUN" if "NOUN" in can else "ADJ" if "ADJ" in can else next(iter(can))
    # An -s verb after a plural noun can be nothing else, even after a verb: "a boy raised by wolves *returns*".
    after_plural = prev == "NOUN" and _plural(words[back[0]]) and _form(low, can.get("VERB", "")) == "s"
    if "VERB" in can and (not verb_seen or after_plural) and prev in ("NOUN", "PROPN", "PRON", ",", "CCONJ", "ADV"):
        if after_plural:
            return "VERB"
        form = _form(low, can["VERB"])
        before = words[_subject_head(tags, back, clause)] if back else ""
        plural_subject = _plural(before) or "CCONJ" in tags[clause:i]   # "a girl and a robot *escape*"
        if form == "stem" and not plural_subject and "NOUN" in can:
            return "NOUN"   # "a train station": a singular subject never takes a bare stem
        if form == "other" or (form == "s") != plural_subject or nxt_tag in AFTER_VERB or "NOUN" not in can:
            return "VERB"
        return "NOUN"
    if "ADV" in can and prev == "VERB":
        return "ADV"
    if verb_seen and prev == "NOUN" and "ADV" in can and nxt_tag in ("ADP", "PUNCT", "SCONJ"):
        return "ADV"   # where the object goes, after it: "rides a troop train *home* at the end of the war"
    if verb_seen and prev == "NOUN" and low.endswith("ing") and "VERB" in can and nxt_tag in ("DET", "POSS", "NUM", "PROPN"):
        return "VERB"   # a participle with its object, after the clause's verb: "hides on a train *crossing* the prairie"
    return "NOUN" if "NOUN" in can else "ADJ" if "ADJ" in can else next(iter(can))


def _subject_head(tags: list[str | None], back: list[int], clause: int) -> int:
    """Where the noun the verb agrees with is: the nearest before it, past the phrases of place
    that follow the subject ("two archaeologists *in the desert* fall")."""
    nearest = next((k for k in back if tags[k] in ("NOUN", "PROPN", "PRON")), back[0])
    for k in back:
        if k < clause or tags[k] not in ("DET", "POSS", "NUM", "ADJ", "NOUN", "PROPN", "PART", "ADP"):
            break
        if tags[k] == "ADP":
            head = next((j for j in back if j < k and tags[j] in ("NOUN", "PROPN", "PRON")), None)
            return head if head is not None and head >= clause else nearest
    return nearest


def _inside_a_phrase(tags: list[str | None], back: list[int]) -> bool:
    """Whether the name just before opens no phrase but stands inside one an article opened."""
    for k in back:
        if tags[k] in ("DET", "POSS", "NUM"):
            return True
        if tags[k] not in ("PROPN", "ADJ"):
            return False
    return False


def _form(word: str, lemma: str) -> str:
    """A verb's form: its stem, an -s form, or another (past, participle)."""
    return "stem" if word == lemma else "s" if word.endswith("s") else "other"


def _plural(word: str) -> bool:
    low = word.lower()
    return _noun_lemma(low) != low or low in ("they", "we", "i", "you")


def _noun_lemma(low: str) -> str:
    """A noun's singular: WordNet's, or inflect's for a noun WordNet lacks ("lobstermen")."""
    return readings(low).get("NOUN") or english().singular_noun(low) or low


def _token(word: str, pos: str) -> Token:
    low = word.lower()
    if pos not in OPEN.values():
        return Token(text=word, lower=low, pos=pos, lemma=low)
    lemma = _noun_lemma(low) if pos == "NOUN" else readings(low).get(pos, low)
    return Token(text=word, lower=low, pos=pos, lemma=lemma, plural=pos == "NOUN" and lemma != low)


@cache
def english() -> inflect.engine:
    """inflect: a noun WordNet lacks made singular ("lobstermen"), articles and plurals for the planner."""
    return inflect.engine()
