"""The LLM planner against a fake chat-completions server reached through an injected
`httpx2.MockTransport`; the command-line tests reach it over real HTTP (`FakeLLM.serve`)."""

import json
import time

import pytest

from scenegen.modules.script import ScriptRequest
from scenegen.modules.script.llm import LLMPlanner, PlanningError
from scenegen.schemas.checks import plan_errors

from support.fake_llm import FakeLLM, Fault
from support.runs import SMALL, scenegen


def plan_with(llm: FakeLLM, tmp_path, shots=12, **settings):
    planner = LLMPlanner({"base_url": llm.url, "model": "test-model", "retries": 1, **settings},
                         http_client=llm.client())
    return planner.plan(ScriptRequest(sentence="a baker's journey to the sea", shots=shots, workdir=tmp_path))


def repair_messages(body: dict) -> list[str]:
    return [m["content"] for m in body["messages"][2:] if m["role"] == "user"]


def test_valid_answers_make_a_plan_hierarchically(tmp_path):
    llm = FakeLLM()
    plan = plan_with(llm, tmp_path, shots=20)
    # Outline, pre-shot sentences, then batches of at most 8 shots.
    assert llm.stages() == ["Outline", "PreShots", "ShotBatch", "ShotBatch", "ShotBatch"]
    batch_prompts = [r["messages"][1]["content"] for r in llm.requests[2:]]
    assert ["shots 1 to 8 of 20" in batch_prompts[0], "shots 9 to 16 of 20" in batch_prompts[1],
            "shots 17 to 20 of 20" in batch_prompts[2]] == [True] * 3
    # Later batches carry a summary of the shots before them.
    assert "Mara takes step 8 toward the sea" in batch_prompts[1]
    assert "first shots" in batch_prompts[0]
    assert len(plan.shots) == 20 and plan_errors(plan, 24) == []
    assert [s.context for s in plan.shots] == [f"Mara takes step {i} toward the sea." for i in range(1, 21)]
    assert plan.shots[0].camera.movement == "dolly_in" and plan.shots[0].lighting.color_temperature_k == 3200
    # The sound the model wrote: voices, narration, lines and the score's cues; a shot with
    # more words than its 3 s hold is lengthened to fit them (the plan passes its checks above).
    assert [c.voice.kind for c in plan.characters] == ["feminine", "masculine"]
    assert plan.shots[0].narration and plan.shots[0].duration > 3.0 and plan.shots[2].duration == 3.0
    assert [len(s.dialogue) for s in plan.shots[:6]] == [0, 1, 0, 0, 1, 0]
    assert plan.score.mood == "hopeful"
    assert [(c.shot, c.change) for c in plan.score.cues] == [("s05", "enter"), ("s09", "enter"), ("s13", "enter"),
                                                             ("s17", "enter"), ("s19", "swell")]
    # A new piece takes the mood of the shot it enters in; other cues carry none.
    assert all((c.mood is not None) == (c.change == "enter") for c in plan.score.cues)
    # The schema sent names the cast's ids as the only values a shot may reference.
    schema = llm.requests[2]["response_format"]["json_schema"]["schema"]
    assert schema["$defs"]["ShotSpec"]["properties"]["characters"]["items"]["enum"] == ["mara", "tomas"]
    assert schema["properties"]["shots"]["minItems"] == schema["properties"]["shots"]["maxItems"] == 8


def test_every_request_carries_the_plans_seed_and_another_seed_asks_again(tmp_path):
    # Servers that honour `seed` (llama.cpp, vLLM) then answer the same request the same way.
    llm = FakeLLM()
    planner = LLMPlanner({"base_url": llm.url, "model": "test-model", "retries": 1}, http_client=llm.client())
    plan = planner.plan(ScriptRequest(sentence="a baker's journey to the sea", shots=3, seed=7, workdir=tmp_path))
    assert plan.seed == 7 and {r["seed"] for r in llm.requests} == {7}
    asked = len(llm.requests)
    planner.plan(ScriptRequest(sentence="a baker's journey to the sea", shots=3, seed=2**40 + 8, workdir=tmp_path))
    # The seed is part of what is asked, so the cached answers for seed 7 do not stand in for
    # another; a seed past 32 bits is sent as its low 32 bits, which every server takes.
    assert {r["seed"] for r in llm.requests[asked:]} == {8} and len(llm.requests) == 2 * asked


def break_movement(answer):
    answer["shots"][2]["camera"]["movement"] = "zoomy"


def test_invalid_then_valid_sends_the_error_back(tmp_path):
    llm = FakeLLM([Fault("ShotBatch", mutate=break_movement)])
    plan = plan_with(llm, tmp_path, shots=8)
    assert llm.stages() == ["Outline", "PreShots", "ShotBatch", "ShotBatch"]
    repair = repair_messages(llm.requests[3])
    assert len(repair) == 1 and "shots[2].camera.movement" in repair[0] and "zoomy" not in plan.model_dump_json()
    # The model sees its own broken answer before the correction request.
    assert '"zoomy"' in llm.requests[3]["messages"][2]["content"]


