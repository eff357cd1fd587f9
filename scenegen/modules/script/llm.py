"""LLM planner: a story plan from any OpenAI-compatible chat-completions server.

Planning is hierarchical, as in VideoGen-of-Thought, so no single answer has to hold
a whole film:

1. outline: title, logline, style, the cast (with the appearance every portrait and
   keyframe will keep), the locations (with what stands where in each) and the acts;
2. pre-shot sentences: exactly one sentence of story context per shot;
3. shot specs in batches of at most `batch_size` shots, each batch given the outline,
   its shots' sentences and a running summary of the shots before it: the five
   domains (character, background, relation, camera pose, HDR lighting), the location
   and which way the camera faces in it, the shot's film grammar and the earlier shot it
   answers, duration and transition, camera and lighting as the schema's structured
   fields plus text.

Every answer is parsed against a JSON Schema built for that call (the cast's and the
locations' ids as enums, the exact number of items), so servers that constrain decoding (vLLM,
llama.cpp, Ollama, OpenAI's strict mode) cannot produce a broken reference. What the
schema cannot say (hair that changes colour, a transition longer than half its shot,
a batch filmed from one distance) is checked after parsing. A failed check is sent back to
the model with the error, up to `repairs` times; an answer cut off at the token limit
makes its batch split in two. What has one right value is set, not asked: a cut lasts
0 s, the film's last shot ends on a cut, a grammar that answers no earlier shot has no
partner, and one whose partner is missing or not before its shot is dropped (a repair costs
a whole batch, and the film renders without a grammar). HTTP failures (429, 5xx, timeouts) are retried by the SDK with back-off. The SDK's
HTTP client may be passed in (`http_client`), as httpx's transport is: tests swap the network
for an `httpx2.MockTransport`, not the code.

Each answer is cached under `<workdir>/.scenegen/llm/` by the hash of its request, so
a re-run after any failure replays what was already paid for.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from scenegen.atomic import write_atomic
from scenegen.errors import UserError
from scenegen.modules.colours import COLOURS
from scenegen.modules.script import ScriptBackend, ScriptRequest
from scenegen.prompts import fill_template
from scenegen.schemas import (
    CameraAngle, CameraMovement, Character, Contrast, Grammar, KeyLight, Mood, Shot, ShotSize, StoryPlan, TimeOfDay,
    TransitionType,
)
from scenegen.schemas.files import json_path
from scenegen.schemas.plan import (
    MAX_SHOT_SECONDS, NARRATOR, PARTNERED, LineText, Location, Score, ScoreChange, ScoreCue, Season, Slug, Text, Voice,
    VoiceKind, said_fields,
)
from scenegen.schemas.timing import seconds_to_say, spoken_words

if TYPE_CHECKING:
    import httpx2   # the openai SDK's httpx, installed with the [llm] extra


class PlanningError(UserError):
    """The server or the model failed; the message says which and what to try."""

    exit_code = 1


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = "https://api.openai.com/v1"
    model: str
    api_key: str = "not-needed"
    timeout: float = Field(120.0, gt=0, description="seconds per request")
    retries: int = Field(3, ge=0, description="HTTP retries per request (429, 5xx, timeouts)")
    repairs: int = Field(3, ge=0, description="times an invalid answer is sent back with its error")
    batch_size: int = Field(8, ge=1, le=8)
    # json_schema: the server enforces the schema (OpenAI, vLLM); json_object: JSON mode
    # with the schema in the prompt (llama.cpp, Ollama); auto: the first, else the second.
    mode: Literal["auto", "json_schema", "json_object"] = "auto"
    temperature: float = Field(0.7, ge=0, le=2)


# -- the shape of each answer ---------------------------------------------------------------


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CastMember(Answer):
    id: Slug
    name: Text
    description: Text
    appearance: Text
    # Sound fields have defaults: a model that leaves them out still gives a (silent) plan.
    voice: VoiceKind | None = None


# Which way something lies, or a camera faces, in a location: degrees clockwise from its front.
Bearing = Literal[-135, -90, -45, 0, 45, 90, 135, 180]


class LayoutChoice(Answer):
    what: Text
    bearing: Bearing


class Place(Answer):
    id: Slug
    name: Annotated[str, Field(min_length=1, max_length=80)]
    description: Text
    time_of_day: TimeOfDay
    season: Season | None = None
    layout: list[LayoutChoice] = Field(min_length=2, max_length=6)


class Act(Answer):
    name: Text
    summary: Text


class Outline(Answer):
    title: Text
    logline: Text
    style: Text
    characters: list[CastMember] = Field(min_length=1, max_length=6)
    locations: list[Place] = Field(min_length=1, max_length=12)
    acts: list[Act] = Field(min_length=1, max_length=5)
    music: Mood | None = Field(None, description="the score's mood at the start; none for no music")


# Numbers are asked for as choices, not ranges: grammar-constrained decoders (llama.cpp)
# enforce enums but ignore minimum/maximum, and a director picks lenses and lamps from
# a kit anyway.
Amount = Literal[0.0, 0.25, 0.5, 0.75, 1.0]
Lens = Literal[20, 28, 35, 50, 65, 85, 100]                         # horizontal field of view, degrees
Kelvin = Literal[2700, 3200, 4000, 4500, 5000, 5600, 6500, 7500, 9000]
Seconds = Literal[1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 8.0]
Overlap = Literal[0.0, 0.5, 0.75, 1.0]


class CameraChoice(Answer):
    shot_size: ShotSize
    angle: CameraAngle
    movement: CameraMovement
    movement_amount: Amount
    fov_deg: Lens
    bearing: Bearing
    crosses_line: bool = False
    text: Text


class LightingChoice(Answer):
    time_of_day: TimeOfDay
    key_light: KeyLight
    color_temperature_k: Kelvin
    contrast: Contrast
    mood: Mood
    text: Text


class TransitionChoice(Answer):
    type: TransitionType
    duration: Overlap


# What the music does as a shot begins.
MusicChange = Literal["continue", "enter", "swell", "drop", "stop"]


def _outline_model(shots: int) -> type[Outline]:
    """The outline, with at most the locations the prompt allows for `shots` shots: a decoder that
    constrains its output to the schema otherwise may invent places until it runs out of tokens."""
    return create_model("Outline", __base__=Outline,
                        locations=(list[Place], Field(min_length=1, max_length=min(12, shots // 2 + 1))))


def _pre_shots_model(count: int) -> type[Answer]:
    return create_model("PreShots", __base__=Answer, sentences=(list[Text], Field(min_length=count, max_length=count)))


def _shot_batch_model(cast: list[str], places: list[str], shot_ids: list[str], count: int) -> type[Answer]:
    """A batch of `count` shots; a partner is one of `shot_ids`, the film's up to the batch's last
    (one not before its shot drops the shot's grammar, in `_grammar`)."""
    spec = create_model(
        "ShotSpec", __base__=Answer,
        characters=(list[Literal[tuple(cast)]], Field(max_length=len(cast))),
        character=(Text, ...), location=(Literal[tuple(places)], ...), background=(Text, ...), relation=(Text, ...),
        camera=(CameraChoice, ...),
        # Defaults, as the sound's: a model that leaves them out still gives a plan.
        grammar=(Grammar | None, None), partner=(Literal[tuple(shot_ids)] | None, None),
        lighting=(LightingChoice, ...),
        duration=(Seconds, ...), transition=(TransitionChoice, ...),
        narration=(Text | None, None),
        dialogue=(list[create_model("LineSpec", __base__=Answer, speaker=(Literal[tuple(cast)], ...), text=(LineText, ...))],
                  Field([], max_length=3)),
        music=(MusicChange, "continue"),
    )
    return create_model("ShotBatch", __base__=Answer, shots=(list[spec], Field(min_length=count, max_length=count)))


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema with every property required and no defaults (strict mode).

    String length caps are left to validation: a grammar-constrained decoder (llama.cpp)
    unrolls `maxLength: 2000` into a grammar too large to parse.
    """
    schema = model.model_json_schema()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            node.pop("default", None)
            node.pop("maxLength", None)
            if node.get("type") == "object" and "properties" in node:
                node["required"] = list(node["properties"])
                node["additionalProperties"] = False
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(schema)
    return schema


# -- the planner ----------------------------------------------------------------------------


class LLMPlanner(ScriptBackend):
    name: ClassVar[str] = "llm"

    def __init__(self, settings: dict[str, Any] | None = None, http_client: httpx2.Client | None = None):
        """`http_client` carries the requests (a test's mock transport, a proxy); None: the SDK's own."""
        try:
            self.config = Settings.model_validate(settings or {})
        except ValidationError as e:
            first = e.errors()[0]
            option = "--llm-" + str(first["loc"][0]).replace("_", "-")
            raise UserError(f"{option}: {first['msg']} (or set SCENEGEN_LLM_{str(first['loc'][0]).upper()})") from None
        super().__init__(self.config.model_dump())
        self.description = f"the LLM planner ({self.config.model} at {self.config.base_url})"
        self._mode = self.config.mode
        self._http_client = http_client
        self._client = None

    def plan(self, request: ScriptRequest) -> StoryPlan:
        try:
            from openai import OpenAI
        except ImportError:
            raise UserError("the llm planner needs the openai package: pip install 'scenegen[llm]'") from None
        c = self.config
        self._client = OpenAI(base_url=c.base_url, api_key=c.api_key, timeout=c.timeout, max_retries=c.retries,
                              http_client=self._http_client)
        self._cache = (request.workdir or Path(".")) / ".scenegen" / "llm"
        # llama.cpp's sampler keeps only a seed's low 32 bits; sending just those keeps a seed of
        # any size (--seed takes thousands of digits) within what every server's parser takes.
        self._seed = request.seed % 2**32
        sentence = " ".join(request.sentence.split())

        outline = self._ask("outline", _outline_model(request.shots),
                            fill_template("llm/outline.j2", sentence=sentence, shots=request.shots), _check_outline)
        cast = [m.id for m in outline.characters]
        places = [place.id for place in outline.locations]
        pre_shots = self._ask(
            "pre-shot sentences", _pre_shots_model(request.shots),
            fill_template("llm/pre_shots.j2", outline=outline, shots=request.shots), lambda a: [],
        ).sentences

        width = max(2, len(str(request.shots)))
        ids = [f"s{i + 1:0{width}d}" for i in range(request.shots)]
        specs: list[Any] = []
        pending = [(start, min(start + c.batch_size, request.shots)) for start in range(0, request.shots, c.batch_size)]
        while pending:
            start, stop = pending.pop(0)
            prompt = fill_template("llm/shots.j2", outline=outline, sentences=pre_shots, ids=ids, start=start, stop=stop,
                                   total=request.shots, summary=_summary(pre_shots, ids, specs))
            try:
                what = f"shots {start + 1}-{stop}" if stop - start > 1 else f"shot {stop}"
                batch = self._ask(what, _shot_batch_model(cast, places, ids[:stop], stop - start), prompt,
                                  lambda a: _check_batch(a, outline), split_if_cut=stop - start > 1)
            except _Truncated:
                middle = (start + stop) // 2
                pending[:0] = [(start, middle), (middle, stop)]
                continue
            specs.extend(batch.shots)

        transitions = [_transition(spec, last=i == len(specs) - 1) for i, spec in enumerate(specs)]
        cast = {m.id: Character(**{**m.model_dump(exclude={"voice"}),
                                   "voice": Voice(kind=m.voice) if m.voice else None}) for m in outline.characters}
        return StoryPlan(
            title=outline.title, logline=outline.logline, style=outline.style, seed=request.seed,
            characters=list(cast.values()),
            locations=[Location(**place.model_dump()) for place in outline.locations],
            shots=[
                Shot(id=ids[i], index=i + 1, context=pre_shots[i],
                     **{**spec.model_dump(exclude={"music", "duration"}), "transition": transitions[i],
                        **_grammar(spec, ids[i]),
                        # A shot lasts at least as long as its words, so the plan always passes its checks.
                        "duration": max(spec.duration, seconds_to_say(_said(spec, cast), transitions[i - 1]["duration"]
                                                                      if i else 0.0, transitions[i]["duration"]))})
                for i, spec in enumerate(specs)
            ],
            score=_score(outline.music, [(spec.music, spec.lighting.mood) for spec in specs], ids),
        )

    # -- one structured call, with repair --------------------------------------------------

    def _ask(self, what: str, model: type[Answer], prompt: str, check, split_if_cut: bool = False) -> Any:
        """Ask until an answer parses and passes `check`; raise _Truncated if cut off and splittable."""
        schema = strict_schema(model)
        messages = [
            {"role": "system", "content": fill_template("llm/system.j2", schema=json.dumps(schema))},
            {"role": "user", "content": prompt},
        ]
        problem = ""
        for _ in range(self.config.repairs + 1):
            text, finish = self._complete(re.sub(r"\W+", "_", what), schema, messages)
            if finish == "length":
                if split_if_cut:
                    raise _Truncated()
                raise PlanningError(f"the model's answer for the {what} was cut off at its token limit; "
                                    "use a model with a longer context or output, or fewer shots")
            answer, problem = _parse(model, text, check)
            if not problem:
                return answer
            messages += [{"role": "assistant", "content": text},
                         {"role": "user", "content": fill_template("llm/repair.j2", problem=problem)}]
        raise PlanningError(
            f"the model gave no valid {what} after {self.config.repairs} repairs; last problem: "
            f"{problem}; its answers are kept in {self._cache} and a re-run reuses them"
        )

    def _complete(self, name: str, schema: dict, messages: list[dict]) -> tuple[str, str]:
        """The answer text and finish reason, from the cache or the server."""
        import openai

        c = self.config
        while True:
            if self._mode == "json_object":
                response_format = {"type": "json_object", "schema": schema}
            else:
                response_format = {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}
            # The plan's seed goes to the sampler too: servers that honour it (llama.cpp, vLLM) then
            # answer the same request the same way, so a plan is reproducible without the cache.
            body = {"model": c.model, "messages": messages, "response_format": response_format,
                    "temperature": c.temperature, "seed": self._seed}
            # Keyed on what the model is asked, not where it runs: a server restarted on
            # another port still owes the same answers.
            key = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
            cached = self._cache / f"{key}.json"
            if cached.exists():
                answer = json.loads(cached.read_text())
                return answer["text"], answer["finish_reason"]
            try:
                response = self._client.chat.completions.create(**body)
            except openai.APIStatusError as e:
                if self._mode == "auto" and e.status_code in (400, 422, 500) and _rejects_json_schema(e):
                    self._mode = "json_object"  # e.g. llama.cpp's server: JSON mode with a schema instead
                    continue
                server_error = e.body.get("message", e.message) if isinstance(e.body, dict) else e.message
                raise PlanningError(f"the LLM server at {c.base_url} answered HTTP {e.status_code} "
                                    f"after {c.retries + 1} attempts: {_one_line(server_error)}") from None
            except openai.APITimeoutError:
                raise PlanningError(f"the LLM server at {c.base_url} did not answer within {c.timeout:g} s "
                                    f"({c.retries + 1} attempts); raise --llm-timeout or check the server") from None
            except openai.APIConnectionError:
                raise PlanningError(f"cannot connect to the LLM server at {c.base_url}; is it running?") from None
            choice = response.choices[0]
            text = choice.message.content or ""
            write_atomic(cached, json.dumps({"request": body, "text": text, "finish_reason": choice.finish_reason}))
            return text, choice.finish_reason


def _transition(spec, last: bool) -> dict:
    # Set, not asked: a cut has no duration, and the film's last shot has no next one.
    if last or spec.transition.type == TransitionType.cut:
        return {"type": "cut", "duration": 0.0}
    return spec.transition.model_dump()


def _grammar(spec, shot_id: str) -> dict:
    """The shot's grammar and partner as the plan takes them: a partner only where the grammar answers
    an earlier shot, and no grammar where its partner is missing or not before the shot. A 270M model
    names a later shot as often as an earlier one, and a repair would ask for the whole batch again."""
    if spec.grammar not in PARTNERED:
        return {"grammar": spec.grammar, "partner": None}
    if spec.partner is None or spec.partner >= shot_id:   # ids of one width sort in film order
        return {"grammar": None, "partner": None}
    return {"grammar": spec.grammar, "partner": spec.partner}


class _Truncated(Exception):
    """The answer hit the token limit."""


def _said(spec, cast: dict[str, Character]) -> list[tuple[str, float]]:
    """(text, pace) of what is said in a shot, narration first."""
    said = [(spec.narration, NARRATOR.pace)] if spec.narration else []
    return said + [(line.text, cast[line.speaker].voice.pace if cast[line.speaker].voice else 1.0) for line in spec.dialogue]


def _score(mood: Mood | None, changes: list[tuple[str, Mood]], ids: list[str]) -> Score | None:
    """The score from the outline's mood and what the music does as each shot begins; a new
    piece takes the mood of the shot it enters in."""
    if mood is None:
        return None
    cues, playing = [], True
    for shot_id, (change, shot_mood) in zip(ids, changes):
        # Drop what the score's rules would refuse: a swell while stopped, a stop while stopped.
        if change == "continue" or (not playing and change != "enter") or (change == "enter" and shot_id == ids[0]):
            continue
        cues.append(ScoreCue(shot=shot_id, change=ScoreChange(change), mood=shot_mood if change == "enter" else None))
        playing = change != "stop"
    return Score(mood=mood, cues=cues)


def _rejects_json_schema(error) -> bool:
    return bool(re.search(r"json_schema|response_format|json_object", str(error.message) + str(error.body)))


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:200]


def _json_part(text: str) -> str:
    # JSON mode without a grammar sometimes wraps the object in a code fence.
    match = re.search(r"\{.*\}", text, re.S)
    return match.group(0) if match else text


def _parse(model: type[Answer], text: str, check) -> tuple[Any, str]:
    """The answer, and what is wrong with it in one line ("" if nothing)."""
    try:
        # Not strict: JSON modes without a grammar write raw line breaks inside strings.
        data = json.loads(_json_part(text), strict=False)
    except json.JSONDecodeError as e:
        return None, f"the answer is not valid JSON ({e.msg} at line {e.lineno} column {e.colno})"
    try:
        answer = model.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        more = f" (and {e.error_count() - 1} more errors)" if e.error_count() > 1 else ""
        return None, f"{json_path(first['loc'])}: {first['msg']}{more}"
    return answer, "; ".join(check(answer)[:3])


def _check_outline(outline: Outline) -> list[str]:
    problems = []
    for field, ids in (("characters", [m.id for m in outline.characters]),
                       ("locations", [place.id for place in outline.locations])):
        problems += [f"{field}: the id {i!r} is used twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    return problems


HAIR = re.compile(r"\b(" + "|".join(COLOURS) + r")\s+hair\b")


def _check_batch(batch, outline: Outline) -> list[str]:
    problems = []
    looks = {m.id: m.appearance.lower() for m in outline.characters}
    for i, shot in enumerate(batch.shots):
        at = f"shots[{i}]"
        if len(set(shot.characters)) != len(shot.characters):
            problems.append(f"{at}.characters: lists a character twice")
        for field in ("character", "background", "relation"):
            if not getattr(shot, field).strip():
                problems.append(f"{at}.{field}: must not be empty")
        # Appearance is fixed by the cast; a shot may not recolour someone's hair.
        stated = set(HAIR.findall(shot.character.lower()))
        if len(shot.characters) == 1 and stated:
            own = set(HAIR.findall(looks[shot.characters[0]]))
            if own and not stated <= own:
                problems.append(f"{at}.character: says {', '.join(sorted(stated))} hair but "
                                f"{shot.characters[0]}'s appearance is {looks[shot.characters[0]]!r}")
        if shot.transition.type != "cut" and shot.transition.duration * 2 > shot.duration:
            problems.append(f"{at}.transition.duration: at most half the shot's duration ({shot.duration / 2:g} s)")
        if shot.transition.type != "cut" and shot.transition.duration <= 0:
            problems.append(f"{at}.transition.duration: a {shot.transition.type} needs a duration above 0")
        said = said_fields(shot)
        problems += [f"{at}.{field}: has no word to say; write words or leave it out"
                     for field, text in said if not spoken_words(text)]
        # The shot is lengthened to its words (the cast's voices speak at pace 1, the narrator's
        # at its own), with the longest transition in, but no shot may pass MAX_SHOT_SECONDS.
        paced = [(text, NARRATOR.pace if field == "narration" else 1.0) for field, text in said]
        if seconds_to_say(paced, 1.0, shot.transition.duration) > MAX_SHOT_SECONDS:
            field = max(said, key=lambda item: spoken_words(item[1]))[0]   # the longest is the one to cut
            problems.append(f"{at}.{field}: the words take longer than a shot may last ({MAX_SHOT_SECONDS:g} s); say less")
    if len(batch.shots) >= 4 and len({s.camera.shot_size for s in batch.shots}) == 1:
        problems.append("camera.shot_size: every shot has the same size; vary wide, medium and close-up")
    return problems


def _summary(sentences: list[str], ids: list[str], specs: list) -> str:
    """The story so far, for a batch: the last eight shots before it."""
    done = list(zip(sentences, specs))[-8:]
    offset = len(specs) - len(done)
    return fill_template("llm/summary.j2", shots=[
        {"number": offset + i + 1, "id": ids[offset + i], "context": sentence, "size": spec.camera.shot_size.value,
         "location": spec.location, "bearing": spec.camera.bearing, "background": spec.background, "time": spec.lighting.time_of_day.value}
        for i, (sentence, spec) in enumerate(done)
    ])
