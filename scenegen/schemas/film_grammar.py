"""Film grammar: what each shot's `grammar` means of its camera, as rules that hold or not.

A shot's grammar says how it is cut into the film (plan.Grammar); the shot's `partner` names the
earlier shot it answers, cuts in on or matches. Whether a partner is given where it must be is a
fault of the plan (checks.structure_errors). What a grammar means of the camera is a judgement,
and a plan that breaks it still renders, so each rule that does not hold is a warning
(checks.plan_warnings), and eval counts how many hold (evaluation/grammar.py):

- establishing: wide or extreme wide, in a location: it shows where the scene is;
- shot_reverse_shot: in its partner's location, facing the opposite way (180 degrees from the
  partner's bearing, give or take `REVERSE_TOLERANCE_DEG`), on the same two people: both shots
  show the pair, or each shows one of them (singles);
- cut_in: in its partner's location, tighter than it, on a subject it showed: its first named
  character (the subject) is among the partner's, or both show no one;
- cut_away: after a shot with people in it, none of them in frame;
- insert: a close-up or extreme close-up, in the location of the shot before it;
- match_cut: cut to straight from its partner (the shot before it), at its size and angle.

`grammar_rules` is the one place these are judged, per shot; the warnings and eval's counts both
read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from scenegen.schemas.plan import PARTNERED, Grammar, Shot, ShotSize, StoryPlan
from scenegen.schemas.screen import CLOSE

REVERSE_TOLERANCE_DEG = 45.0
WIDE = (ShotSize.extreme_wide, ShotSize.wide)
# Shot sizes from the widest to the tightest: "tighter" is further along.
TIGHTNESS = list(ShotSize)


@dataclass(frozen=True)
class Rule:
    name: str
    held: bool
    says: str       # what the rule asks, as a warning says it when it does not hold


@dataclass(frozen=True)
class ShotGrammar:
    index: int                 # the shot's place in plan.shots
    shot: Shot
    rules: list[Rule]


def a_shot(grammar: Grammar) -> str:
    """The words for a shot of `grammar`, as a message says them: "an establishing shot", "a cut_in shot"."""
    return f"{'an' if grammar[0] in 'aeiou' else 'a'} {grammar} shot"


def grammar_rules(plan: StoryPlan) -> list[ShotGrammar]:
    """Each shot with a grammar, and whether each rule of its grammar holds. A partner that is
    unknown or not earlier is an error (checks.py), not judged here: its shot's rules are left out."""
    earlier: dict[str, Shot] = {}
    judged = []
    for i, shot in enumerate(plan.shots):
        before = plan.shots[i - 1] if i else None
        partner = earlier.get(shot.partner) if shot.partner else None
        earlier[shot.id] = shot
        if shot.grammar is None or (shot.grammar in PARTNERED and partner is None):
            continue
        judged.append(ShotGrammar(i, shot, RULES[shot.grammar](shot, partner, before)))
    return judged


def _establishing(shot: Shot, partner: Shot | None, before: Shot | None) -> list[Rule]:
    return [Rule("wide", shot.camera.shot_size in WIDE, "is wide or extreme wide, to show the place"),
            Rule("located", shot.location is not None, "names the location it establishes")]


def _shot_reverse_shot(shot: Shot, partner: Shot, before: Shot | None) -> list[Rule]:
    turned = abs((shot.camera.bearing - partner.camera.bearing) % 360 - 180)
    ours, theirs = set(shot.characters), set(partner.characters)
    pair = len(ours | theirs) == 2 and (ours == theirs or (len(ours) == len(theirs) == 1))
    return [Rule("opposite", turned <= REVERSE_TOLERANCE_DEG,
                 f"faces the opposite way from {partner.id} (its camera.bearing 180 from {partner.camera.bearing:g})"),
            _same_location(shot, partner),
            Rule("same_two", pair, f"shows the same two characters as {partner.id}: both of them in each shot, "
                                   "or one in each")]


def _cut_in(shot: Shot, partner: Shot, before: Shot | None) -> list[Rule]:
    subject = shot.characters[0] if shot.characters else None
    shared = subject in partner.characters if subject else not partner.characters
    return [Rule("tighter", TIGHTNESS.index(shot.camera.shot_size) > TIGHTNESS.index(partner.camera.shot_size),
                 f"is tighter than {partner.id} ({partner.camera.shot_size})"),
            _same_location(shot, partner),
            Rule("same_subject", shared, f"is on a subject {partner.id} shows (its first character is among "
                                         f"{partner.id}'s)")]


def _cut_away(shot: Shot, partner: Shot | None, before: Shot | None) -> list[Rule]:
    away = before is not None and bool(before.characters) and not set(before.characters) & set(shot.characters)
    return [Rule("away", away, "shows none of the people of the shot before it, which shows someone")]


def _insert(shot: Shot, partner: Shot | None, before: Shot | None) -> list[Rule]:
    return [Rule("close", shot.camera.shot_size in CLOSE, "is a close-up or extreme close-up of its detail"),
            Rule("in_scene", before is not None and shot.location is not None and before.location == shot.location,
                 "is in the location of the shot before it")]


def _match_cut(shot: Shot, partner: Shot, before: Shot | None) -> list[Rule]:
    return [Rule("follows", before is partner, f"comes straight after {partner.id}"),
            Rule("same_framing", (shot.camera.shot_size, shot.camera.angle)
                 == (partner.camera.shot_size, partner.camera.angle),
                 f"has {partner.id}'s shot size and angle ({partner.camera.shot_size}, {partner.camera.angle})")]


def _same_location(shot: Shot, partner: Shot) -> Rule:
    return Rule("same_location", shot.location is not None and shot.location == partner.location,
                f"is in {partner.id}'s location ({partner.location or 'none'})")


RULES = {Grammar.establishing: _establishing, Grammar.shot_reverse_shot: _shot_reverse_shot, Grammar.cut_in: _cut_in,
         Grammar.cut_away: _cut_away, Grammar.insert: _insert, Grammar.match_cut: _match_cut}
