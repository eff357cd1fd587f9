"""Promises a demanding user broke on main 0e8fb21 (issue 27's reliability findings), each kept now.

Every test here failed before its fix.
"""

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading

import pytest

from scenegen.orchestrator.render import status

from support.runs import SMALL, edit_plan

EXPORTS = ("film.mp4", "shots.srt", "storyboard.html", "timeline.otio")


@pytest.fixture
def three_shots(tmp_path, cli):
    """A rendered 3-shot run: every node kind, in a few seconds."""
    from scenegen.orchestrator.store import RunDir

    result = cli("story", "a woman's life", "--shots", "3", "--out", str(tmp_path / "run"), *SMALL)
    assert result.exit_code == 0, result.output
    return RunDir(tmp_path / "run")


def test_exports_left_from_before_an_edit_are_not_up_to_date(three_shots, cli, tmp_path):
    run = three_shots
    before = tmp_path / "before"
    before.mkdir()
    for name in EXPORTS:
        shutil.copy2(run.root / name, before / name)
    edit_plan(run, lambda plan: plan["shots"][0].update(context="Childhood. Sofia burns her first loaf."))
    assert cli("render", str(run.root)).exit_code == 0
    # What `kill -9` leaves while the finished files are copied out: every artifact and record
    # of the edit, and the exports not yet copied still those of before.
    for name in EXPORTS:
        assert (run.root / name).read_bytes() != (before / name).read_bytes(), name
        shutil.copy2(before / name, run.root / name)
    result = cli("status", str(run.root))
    assert "Everything is up to date" not in result.output
    for name in EXPORTS:
        assert f"{name} is an earlier render's" in result.output
    assert cli("render", str(run.root)).exit_code == 0
    assert all(s.state == "done" for s in status(run))


