"""The checks of a plan that its schema alone cannot see, as (JSON path, message) pairs.

`plan_errors` is the one list of faults: `load_plan` refuses a plan it finds fault with, and a
planner's test asserts it finds none. `plan_warnings` is the list of what may not be meant (a
shot that crosses the line, a location no shot is in): the film renders all the same, and the
CLI and `Run.warnings` say them. They live here, above both the plan's types and the timing
that places shots on the film, so that neither of those imports the other.
"""

from __future__ import annotations

import math
from pathlib import Path

from scenegen.schemas.film_grammar import a_shot, grammar_rules
from scenegen.schemas.plan import (
    MAX_SHOT_SECONDS, PARTNERED, Score, ScoreChange, Shot, StoryPlan, TransitionType, said_fields,
)
from scenegen.schemas.screen import left_to_right
from scenegen.schemas.timing import FrameLayout, speech_frames_needed, spoken_words


def plan_errors(plan: StoryPlan, fps: int, fps_from: Path | None = None) -> list[tuple[str, str]]:
    """Everything wrong with `plan` at `fps` that its schema cannot see. A transition too short for a
    frame may be the settings' fault, not the plan's, so its message names `fps_from`, the file the fps
    was read from; words too long for their shot are the plan's, whatever the fps."""
    source = f" (output.fps in {fps_from})" if fps_from else ""
    return (structure_errors(plan) + [(where, what + source) for where, what in timing_errors(plan, fps)]
            + speech_errors(plan, fps))


def plan_warnings(plan: StoryPlan) -> list[tuple[str, str]]:
    """What in `plan` may not be what its writer meant, though it renders: shots that cross the line
    between two characters, shots whose camera is not what their grammar says, and locations no shot is in."""
    used = {shot.location for shot in plan.shots}
    unused = [(f"locations[{i}]", f"no shot is in location {place.id!r}; remove it, or name it in a shot's location")
              for i, place in enumerate(plan.locations) if place.id not in used]
    return screen_direction_warnings(plan) + grammar_warnings(plan) + unused


def grammar_warnings(plan: StoryPlan) -> list[tuple[str, str]]:
    """A warning for each rule of a shot's grammar that its camera breaks (schemas/film_grammar.py)."""
    return [(f"shots[{judged.index}].grammar", f"{a_shot(judged.shot.grammar)} {rule.says}, and this one does not; "
                                               f"change its camera, or its grammar")
            for judged in grammar_rules(plan) for rule in judged.rules if not rule.held]


def screen_direction_warnings(plan: StoryPlan) -> list[tuple[str, str]]:
    """Shots that cross the line between two characters by mistake (the rule: schemas/screen.py)."""
    warnings = []
    # Per pair of characters in this scene: who is on the left, and the last shot that showed it so.
    sides: dict[frozenset[str], tuple[str, int]] = {}
    for i, shot in enumerate(plan.shots):
        if i == 0 or shot.location is None or shot.location != plan.shots[i - 1].location:
            sides = {}  # a new scene draws its lines afresh
        drawn = left_to_right(shot.characters, shot.camera)
        for k, left in enumerate(drawn):
            for right in drawn[k + 1:]:
                pair = frozenset((left, right))
                kept, seen_at = sides.get(pair, (left, i))
                if kept == left or shot.camera.crosses_line:
                    sides[pair] = (left, i)
                    continue
                warnings.append((f"shots[{i}].camera.bearing",
                                 f"crosses the line between {kept} and {left} from shots[{seen_at}]: {kept} was on the "
                                 f"left there and is on the right here; set camera.crosses_line if meant, or swap "
                                 f"the shot's characters or turn its bearing"))
    return warnings