def test_words_no_shot_could_hold_or_with_nothing_to_say_are_repaired(tmp_path):
    def overlong(answer):
        answer["shots"][1]["narration"] = " ".join(["word"] * 160)
        answer["shots"][2]["dialogue"] = [{"speaker": answer["shots"][2]["characters"][0], "text": "..."}]

    llm = FakeLLM([Fault("ShotBatch", mutate=overlong)])
    plan = plan_with(llm, tmp_path, shots=6)
    repair = repair_messages(llm.requests[-1])[0]
    assert "shots[1].narration: the words take longer than a shot may last" in repair
    assert "shots[2].dialogue[0].text: has no word to say" in repair
    assert all(shot.duration <= 60 for shot in plan.shots)


def test_unknown_character_id_is_repaired(tmp_path):
    def intruder(answer):
        answer["shots"][0]["characters"] = ["ghost"]

    llm = FakeLLM([Fault("ShotBatch", mutate=intruder)])
    plan = plan_with(llm, tmp_path, shots=4)
    repair = repair_messages(llm.requests[-1])
    assert "shots[0].characters[0]" in repair[0] and "'mara'" in repair[0]
    assert {c for s in plan.shots for c in s.characters} <= {"mara", "tomas"}


def test_wrong_number_of_pre_shot_sentences_is_repaired(tmp_path):
    llm = FakeLLM([Fault("PreShots", mutate=lambda a: a["sentences"].pop())])
    plan = plan_with(llm, tmp_path, shots=6)
    assert llm.stages()[:3] == ["Outline", "PreShots", "PreShots"]
    assert "at least 6 items" in repair_messages(llm.requests[2])[0]
    assert len(plan.shots) == 6


def test_semantic_problems_are_repaired(tmp_path):
    def recolour_and_overlap(answer):
        answer["shots"][0].update(characters=["mara"], character="Mara with short blonde hair laughing")
        answer["shots"][1].update(duration=1.5, transition={"type": "dissolve", "duration": 1.0})

    llm = FakeLLM([Fault("ShotBatch", mutate=recolour_and_overlap)])
    plan = plan_with(llm, tmp_path, shots=3)
    repair = repair_messages(llm.requests[-1])[0]
    assert "shots[0].character: says blonde hair but mara's appearance is" in repair
    assert "shots[1].transition.duration: at most half the shot's duration (0.75 s)" in repair
    assert "blonde" not in plan.shots[0].character


def test_what_has_one_right_value_is_set_not_asked(tmp_path):
    def sloppy(answer):
        answer["shots"][0]["transition"] = {"type": "cut", "duration": 0.5}
        answer["shots"][-1]["transition"] = {"type": "dissolve", "duration": 0.5}

    llm = FakeLLM([Fault("ShotBatch", mutate=sloppy)])
    plan = plan_with(llm, tmp_path, shots=3)
    assert llm.stages() == ["Outline", "PreShots", "ShotBatch"]  # no repair round
    assert plan.shots[0].transition.duration == 0 and plan.shots[-1].transition.type == "cut"
    assert plan_errors(plan, 24) == []


def test_truncated_answer_splits_the_batch(tmp_path):
    llm = FakeLLM([Fault("ShotBatch", truncate=True)])
    plan = plan_with(llm, tmp_path, shots=8)
    prompts = [r["messages"][1]["content"] for r in llm.requests if r["response_format"]["json_schema"]["schema"]["title"] == "ShotBatch"]
    assert ["shots 1 to 8 of 8" in prompts[0], "shots 1 to 4 of 8" in prompts[1], "shots 5 to 8 of 8" in prompts[2]] == [True] * 3
    assert len(plan.shots) == 8


def test_a_truncated_outline_is_a_one_line_error(tmp_path):
    llm = FakeLLM([Fault("Outline", truncate=True)])
    with pytest.raises(PlanningError) as error:
        plan_with(llm, tmp_path, shots=2)
    assert str(error.value).startswith("the model's answer for the outline was cut off at its token limit")


def test_429_is_retried_by_the_client(tmp_path):
    llm = FakeLLM([Fault("Outline", status=429, headers={"retry-after-ms": "20"}, message="slow down")])
    plan = plan_with(llm, tmp_path, shots=2)
    assert llm.stages()[:2] == ["Outline", "Outline"]
    assert len(plan.shots) == 2


def test_persistent_500_is_a_one_line_error(tmp_path):
    faults = [Fault("Outline", status=500, headers={"retry-after-ms": "10"}, message="CUDA error: out of memory") for _ in range(2)]
    llm = FakeLLM(faults)
    with pytest.raises(PlanningError) as error:
        plan_with(llm, tmp_path, shots=2)
    assert len(llm.requests) == 2  # one try plus one retry
    assert str(error.value) == f"the LLM server at {llm.url} answered HTTP 500 after 2 attempts: CUDA error: out of memory"