def test_one_run_rendered_from_two_threads_records_only_bytes_it_hashed(three_shots, tmp_path):
    from scenegen.errors import UserError
    from scenegen.orchestrator.run import Run
    from scenegen.orchestrator.store import file_sha256

    from support.runs import fresh_copy

    run = Run(fresh_copy(three_shots, tmp_path / "shared").root)
    start = threading.Barrier(2)
    outcomes = []

    def render():
        start.wait()
        try:
            outcomes.append(run.render())
        except UserError as e:
            outcomes.append(e)

    threads = [threading.Thread(target=render) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Safe across threads, or the second render refused: never two renders writing the same temp files.
    for outcome in outcomes:
        if isinstance(outcome, UserError):
            assert "another thread of this process is rendering this run" in str(outcome)
        else:
            assert outcome.ok, outcome.failed
    assert run.render().ok
    for s in status(run.dir):
        assert s.state == "done", (s.node.id, s.state, s.error)
        assert file_sha256(run.root / s.record.artifact) == s.record.sha256, s.node.id
    assert (run.root / "film.mp4").read_bytes() == (three_shots.root / "film.mp4").read_bytes()


KILLED_AT_A_RENAME = """
import os, signal, sys
from scenegen.cli import main
n, rename, renames = int(sys.argv[1]), os.replace, []
def replace_or_die(*args, **kwargs):
    renames.append(args)
    if len(renames) == n:  # a rename is the moment a file appears: kill -9 just before this one
        os.kill(os.getpid(), signal.SIGKILL)
    return rename(*args, **kwargs)
os.replace = replace_or_die
sys.argv = ["scenegen", *sys.argv[2:]]
main()
"""


@pytest.mark.parametrize("renames_done", range(5))
def test_the_same_story_resumes_after_a_kill_between_its_first_writes(three_shots, tmp_path, renames_done):
    from support.runs import scenegen

    story = ["story", "a woman's life", "--shots", "3", "--out", str(tmp_path / "again"), *SMALL]
    killed = subprocess.run([sys.executable, "-c", KILLED_AT_A_RENAME, str(renames_done + 1), *story],
                            capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    result = scenegen(*story)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "again" / "film.mp4").read_bytes() == (three_shots.root / "film.mp4").read_bytes()


def one_line_error(result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def test_plan_o_keeps_a_plan_schema_of_the_users(cli, tmp_path):
    theirs = tmp_path / "plan.schema.json"
    theirs.write_text('{"title": "my own schema"}')
    one_line_error(cli("plan", "a woman's life", "--shots", "3", "-o", str(tmp_path / "idea.json")),
                   f"{theirs}: not written by scenegen", "--force")
    assert theirs.read_text() == '{"title": "my own schema"}' and not (tmp_path / "idea.json").exists()
    assert cli("plan", "a woman's life", "--shots", "3", "-o", str(tmp_path / "idea.json"), "--force").exit_code == 0
    # A schema scenegen wrote is its own to replace.
    assert cli("plan", "a woman's life", "--shots", "3", "-o", str(tmp_path / "other.json")).exit_code == 0


@pytest.mark.parametrize("name", EXPORTS)
def test_story_out_keeps_the_users_own_files(cli, tmp_path, name):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / name).write_bytes(b"my own")
    story = ["story", "a woman's life", "--shots", "3", "--out", str(folder), *SMALL]
    one_line_error(cli(*story), f"{folder / name}: not written by scenegen", "--force")
    assert sorted(p.name for p in folder.iterdir()) == [name] and (folder / name).read_bytes() == b"my own"
    assert cli(*story, "--force").exit_code == 0
    assert (folder / name).read_bytes() != b"my own"


def test_render_of_a_folder_that_holds_only_a_plan_keeps_the_users_own_files(cli, tmp_path):
    assert cli("plan", "a woman's life", "--shots", "3", "-o", str(tmp_path / "plan.json")).exit_code == 0
    (tmp_path / "film.mp4").write_bytes(b"my own film")
    one_line_error(cli("render", str(tmp_path), *SMALL), f"{tmp_path / 'film.mp4'}: not written by scenegen",
                   "move it away")
    assert (tmp_path / "film.mp4").read_bytes() == b"my own film" and not (tmp_path / ".scenegen").exists()


def test_render_of_a_plan_file_keeps_the_users_own_files(cli, tmp_path):
    assert cli("plan", "a woman's life", "--shots", "3", "-o", str(tmp_path / "idea.json")).exit_code == 0
    (tmp_path / "idea").mkdir()
    (tmp_path / "idea" / "shots.srt").write_text("my own subtitles")
    one_line_error(cli("render", str(tmp_path / "idea.json"), *SMALL), "shots.srt: not written by scenegen")
    assert [p.name for p in (tmp_path / "idea").iterdir()] == ["shots.srt"]
    assert (tmp_path / "idea" / "shots.srt").read_text() == "my own subtitles"


def test_redo_keeps_the_users_own_schema_reference(three_shots, cli):
    edit_plan(three_shots, lambda plan: plan.update({"$schema": "https://example.org/my-plan.schema.json"}))
    assert cli("redo", str(three_shots.root), "--shot", "1").exit_code == 0
    assert json.loads(three_shots.plan.read_text())["$schema"] == "https://example.org/my-plan.schema.json"


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """A run folder holding a 3-shot plan and default settings, not rendered."""
    from typer.testing import CliRunner

    from scenegen.cli import app
    from scenegen.schemas.settings import RenderSettings

    root = tmp_path_factory.mktemp("planned")
    planned = CliRunner().invoke(app, ["plan", "a woman's life", "--shots", "3", "-o", str(root / "plan.json")])
    assert planned.exit_code == 0, planned.output
    (root / "settings.json").write_text(RenderSettings().model_dump_json(indent=2))
    return root


def copy_of(planned, tmp_path):
    shutil.copytree(planned, tmp_path / "run")
    return tmp_path / "run"


TOO_LONG = "9" * 4301   # digits: one past what Python reads as an integer


@pytest.mark.parametrize("budget, fragment", [
    ("Infinity", "device.memory_budget_gb: Input should be a finite number"),
    ('"inf"', "device.memory_budget_gb: Input should be a finite number"),
    ("1e308", "device.memory_budget_gb: Input should be less than or equal to"),
    ("1e300", "device.memory_budget_gb: Input should be less than or equal to"),
    (TOO_LONG, "holds an integer of more than 4300 digits"),
])
def test_settings_with_a_number_too_big_are_refused_in_one_line(planned, tmp_path, cli, budget, fragment):
    run = copy_of(planned, tmp_path)
    settings = json.loads((run / "settings.json").read_text())
    settings["device"]["memory_budget_gb"] = "@"
    (run / "settings.json").write_text(json.dumps(settings).replace('"@"', budget))
    one_line_error(cli("render", str(run)), f"{run / 'settings.json'}: ", fragment)


@pytest.mark.parametrize("where", ["seed", "shots.0.duration", "shots.0.camera.fov_deg", "score.cues.0.at"])
def test_a_plan_with_an_integer_too_long_to_read_is_refused_in_one_line(planned, tmp_path, cli, where):
    from support.malformed import set_path

    run = copy_of(planned, tmp_path)
    plan = json.loads((run / "plan.json").read_text())
    set_path(plan, where, "@")
    (run / "plan.json").write_text(json.dumps(plan).replace('"@"', TOO_LONG))
    one_line_error(cli("status", str(run)), f"{run / 'plan.json'}: holds an integer of more than 4300 digits")


@pytest.mark.parametrize("value", ["inf", "1e308", TOO_LONG])
def test_a_config_is_checked_before_settings_json_is_written(planned, tmp_path, cli, value):
    run = copy_of(planned, tmp_path)
    before = (run / "settings.json").read_bytes()
    (tmp_path / "huge.toml").write_text(f"[device]\nmemory_budget_gb = {value}\n")
    one_line_error(cli("render", str(run), "--config", str(tmp_path / "huge.toml")), "huge.toml")
    assert (run / "settings.json").read_bytes() == before
    assert cli("status", str(run)).exit_code == 0


def test_redo_never_writes_a_seed_too_long_to_read_back(planned, tmp_path, cli):
    run = copy_of(planned, tmp_path)
    plan = json.loads((run / "plan.json").read_text())
    plan["shots"][0]["seed"] = int("9" * 4300)
    (run / "plan.json").write_text(json.dumps(plan))
    before = (run / "plan.json").read_bytes()
    one_line_error(cli("redo", str(run), "--shot", "1"), "an integer of more than 4300 digits")
    assert (run / "plan.json").read_bytes() == before
    assert cli("status", str(run)).exit_code == 0


@pytest.mark.parametrize("command", ["status", "render"])
def test_an_unknown_backend_in_settings_json_names_the_file_and_json_path(planned, tmp_path, cli, command):
    run = copy_of(planned, tmp_path)
    settings = json.loads((run / "settings.json").read_text())
    settings["backends"]["clip"] = {"name": "sora", "settings": {}}
    (run / "settings.json").write_text(json.dumps(settings))
    one_line_error(cli(command, str(run)), f"{run / 'settings.json'}: backends.clip.name: no clip backend named 'sora'")
    # --backend is how a user puts it right: it is not refused for the name it replaces.
    assert cli("render", str(run), "--backend", "animatic", *SMALL).exit_code == 0


def test_a_caption_holding_an_srt_timing_line_stays_one_cue(three_shots, cli):
    import av

    context = "Childhood.\n00:00:01,000 --> 00:00:02,000\nSofia learns to bake bread beside Aoife."
    edit_plan(three_shots, lambda plan: plan["shots"][0].update(context=context))
    assert cli("render", str(three_shots.root)).exit_code == 0
    written = (three_shots.root / "shots.srt").read_text().split("\n\n")
    # FFmpeg reads shots.srt as a player or `ffmpeg -i shots.srt` does: as many cues as were written, all their words.
    with av.open(str(three_shots.root / "shots.srt")) as srt:
        texts = [packet.decode()[0].dialogue.decode() for packet in srt.demux(srt.streams.subtitles[0])
                 if packet.dts is not None]
    assert len(texts) == len(written)
    assert any("Childhood." in text and "Sofia learns to bake bread beside Aoife." in text for text in texts), texts


def test_redo_on_a_plan_file_answers_in_one_line_as_status_does(planned, cli):
    for command in (["status", str(planned / "plan.json")], ["redo", str(planned / "plan.json"), "--shot", "1"]):
        one_line_error(cli(*command), f"{planned / 'plan.json'}: no plan.json here")


WITHOUT_INSIGHTFACE = """
import sys
sys.modules["insightface"] = None  # what an install without the [diffusion] extra has
from scenegen.cli import main
sys.argv = ["scenegen", *sys.argv[1:]]
main()
"""


def test_eval_with_a_face_model_but_no_insightface_says_which_extra_to_install(three_shots, tmp_path):
    face_model = tmp_path / "w600k_r50.onnx"
    face_model.write_bytes(b"")
    result = subprocess.run([sys.executable, "-c", WITHOUT_INSIGHTFACE, "eval", str(three_shots.root),
                             "--face-model", str(face_model)], capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: {face_model}: a face model is read with insightface, which is not installed: "
        "pip install 'scenegen[diffusion]'"], result.stderr


# -- the filesystem says no -------------------------------------------------------------

def small_disk():
    # What a full disk does to a write, past 2 kB: fail (EFBIG, as ENOSPC would) with the kernel's own error.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))


def scenegen_in(preexec_fn, *args: str, prefix: tuple[str, ...] = ()):
    return subprocess.run([*prefix, sys.executable, "-m", "scenegen", *args], preexec_fn=preexec_fn,
                          capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})


