"""What a diffusion model reads of a shot: fitted to CLIP's 77 tokens with every domain in, whole for T5."""

import re

import pytest

from scenegen.modules.script import ScriptRequest, reading
from scenegen.modules.script.offline import OfflinePlanner
from scenegen.modules.shot_prompts import ANIMATIC_LOOK, fit, full_prompt, look, portrait_prompt, prompt_domains, within

# The README's stories and the issue's: every kind of place, weather, cast and age.
SENTENCES = [
    "a woman's life",
    "a detective chases a thief through rainy Tokyo",
    "a girl grows up in the mountains",
    "an old fisherman and the storm",
    "a fisherman's son leaves the island to study in the city",
    "an old lighthouse keeper rescues sailors in a winter storm",
    "a retired boxer trains his granddaughter",
    "two sisters open a bakery in Paris",
    "a girl and a robot escape a flooded city",
    "a dancer wins over the crowd",
    "a quest for the last lighthouse",
    "two strangers fall in love on a night train",
]
SHOT_SIZE = r"(extreme wide|wide|full|medium close|medium|close up|extreme close up) shot"
HOURS = ("dawn", "morning", "noon", "afternoon", "golden hour", "dusk", "night")
WHO = r"\b(old woman|old man|old person|woman|man|person|girl|boy|child|robot|dog)\b"


def plans():
    return [OfflinePlanner().plan(ScriptRequest(sentence=s, shots=30, seed=0)) for s in SENTENCES]


@pytest.fixture(scope="module")
def stories():
    return plans()


def test_every_keyframe_prompt_fits_clip_and_keeps_each_domains_key_words(stories, clip_vocabulary):
    fits = within(clip_vocabulary)
    overflowing = 0
    for sentence, plan in zip(SENTENCES, stories):
        premise = reading.read(sentence)
        places = [place.text for where in (premise.setting, premise.origin) if where for _, place in where.places]
        for shot in plan.shots:
            prompt = fit(prompt_domains(plan, shot), fits).lower()
            assert len(clip_vocabulary(prompt).input_ids) <= 77, (sentence, shot.id, prompt)
            overflowing += len(clip_vocabulary(full_prompt(plan, shot)).input_ids) > 77
            # Subject and action: who is in frame, at their age, and what the lead does.
            if shot.characters:
                who = re.search(WHO, shot.character.lower()).group(1)
                assert who in prompt, (sentence, shot.id, prompt)
                lead = plan.characters[0].name
                part = next((p for p in shot.character.split(";") if p.strip().startswith(lead)), shot.character)
                action = " ".join(part.split(", ")[2].split()[:3])   # what the lead does, its first words
                for name in (c.name for c in plan.characters):   # a name is left out: "their hands", not "Sofia's"
                    action = action.replace(f"{name}'s", "their")
                action = action.lower()
                assert action in prompt, (sentence, shot.id, action, prompt)
            # The place, the hour and its light, the shot size, the look.
            said = [place.lower() for place in places if place in shot.background]
            assert all(place in prompt for place in said), (sentence, shot.id, said, prompt)
            hour = shot.lighting.time_of_day.replace("_", " ")
            assert f"{hour} light" in prompt, (sentence, shot.id, prompt)
            assert re.search(SHOT_SIZE, prompt) and shot.camera.shot_size.replace("_", " ") in prompt, prompt
            assert "cinematic film still" in prompt
            # How they stand: the relation's first words, names left out.
            relation = [w for w in re.findall(r"[a-z]+", shot.relation.lower())
                        if w not in {plan.character(c).name.lower() for c in shot.characters} | {"and"}]
            assert relation[0] in prompt, (shot.relation, prompt)
            assert not [w for w in ANIMATIC_LOOK if w in prompt]
            assert not any(c.name.lower() in re.findall(r"[a-z]+", prompt) for c in plan.characters), prompt
    # Written whole, nearly every prompt would lose its last domains.
    assert overflowing > 0.9 * len(SENTENCES) * 30


def test_a_t5_prompt_keeps_every_domain_whole(stories):
    for plan in stories:
        for shot in plan.shots[::7]:
            prompt = full_prompt(plan, shot)
            for text in (shot.character, shot.background, shot.relation, shot.camera.text, shot.lighting.text):
                assert text.rstrip(".") in prompt
            assert plan.style in prompt


def test_the_animatic_look_never_reaches_a_model(stories):
    assert all(not any(w in plan.style.lower() for w in ANIMATIC_LOOK) for plan in stories)
    # A plan written before the look was the film's own still says it: models read the rest of it.
    old = stories[0].model_copy(update={"style": "cinematic storybook animatic, warm pastel tones"})
    shot = old.shots[0]
    assert look(old.style) == "warm pastel tones"
    assert "animatic" not in full_prompt(old, shot) and "storybook" not in full_prompt(old, shot)
    assert "warm pastel tones" in fit(prompt_domains(old, shot), lambda text: True)
    assert full_prompt(old.model_copy(update={"style": "storybook animatic"}), shot).startswith("cinematic film still.")


def test_an_elders_and_a_childs_text_say_their_age(stories):
    life = stories[0]
    hero = life.characters[0]
    for shot in (s for s in life.shots if hero.id in s.characters):
        part = next(p for p in shot.character.split(";") if p.strip().startswith(hero.name))
        age = shot.ages.get(hero.id, "adult")
        said = {"child": "a girl with", "adult": "a woman with", "elder": "an old woman with silver hair"}[age]
        assert said in part, (age, part)
    # A text that does not say the age it has (an LLM's, an edit) has it said for the model.
    shot = next(s for s in life.shots if s.ages.get(hero.id) == "elder")
    unsaid = shot.model_copy(update={"character": f"{hero.name} (black hair, green scarf) smiles at the water"})
    assert f"{hero.name}, elderly," in full_prompt(life, unsaid)
    assert "elderly" in fit(prompt_domains(life, unsaid), lambda text: True)
    boxer = stories[6]
    assert "an old man with silver hair" in boxer.shots[0].character and "a girl with" in boxer.shots[0].character


def test_a_portrait_prompt_fits_too(clip_vocabulary):
    appearance = ("Long auburn hair in a braid tied with a faded ribbon, deep green eyes, fair freckled skin, a long "
                  "red wool coat with brass buttons over a grey knitted sweater, round wire glasses, a silver locket")
    prompt = portrait_prompt("cinematic film still, 35mm, natural colour", appearance, within(clip_vocabulary))
    assert len(clip_vocabulary(prompt).input_ids) <= 77
    assert prompt.lower().startswith("portrait, long auburn hair") and "head and shoulders" in prompt and "cinematic" in prompt
