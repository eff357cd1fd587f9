"""What a diffusion model reads of a shot: its five domains, as its text encoder can take them.

A T5-class encoder (Wan, LTX: 512 tokens) reads the whole of every domain (`full_prompt`);
a model that makes the shot's sound too (LTX-2) reads them, then what is said (`spoken_prompt`).
CLIP (Stable Diffusion, SDXL) reads 77 tokens and drops the rest, so a prompt written in
full loses its last domains, the light first. For CLIP the prompt is composed to fit
(`fit` of `prompt_domains`): each domain is a list of phrases, the most telling first, its key
words. Every domain's key words go in first, in the order KEY_ORDER (subject and action,
place, light, camera, relation, style), cut to the words that fit if they must be; then
the rest of each domain in that order, phrase by phrase, while they fit, counted with the
model's own tokenizer (`within`). Words that mean nothing to a model are left out: names (the
portraits hold who is who), kelvin and lens degrees (the hour and the shot size say them).

Both say a character's age as the plan's fields have it, where the text does not: an
elder is old, a child a child. The plan's `style` is the film's look; the animatic's words
for its own look (ANIMATIC_LOOK) never reach a model.
"""

from __future__ import annotations

import re
from typing import Callable

from scenegen.prompts import fill_template
from scenegen.schemas.plan import voice_of
from scenegen.schemas.timing import utterances

ANIMATIC_LOOK = ("animatic", "storybook", "storyboard")
KEY_ORDER = ("subject", "place", "light", "camera", "relation", "style")
READ_ORDER = ("subject", "relation", "place", "light", "camera", "style")
# Words that already say an age, and what a prompt says where the text does not.
AGE_WORDS = {"elder": ("old", "elderly", "aged", "grey", "gray", "silver", "white-haired", "ageing", "aging"),
             "child": ("child", "girl", "boy", "kid", "young", "little", "teenage", "teenager", "baby", "toddler")}
AGE_IN_PROMPT = {"elder": "elderly", "child": "child"}


def look(style: str) -> str:
    """The plan's style as a model reads it: the film's look, without the animatic's words for its
    own; a style of nothing else is a film's (a plan written when the look was the animatic's)."""
    kept = [part.strip() for part in style.split(",") if not re.search(rf"\b({'|'.join(ANIMATIC_LOOK)})\b", part, re.I)]
    return ", ".join(part for part in kept if part) or "cinematic film still"


def full_prompt(plan, shot) -> str:
    """Every domain, whole, for a T5-class encoder."""
    return fill_template("diffusion/shot.j2", style=look(plan.style), character=_aged(plan, shot),
                         background=shot.background, relation=shot.relation, camera=shot.camera.text,
                         lighting=shot.lighting.text).strip()


# How a voice sounds, in words a joint audio-video model reads (LTX-2 is told "a low, slow man's voice").
VOICE_WORDS = {"feminine": "woman's voice", "masculine": "man's voice", "childlike": "child's voice"}


def spoken_prompt(plan, shot) -> str:
    """Every domain, whole, then what is said in the shot: for a model that makes the shot's sound too."""
    names = {c.id: c.name for c in plan.characters}
    lines = [{"speaker": names.get(u.speaker), "voice": _voice_words(voice_of(plan, u.speaker)), "text": " ".join(u.text.split())}
             for u in utterances(plan, shot)]
    return fill_template("diffusion/spoken_shot.j2", shot=full_prompt(plan, shot), lines=lines).strip()


def _voice_words(voice) -> str:
    """'a low, slow man's voice': its kind, and its pitch and pace where they are well off the usual."""
    pitch = "low" if voice.pitch <= -0.3 else "high" if voice.pitch >= 0.3 else ""
    pace = "slow" if voice.pace <= 0.85 else "quick" if voice.pace >= 1.15 else ""
    manner = ", ".join(word for word in (pitch, pace) if word)
    return f"a {manner} {VOICE_WORDS[voice.kind.value]}" if manner else f"a {VOICE_WORDS[voice.kind.value]}"


def within(tokenizer) -> Callable[[str], bool]:
    """Whether a text fits a CLIP tokenizer's window (77 tokens, its start and end marks in)."""
    return lambda text: len(tokenizer(text).input_ids) <= tokenizer.model_max_length


def portrait_prompt(style: str, appearance: str, fits: Callable[[str], bool]) -> str:
    """An identity portrait: the appearance first, then how it is framed, then the look."""
    return fit({"subject": ["portrait", *_phrases(appearance, [])],
                "camera": ["head and shoulders", "facing the camera", "plain background", "soft even light"],
                "style": _phrases(look(style), [])}, fits)