def one_line_os_error(result, path, reason: str) -> None:
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [f"error: {path}: {reason}"], result.stderr


def test_a_full_disk_is_one_line_naming_the_file(planned, tmp_path):
    run = copy_of(planned, tmp_path)
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    story = scenegen_in(small_disk, "story", "a woman's life", "--shots", "3", "--out", str(tmp_path / "new"))
    one_line_os_error(story, tmp_path / "new" / "plan.schema.json", "File too large")
    assert not (tmp_path / "new").exists()  # a failed story leaves no folder behind
    plan = scenegen_in(small_disk, "plan", "a woman's life", "--shots", "3", "-o", str(tmp_path / "new" / "idea.json"))
    one_line_os_error(plan, tmp_path / "new" / "plan.schema.json", "File too large")
    assert not (tmp_path / "new").exists()  # nor does a failed plan -o
    (run / "plan.schema.json").unlink()
    redo = scenegen_in(small_disk, "redo", str(run), "--shot", "1")
    one_line_os_error(redo, run / "plan.schema.json", "File too large")
    (run / "plan.schema.json").write_bytes(before["plan.schema.json"])
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before  # and nothing else was touched


@pytest.mark.parametrize("command", [["story", "x", "--out", "{link}"], ["plan", "x", "-o", "{link}/plan.json"],
                                     ["render", "{plan}", "--out", "{link}"]])