def structure_errors(plan: StoryPlan) -> list[tuple[str, str]]:
    """Ids that clash or point nowhere, shots without a place in a plan of places, numbering,
    transitions that cannot be."""
    errors: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, c in enumerate(plan.characters):
        if c.id in seen:
            errors.append((f"characters[{i}].id", f"duplicate character id {c.id!r}"))
        seen.add(c.id)
    places: set[str] = set()
    for i, place in enumerate(plan.locations):
        if place.id in places:
            errors.append((f"locations[{i}].id", f"duplicate location id {place.id!r}"))
        places.add(place.id)
    shot_ids: set[str] = set()
    for i, shot in enumerate(plan.shots):
        at = f"shots[{i}]"
        if shot.location is not None and shot.location not in places:
            errors.append((f"{at}.location", f"unknown location id {shot.location!r}; known: {', '.join(sorted(places)) or 'none'}"))
        elif shot.location is None and places:
            errors.append((f"{at}.location", f"names no location; every shot names its location once the plan has "
                                             f"locations (known: {', '.join(sorted(places))})"))
        if shot.id in shot_ids:
            errors.append((f"{at}.id", f"duplicate shot id {shot.id!r}"))
        errors += _partner_errors(at, shot, shot_ids, {s.id for s in plan.shots})
        shot_ids.add(shot.id)
        if shot.index != i + 1:
            errors.append((f"{at}.index", f"is {shot.index} but the shot is number {i + 1}; renumber the shots 1..{len(plan.shots)}"))
        for j, cid in enumerate(shot.characters):
            if cid not in seen:
                errors.append((f"{at}.characters[{j}]", f"unknown character id {cid!r}; known: {', '.join(sorted(seen)) or 'none'}"))
        if len(set(shot.characters)) != len(shot.characters):
            errors.append((f"{at}.characters", "lists a character twice"))
        for cid in shot.ages:
            if cid not in shot.characters:
                errors.append((f"{at}.ages.{cid}", f"{cid!r} is not in this shot's characters"))
        for j, line in enumerate(shot.dialogue):
            if line.speaker not in seen:
                errors.append((f"{at}.dialogue[{j}].speaker",
                               f"unknown character id {line.speaker!r}; known: {', '.join(sorted(seen)) or 'none'}"))
        t = shot.transition
        if t.type == TransitionType.cut and t.duration:
            errors.append((f"{at}.transition.duration", "a cut has no duration; set it to 0 or use a dissolve"))
        if t.type != TransitionType.cut and i == len(plan.shots) - 1:
            errors.append((f"{at}.transition.type", "the last shot has no next shot to transition to; use cut"))
    if plan.score:
        errors += _score_errors(plan.score, [shot.id for shot in plan.shots])
    return errors


def _partner_errors(at: str, shot: Shot, earlier: set[str], every: set[str]) -> list[tuple[str, str]]:
    """A partner missing where the shot's grammar answers an earlier shot, given where it answers none,
    or naming no earlier shot."""
    if shot.grammar in PARTNERED and shot.partner is None:
        return [(f"{at}.partner", f"{a_shot(shot.grammar)} names the earlier shot it answers; set partner to its id")]
    if shot.grammar not in PARTNERED and shot.partner is not None:
        what = f"{a_shot(shot.grammar)} answers" if shot.grammar else "a shot with no grammar answers"
        return [(f"{at}.partner", f"{what} no earlier shot; remove partner, or set grammar to one of "
                                  f"{', '.join(PARTNERED)}")]
    if shot.partner is not None and shot.partner not in earlier:
        where = "a later shot, or this one" if shot.partner in every else "unknown"
        return [(f"{at}.partner", f"shot id {shot.partner!r} is {where}; a partner is an earlier shot's id")]
    return []


