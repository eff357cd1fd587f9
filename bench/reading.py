"""How well the offline planner tells the sentence's story, measured on a corpus written for it.

    python bench/reading.py              # prints the table and writes docs/reading.md

`tests/reading_corpus/tuning.toml` is what the reader was tuned on; `held_out.toml` was
written afterwards by another hand to the same spec and not looked at while tuning (each
file's first line says how it was made). Every sentence is planned at 30 shots, seed 0,
and the plan is checked, field by field, against the sentence's labels:

- lead: the protagonist is the one the sentence is about: their name, or their role word
  in the character's description ("Emil, a boxer who ...");
- places: each place named is in at least 80% of the backgrounds; a journey's two places
  are each in one at least, and between them in 80%;
- weather: the weather named is in at least 80% of the backgrounds; a sentence naming none
  gets none (reported as "no weather invented");
- contradictions: no background holds what its world cannot have (CONTRADICTIONS, written
  for this check, apart from the planner's own lists); journeys cross two worlds and are
  left out of it;
- kind: the kind of story (reported, not required).

Only counts are printed for the held-out half, never its sentences: it stays unread.
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from scenegen.modules.script import ScriptRequest, reading
from scenegen.modules.script.offline import OfflinePlanner

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "reading_corpus"
SPLITS = ("tuning", "held_out")
SHOTS = 30
SHARE = 0.8
# The words a background says each weather with.
WEATHER_WORDS = {"rain": ["rain"], "snow": ["snow"], "storm": ["storm"], "snowstorm": ["snowstorm", "blizzard"],
                 "fog": ["fog"], "wind": ["wind"], "heat": ["heat"], "wildfire": ["wildfire", "smoke"],
                 "flood": ["flood", "floodwater"]}
# What no background of a world may hold: a sea in the mountains, a subway in the desert,
# water below a train.
CONTRADICTIONS = {
    "mountains": ["sea", "ocean", "beach", "surf", "harbou?r", "pier", "dunes?", "desert", "tide", "subway"],
    "desert": ["sea", "ocean", "beach", "surf", "harbou?r", "pier", "lake", "glacier", "subway", "underground",
               "tunnel", "jungle", "forest", "swamp", "ferry"],
    "arctic": ["desert", "dunes?", "jungle", "palms?", "beach", "meadow", "orchard", "subway", "vineyard"],
    "coast": ["desert(?! island)", "glacier", "subway", "mountain pass", "tundra", "jungle"],
    "forest": ["sea", "ocean", "beach", "harbou?r", "desert", "dunes?", "subway", "skyscrapers?", "ferry"],
    "countryside": ["subway", "desert", "dunes?", "glacier", "skyscrapers?", "tundra"],
    "city": ["desert", "dunes?", "jungle", "glacier", "tundra", "mountain pass"],
    "train": ["ferry", "deck", "pier", "harbou?r", r"(below|under|beneath) the ([\w-]+ )?train"],
    "ship": ["desert", "dunes?", "subway", "mountain pass", "train station", r"(below|under|beneath) the ([\w-]+ )?ship"],
}


@dataclass
class Score:
    right: int = 0
    total: int = 0
    missed: list[str] = field(default_factory=list)

    def add(self, ok: bool, text: str) -> None:
        self.right += ok
        self.total += 1
        if not ok:
            self.missed.append(text)

    @property
    def share(self) -> float:
        return self.right / self.total if self.total else 1.0


def corpus(split: str) -> list[dict]:
    return tomllib.loads((CORPUS / f"{split}.toml").read_text())["sentence"]


def says(text: str, word: str) -> bool:
    return re.search(rf"\b{re.escape(word.lower())}(s|es)?\b", text.lower()) is not None


def measure(split: str) -> dict[str, Score]:
    scores = {name: Score() for name in ("lead", "places", "weather", "no weather invented", "contradictions", "kind")}
    for entry in corpus(split):
        text = entry["text"]
        plan = OfflinePlanner().plan(ScriptRequest(sentence=text, shots=SHOTS, seed=0))
        backgrounds = [shot.background for shot in plan.shots]

        def share(*words: str) -> float:
            return sum(any(says(b, w) for w in words) for b in backgrounds) / len(backgrounds)

        lead, protagonist = entry["lead"], plan.characters[0]
        scores["lead"].add(protagonist.name == lead or says(protagonist.description, lead), text)
        if entry["places"] or entry.get("journey"):
            places = all(share(place) >= SHARE for place in entry["places"])
            if journey := entry.get("journey"):
                places = places and all(share(place) > 0 for place in journey) and share(*journey) >= SHARE
            scores["places"].add(places, text)
        if entry["weather"]:
            scores["weather"].add(share(*WEATHER_WORDS[entry["weather"]]) >= SHARE, text)
        else:
            scores["no weather invented"].add(not any(share(*words) for words in WEATHER_WORDS.values()), text)
        if entry["world"] and not entry.get("journey"):
            wrong = [b for b in backgrounds for pattern in CONTRADICTIONS[entry["world"]]
                     if re.search(rf"\b{pattern}\b", b.lower())]
            scores["contradictions"].add(not wrong, text)
        scores["kind"].add(reading.read(text).kind == entry["kind"], text)
    return scores


def table(results: dict[str, dict[str, Score]]) -> str:
    rows = ["| field | tuning | held out |", "|---|---|---|"]
    for name in results["tuning"]:
        cells = [f"{s.right}/{s.total} ({s.share:.0%})" for s in (results[split][name] for split in SPLITS)]
        rows.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(rows)


def main() -> None:
    results = {split: measure(split) for split in SPLITS}
    report = table(results)
    print(report)
    for name, score in results["tuning"].items():
        for text in score.missed:
            print(f"tuning, {name}: {text}", file=sys.stderr)
    page = ROOT / "docs" / "reading.md"
    head = page.read_text().split("<!-- table -->")[0] if page.exists() else "# Reading\n\n"
    page.write_text(f"{head}<!-- table -->\n{report}\n")


if __name__ == "__main__":
    main()