def test_a_dangling_out_link_is_one_line(planned, tmp_path, cli, command):
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "gone")
    args = [arg.format(link=link, plan=planned / "plan.json") for arg in command]
    one_line_error(cli(*args), f"{link} is a link to {tmp_path / 'gone'}, which does not exist")
    assert link.is_symlink() and not (tmp_path / "gone").exists()


# Root reads and writes whatever the mode bits say; without CAP_DAC_OVERRIDE it obeys them as a user does.
AS_A_USER = ("setpriv", "--bounding-set", "-dac_override,-dac_read_search") if os.geteuid() == 0 else ()


@pytest.mark.skipif(bool(AS_A_USER) and not shutil.which("setpriv"), reason="root without setpriv ignores modes")
@pytest.mark.parametrize("command, unreadable, mode, named", [
    (["status"], "plan.json", 0o000, "plan.json"),
    (["render"], ".scenegen", 0o000, ".scenegen/tmp"),
    (["redo", "--shot", "1"], ".", 0o555, "."),
    (["render", "--size", "320x180"], ".", 0o555, "."),
])
def test_a_run_the_user_may_not_read_or_write_is_one_line(planned, tmp_path, command, unreadable, mode, named):
    run = copy_of(planned, tmp_path)
    assert scenegen_in(None, "render", str(run), *SMALL).returncode == 0
    (run / unreadable).chmod(mode)
    try:
        result = scenegen_in(None, command[0], str(run), *command[1:], prefix=AS_A_USER)
    finally:
        (run / unreadable).chmod(0o755 if (run / unreadable).is_dir() else 0o644)
    one_line_os_error(result, (run / named).resolve() if named == "." else run / named, "Permission denied")
