"""A malformed plan gets one line naming the file and the JSON path, exit code 2, and
the file stays exactly as it was."""

import json

import pytest

from support.runs import edit_plan, scenegen


def set_path(plan: dict, path: list, value) -> None:
    target = plan
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


CASES = [
    # (what is wrong, how to break the plan, what the message must name)
    ("wrong type", lambda p: set_path(p, ["shots", 1, "duration"], "long"), "shots[1].duration"),
    ("unknown enum value", lambda p: set_path(p, ["shots", 2, "camera", "movement"], "zoomy"), "shots[2].camera.movement"),
    ("unknown character id", lambda p: set_path(p, ["shots", 0, "characters"], ["nobody"]), "shots[0].characters[0]"),
    ("id with a slash", lambda p: set_path(p, ["shots", 3, "id"], "a/b"), "shots[3].id"),
    ("id with dots", lambda p: set_path(p, ["characters", 0, "id"], ".."), "characters[0].id"),
    ("duplicate shot id", lambda p: set_path(p, ["shots", 1, "id"], p["shots"][0]["id"]), "shots[1].id"),
    ("missing field", lambda p: p["shots"][4].pop("lighting"), "shots[4].lighting"),
    ("unknown field", lambda p: set_path(p, ["shots", 0, "colour"], "red"), "shots[0].colour"),
    ("negative duration", lambda p: set_path(p, ["shots", 5, "duration"], -3), "shots[5].duration"),
    ("transition longer than the shot", lambda p: p["shots"][0].update(duration=1.0, transition={"type": "dissolve", "duration": 2.0}),
     "shots[0].transition.duration"),
    ("index out of order", lambda p: set_path(p, ["shots", 2, "index"], 9), "shots[2].index"),
    ("unknown location id", lambda p: set_path(p, ["shots", 3, "location"], "nowhere"), "shots[3].location"),
    ("shot with no location", lambda p: p["shots"][1].pop("location"), "shots[1].location"),
]


@pytest.mark.parametrize("what, breaker, path", CASES, ids=[c[0] for c in CASES])
def test_schema_and_reference_errors(small_run, what, breaker, path):
    edit_plan(small_run, breaker)
    before = small_run.plan.read_bytes()
    for command in (["render", str(small_run.root)], ["status", str(small_run.root)]):
        result = scenegen(*command)
        assert result.returncode == 2, (what, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert str(small_run.plan) in lines[0] and path in lines[0], lines[0]
        assert "Traceback" not in result.stderr
    assert small_run.plan.read_bytes() == before


@pytest.mark.parametrize("content, expected", [
    (b'{"title": "x", "shots": [', "not valid JSON at line 1"),
    (b"\xff\xfe not text", "not UTF-8"),
    (b"[1, 2, 3]", "(top level)"),
])
def test_unreadable_files(small_run, content, expected):
    small_run.plan.write_bytes(content)
    result = scenegen("render", str(small_run.root))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert expected in result.stderr and str(small_run.plan) in result.stderr
    assert small_run.plan.read_bytes() == content


def test_bad_options_are_one_line_errors(tmp_path):
    result = scenegen("story", "x", "--size", "640by360", "--out", str(tmp_path / "r"))
    assert result.returncode == 2 and "--size" in result.stderr and "Traceback" not in result.stderr
    result = scenegen("story", "x", "--size", "641x360", "--out", str(tmp_path / "r2"))
    assert result.returncode == 2 and "width" in result.stderr and "even" in result.stderr
    result = scenegen("render", str(tmp_path / "nowhere"))
    assert result.returncode == 2 and "no such file or directory" in result.stderr


def test_story_never_overwrites_a_plan(small_run):
    before = small_run.plan.read_bytes()
    result = scenegen("story", "something else", "--out", str(small_run.root))
    assert result.returncode == 2 and "already holds a plan" in result.stderr
    assert small_run.plan.read_bytes() == before


def test_plan_command_refuses_to_overwrite(tmp_path):
    target = tmp_path / "mine.json"
    target.write_text("{}")
    result = scenegen("plan", "a quest for fire", "-o", str(target))
    assert result.returncode == 2 and "--force" in result.stderr
    assert target.read_text() == "{}"


def test_a_plan_file_edited_inside_its_run_is_not_replaced(tmp_path):
    source = tmp_path / "idea.json"
    assert scenegen("plan", "a quest for fire", "--shots", "3", "-o", str(source)).returncode == 0
    assert scenegen("render", str(source), "--size", "160x96", "--fps", "12").returncode == 0
    run_plan = tmp_path / "idea" / "plan.json"
    assert run_plan.read_bytes() == source.read_bytes()
    # Edited in the run directory, then the source changes too: neither may be lost.
    edit_plan(type("Run", (), {"plan": run_plan})(), lambda p: p.update(title="Edited in the run"))
    edit_plan(type("Run", (), {"plan": source})(), lambda p: p.update(title="Edited at the source"))
    edited = run_plan.read_bytes()
    result = scenegen("render", str(source))
    assert result.returncode == 2 and "edited in place" in result.stderr
    assert run_plan.read_bytes() == edited
    assert json.loads(source.read_text())["title"] == "Edited at the source"