def _score_errors(score: Score, shot_ids: list[str]) -> list[tuple[str, str]]:
    errors = []
    playing, previous, entered = True, (0, 0.0), set()
    for i, cue in enumerate(score.cues):
        at = f"score.cues[{i}]"
        if cue.shot not in shot_ids:
            errors.append((f"{at}.shot", f"unknown shot id {cue.shot!r}"))
            continue
        when = (shot_ids.index(cue.shot), cue.at)
        if when < previous:
            errors.append((at, "cues must come in film order (by shot, then `at`)"))
        previous = when
        if cue.mood is not None and cue.change != ScoreChange.enter:
            errors.append((f"{at}.mood", f"only an enter sets a mood; this cue is a {cue.change}"))
        if cue.change == ScoreChange.enter:
            if cue.shot == shot_ids[0] and cue.at:
                errors.append((f"{at}.at", "the score already plays from the first frame; an enter in the first "
                                           "shot must be at 0 (it sets the opening piece's mood)"))
            if cue.shot in entered:
                errors.append((f"{at}.shot", f"a second enter in shot {cue.shot!r}; one piece may start per shot"))
            entered.add(cue.shot)
        elif not playing:
            errors.append((f"{at}.change", f"the music stopped at an earlier cue; put an enter before this {cue.change}"))
        playing = cue.change != ScoreChange.stop
    return errors


def timing_errors(plan: StoryPlan, fps: int) -> list[tuple[str, str]]:
    """Transitions that do not fit in frames at `fps`, and range retakes that are no stretch of their shot's frames."""
    errors = []
    for i, shot in enumerate(plan.shots):
        for j, retake in enumerate(shot.retakes or ()):
            if fault := range_fault(retake.start, retake.end, shot.duration, fps):
                errors.append((f"shots[{i}].retakes[{j}].{fault[0]}", fault[1]))
        t = shot.transition
        if t.type != TransitionType.cut and round(t.duration * fps) < 1:
            errors.append((f"shots[{i}].transition.duration", f"a {t.type} needs at least one frame at {fps} fps"))
    # A transition overlaps the end of one shot with the start of the next; the two
    # windows that touch a shot must fit inside it, or frames would be used twice.
    incoming = 0
    for i, shot in enumerate(plan.shots):
        frames = round(shot.duration * fps)
        outgoing = round(shot.transition.duration * fps) if i < len(plan.shots) - 1 else 0
        if incoming + outgoing > frames:
            errors.append((
                f"shots[{i}].transition.duration",
                f"the transitions into and out of this shot ({incoming / fps:g} s + {outgoing / fps:g} s) "
                f"are longer than the shot ({shot.duration:g} s); shorten them or lengthen the shot",
            ))
        incoming = outgoing
    return errors


def range_fault(start: float, end: float, duration: float, fps: int) -> tuple[str, str] | None:
    """What is wrong with retaking seconds [start, end) of a `duration`-second shot at `fps`, if anything:
    the bound at fault ("start" or "end") and why."""
    if start >= end:
        return "end", f"{end:g} s is not after the start of the stretch ({start:g} s)"
    if end > duration:
        return "end", f"{end:g} s is past the end of the shot ({duration:g} s)"
    if round(start * fps) == round(end * fps):
        return "end", f"the stretch holds no frame at {fps} fps; make it at least {1 / fps:.3g} s long"
    return None


def speech_errors(plan: StoryPlan, fps: int) -> list[tuple[str, str]]:
    """Shots whose narration and lines do not fit the time they are on screen, at a natural pace."""
    errors = []
    known = {c.id for c in plan.characters}
    for i, (shot, span) in enumerate(zip(plan.shots, FrameLayout.of(plan, fps).spans)):
        said = said_fields(shot)
        silent = [(f"shots[{i}].{field}", "has no word to say (no letter or digit); write the words, or remove it")
                  for field, text in said if not spoken_words(text)]
        errors += silent
        if silent or any(line.speaker not in known for line in shot.dialogue):
            continue  # words to say first; an unknown speaker is reported by structure_errors
        needed = speech_frames_needed(plan, shot, span, fps)
        if needed > span.frames:
            field = max(said, key=lambda item: spoken_words(item[1]))[0]   # the longest is the one to cut
            seconds = math.ceil(needed / fps * 10) / 10
            fix = (f"make its duration at least {seconds:g} s, or shorten the words" if seconds <= MAX_SHOT_SECONDS else
                   f"they need {seconds:g} s, over a shot's {MAX_SHOT_SECONDS:g} s: share them with the next shot")
            errors.append((f"shots[{i}].{field}",
                           f"the shot's words take longer than its {shot.duration:g} s at a natural pace; {fix}"))
    return errors