def set_view_prompt(style: str, location: dict, bearing: float, fov_deg: float, fits: Callable[[str], bool]) -> str:
    """One view of a location's set: the place, then what its layout puts within the view (nearest
    its middle first), then the look; empty of people and in daylight, which are the shots'."""
    def off(item: dict) -> float:  # degrees from the view's middle, either way round
        return abs((item["bearing"] - bearing + 180) % 360 - 180)

    seen = sorted((item for item in location.get("layout") or [] if off(item) <= fov_deg / 2), key=off)
    return fit({"place": [*_phrases(location["description"], []),
                          *(phrase for item in seen for phrase in _phrases(item["what"], [])), *_phrases(location["name"], [])],
                "light": ["daylight"], "camera": ["wide view", "empty of people"],
                "style": _phrases(look(style), [])}, fits)


def fit(domains: dict[str, list[str]], fits: Callable[[str], bool]) -> str:
    """Each domain's key words first, in KEY_ORDER, then the rest of each while `fits` allows."""
    chosen: dict[str, list[str]] = {name: [] for name in READ_ORDER}

    def text() -> str:
        return ". ".join(", ".join(chosen[name]) for name in READ_ORDER if chosen[name]) + "."

    def take(name: str, phrase: str) -> bool:
        chosen[name].append(phrase)
        if fits(text()):
            return True
        chosen[name].pop()
        return False

    domains = {name: domains.get(name, []) for name in KEY_ORDER}
    for name in KEY_ORDER:
        for phrase in domains[name][:_keys(name)]:
            words = phrase.split()
            while words and not take(name, " ".join(words)):
                words.pop()   # the key words that fit, when all of them cannot
    for name in KEY_ORDER:
        for phrase in domains[name][_keys(name):]:
            take(name, phrase)
    return text()


def _keys(domain: str) -> int:
    """How many of a domain's first phrases are its key words: the subject's who and what they do."""
    return 2 if domain == "subject" else 1


def prompt_domains(plan, shot) -> dict[str, list[str]]:
    """The shot's domains as phrases, most telling first, ready to `fit` to any window."""
    names = [c.name for c in plan.characters]   # anyone's: the action may name someone out of frame
    light = shot.lighting
    warmth = "warm light" if light.color_temperature_k < 4500 else "cool light" if light.color_temperature_k > 6500 else ""
    camera = shot.camera
    return {
        "subject": _phrases(_aged(plan, shot).replace(";", ","), names),
        "relation": _phrases(shot.relation, names),
        "place": _phrases(shot.background, names),
        "light": [p for p in _phrases(light.text, names) if not re.fullmatch(r"\d+\s*k", p, re.I)] + ([warmth] if warmth else []),
        "camera": [f"{camera.shot_size.replace('_', ' ')} shot", f"{camera.angle.replace('_', ' ')} angle",
                   "static camera" if camera.movement == "static" else camera.movement.replace("_", " ")],
        "style": _phrases(look(plan.style), names),
    }


def _phrases(text: str, names: list[str]) -> list[str]:
    """A domain's text as its phrases, without the names in it: 'Nora, an old woman, kneads dough'
    is ['an old woman', 'kneads dough']."""
    for name in sorted(names, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(name)}'s(?!\w)", "their", text)   # "meeting Theo's eyes"
        text = re.sub(rf"(?<!\w)(of |with |and )?{re.escape(name)}(?!\w)", "", text)
    text = re.sub(r"[()]", ",", text)
    phrases = [" ".join(p.split()).strip(" .;:") for p in re.split(r"[,.;:]", text)]
    return [p for p in phrases if p and not re.fullmatch(r"(and|with|of|the|a|an)", p, re.I)]


def _aged(plan, shot) -> str:
    """The shot's character text, each one's age written in where the fields set it and the text does not."""
    parts = _parts(plan, shot)
    for cid, age in shot.ages.items():
        part = parts.get(cid)
        if age in AGE_IN_PROMPT and part and not re.search(rf"\b({'|'.join(AGE_WORDS[age])})\b", part, re.I):
            name = plan.character(cid).name
            parts[cid] = part.replace(name, f"{name}, {AGE_IN_PROMPT[age]},", 1)
    return ";".join(parts.values())


def _parts(plan, shot) -> dict[str, str]:
    """The character text's parts ("; "), by whom each is about: the first name in it. The lead's
    part comes first, as the subject and action of the shot; a part about no one keeps its place."""
    names = {plan.character(c).name: c for c in shot.characters if any(c == k.id for k in plan.characters)}
    parts: dict[str, str] = {}
    for k, part in enumerate(shot.character.split(";")):
        found = [(part.find(name), cid) for name, cid in names.items() if name in part]
        parts[min(found)[1] if found else f"#{k}"] = part
    lead = plan.characters[0].id if plan.characters else None
    return dict(sorted(parts.items(), key=lambda item: item[0] != lead))
