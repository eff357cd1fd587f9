"""Film grammar held: how often the rules of each shot's grammar hold (schemas/film_grammar.py).

Read from the plan, not the pictures: a grammar is a claim about the camera the plan gives
its shot, and the keyframe draws that camera. Per grammar, how many shots say it and how many
of their rules hold, k of n; per shot, the rules it breaks.
"""

from __future__ import annotations

from scenegen.schemas.film_grammar import grammar_rules
from scenegen.schemas.plan import Grammar, StoryPlan


def grammar_held(plan: StoryPlan) -> dict:
    """{"film": {grammar: {"shots", "rules", "held"}} in the grammars' order, "shots": [{"shot", "grammar",
    "partner", "broken"}]} over the shots that say a grammar."""
    judged = grammar_rules(plan)
    film = {}
    for grammar in Grammar:
        rules = [rule for shot in judged if shot.shot.grammar == grammar for rule in shot.rules]
        if rules:
            film[grammar.value] = {"shots": sum(shot.shot.grammar == grammar for shot in judged),
                                   "rules": len(rules), "held": sum(rule.held for rule in rules)}
    shots = [{"shot": shot.shot.id, "grammar": shot.shot.grammar.value, "partner": shot.shot.partner,
              "broken": [rule.name for rule in shot.rules if not rule.held]} for shot in judged]
    return {"film": film, "shots": shots}


def grammar_summary(grammar: dict) -> str:
    """One line for the command line: each grammar's rules held, k of n."""
    if not grammar["film"]:
        return "  grammar          no shot says its grammar"
    held = ", ".join(f"{name} {counts['held']} of {counts['rules']}" for name, counts in grammar["film"].items())
    return f"  grammar rules held: {held}"