def test_a_stalled_server_times_out_with_a_clear_error(tmp_path):
    llm = FakeLLM([Fault("Outline", timeout=True), Fault("Outline", timeout=True)])
    with pytest.raises(PlanningError, match=r"did not answer within 0.3 s \(2 attempts\)"):
        plan_with(llm, tmp_path, shots=2, timeout=0.3)
    assert llm.stages() == ["Outline", "Outline"]  # one try plus one retry
    # The setting reaches the transport, which is what times a real server out.
    assert [t["read"] for t in llm.timeouts] == [0.3, 0.3]


def test_repairs_run_out_with_the_last_problem_and_answers_kept(tmp_path):
    faults = [Fault("ShotBatch", mutate=break_movement) for _ in range(3)]
    llm = FakeLLM(faults)
    with pytest.raises(PlanningError) as error:
        plan_with(llm, tmp_path, shots=4, repairs=2)
    message = str(error.value)
    assert "no valid shots 1-4 after 2 repairs" in message and "shots[2].camera.movement" in message
    assert str(tmp_path / ".scenegen" / "llm") in message
    # Outline, pre-shots and the three failed batch answers are all on disk.
    assert len(list((tmp_path / ".scenegen" / "llm").glob("*.json"))) == 5


def test_a_rerun_replays_cached_answers_and_pays_only_for_the_rest(tmp_path):
    faults = [Fault("ShotBatch", mutate=break_movement) for _ in range(2)]
    llm = FakeLLM(faults)
    with pytest.raises(PlanningError):
        plan_with(llm, tmp_path, shots=4, repairs=1)
    llm = FakeLLM()
    plan_with(llm, tmp_path, shots=4, repairs=2)
    # Outline, pre-shots and the two broken answers came from the cache; only the
    # second repair (never asked before) reached the server.
    assert llm.stages() == ["ShotBatch"]
    assert len(repair_messages(llm.requests[0])) == 2
    llm = FakeLLM()
    plan_with(llm, tmp_path, shots=4, repairs=2)
    assert llm.requests == []


def test_auto_mode_falls_back_to_json_mode_like_llama_cpp(tmp_path):
    llm = FakeLLM(reject_json_schema=True)
    plan = plan_with(llm, tmp_path, shots=3)
    formats = [r["response_format"]["type"] for r in llm.requests]
    # The rejected strict request (and the SDK's one retry of it), then JSON mode for good.
    assert formats == ["json_schema"] * 2 + ["json_object"] * 3
    assert "title" in llm.requests[2]["response_format"]["schema"]["properties"]
    assert len(plan.shots) == 3


def test_story_through_the_llm_path_makes_the_film(tmp_path):
    llm = FakeLLM()
    with llm.serve() as url:
        result = scenegen("story", "a woman's life", "--shots", "30", "--llm-base-url", url, "--llm-model", "test-model",
                          "--out", str(tmp_path / "run"), *SMALL)
    assert result.returncode == 0, result.stderr
    assert f"Planned 30 shots with the LLM planner (test-model at {url})" in result.stdout
    plan = json.loads((tmp_path / "run" / "plan.json").read_text())
    assert len(plan["shots"]) == 30 and plan["title"] == "The Sea at Last"
    assert (tmp_path / "run" / "film.mp4").is_file()
    # 30 shots: outline, pre-shots and four batches of at most eight.
    assert llm.stages() == ["Outline", "PreShots"] + ["ShotBatch"] * 4


def test_cli_errors_are_one_line(tmp_path):
    with FakeLLM([Fault("Outline", status=500, headers={"retry-after-ms": "10"}) for _ in range(4)]).serve() as url:
        result = scenegen("plan", "x", "-o", str(tmp_path / "p.json"), "--llm-base-url", url,
                          "--llm-model", "m", "--llm-retries", "3")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "HTTP 500 after 4 attempts" in result.stderr
    assert not (tmp_path / "p.json").exists()
    start = time.monotonic()
    result = scenegen("plan", "x", "-o", str(tmp_path / "p.json"), "--llm-base-url", "http://127.0.0.1:9/v1",
                      "--llm-model", "m", "--llm-retries", "0")
    assert result.returncode == 1 and "cannot connect to the LLM server at http://127.0.0.1:9/v1" in result.stderr
    assert time.monotonic() - start < 30
    result = scenegen("plan", "x", "-o", str(tmp_path / "p.json"), "--llm-base-url", "http://127.0.0.1:9/v1")
    assert result.returncode == 2 and "--llm-model" in result.stderr


def test_a_raw_line_break_inside_a_string_is_read_not_refused():
    """JSON modes without a grammar write raw line breaks inside strings (Gemma 3 270M on
    llama.cpp did); strict JSON refuses them, the planner reads them."""
    from scenegen.modules.script.llm import _parse, _pre_shots_model

    answer, problem = _parse(_pre_shots_model(1), '{"sentences": ["She wakes.\nThe sea is loud."]}', lambda a: [])
    assert problem == "" and answer.sentences == ["She wakes.\nThe sea is loud."]
    assert _parse(_pre_shots_model(1), '{"sentences": [', lambda a: [])[1].startswith("the answer is not valid JSON")
