"""The other commands: status, redo, schema, plan; plugins; what importing the CLI costs."""

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scenegen.schemas.files import load_plan

from support.runs import SMALL, edit_plan, scenegen


def test_schema_prints_the_plan_json_schema(cli):
    result = cli("schema")
    schema = json.loads(result.stdout)
    assert schema["title"] == "StoryPlan"
    assert {"title", "logline", "style", "characters", "shots"} <= set(schema["properties"])
    shot = schema["$defs"]["Shot"]["properties"]
    assert {"character", "background", "relation", "camera", "lighting", "context"} <= set(shot)
    camera = schema["$defs"]["CameraPose"]["properties"]
    assert {"shot_size", "angle", "movement", "movement_amount", "fov_deg", "text"} <= set(camera)
    lighting = schema["$defs"]["Lighting"]["properties"]
    assert {"time_of_day", "key_light", "color_temperature_k", "contrast", "mood", "text"} <= set(lighting)


def test_status_reports_done_then_stale_after_an_edit(small_run, cli):
    result = cli("status", str(small_run.root))
    assert result.exit_code == 0
    assert "Everything is up to date" in result.stdout
    edit_plan(small_run, lambda p: p["shots"][1]["camera"].update(movement="zoom_in"))
    result = cli("status", str(small_run.root))
    shot = load_plan(small_run.plan, 12).shots[1].id
    assert f"stale    clip:{shot}" in result.stdout
    assert "stale    film" in result.stdout
    assert f"keyframe:{shot}" not in result.stdout
    assert "will compute these" in result.stdout


def test_redo_takes_a_new_seed_and_can_go_back(small_run, cli):
    shot = load_plan(small_run.plan, 12).shots[2]
    keyframe_before = sorted((small_run.root / "artifacts" / "keyframe").glob(f"{shot.id}-*"))
    result = cli("redo", str(small_run.root), "--shot", "3")
    assert result.exit_code == 0, result.output
    assert f"Shot 3 ({shot.id}): take 0 (seed none) -> take 1 (seed 1)" in result.stdout
    assert load_plan(small_run.plan, 12).shots[2].seed == 1
    assert f"keyframe:{shot.id}" in result.stdout and f"clip:{shot.id}" in result.stdout
    assert len(sorted((small_run.root / "artifacts" / "keyframe").glob(f"{shot.id}-*"))) == len(keyframe_before) + 1
    # Every take stays in the run directory: going back to one recomputes nothing of that shot.
    cli("redo", str(small_run.root), "--shot", shot.id, "--seed", "7")
    result = cli("redo", str(small_run.root), "--shot", shot.id, "--seed", "1")
    assert f"keyframe:{shot.id}" not in result.stdout and f"clip:{shot.id}" not in result.stdout


def test_redo_names_a_missing_shot(small_run, cli):
    result = cli("redo", str(small_run.root), "--shot", "99")
    assert result.exit_code == 2
    assert "--shot '99'" in result.output


def test_plan_then_render_a_plan_file(tmp_path):
    plan = tmp_path / "idea.json"
    assert scenegen("plan", "a boy's life at sea", "--shots", "4", "-o", str(plan)).returncode == 0
    assert len(json.loads(plan.read_text())["shots"]) == 4
    result = scenegen("render", str(plan), *SMALL)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "idea" / "film.mp4").is_file()


def test_importing_the_cli_imports_no_torch_and_no_backend():
    code = "import sys, scenegen.cli; print(sorted(m for m in ('torch', 'numpy', 'av', 'networkx', 'scenegen.modules') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_each_command_only_parses_calls_and_prints():
    # A command past about 20 lines holds logic that belongs in the Run API below it.
    cli = ast.parse((Path(__file__).parent.parent / "scenegen" / "cli.py").read_text())
    commands = [node for node in cli.body if isinstance(node, ast.FunctionDef)
                and any("app.command" in ast.unparse(decorator) for decorator in node.decorator_list)]
    lengths = {}
    for command in commands:
        body = command.body[1:] if ast.get_docstring(command) else command.body
        lengths[command.name] = body[-1].end_lineno - body[0].lineno + 1
    assert len(lengths) >= 8 and {name: n for name, n in lengths.items() if n > 20} == {}


def test_an_offline_story_runs_with_torch_made_unimportable(tmp_path):
    # Even where torch is installed, the offline path must never reach for it.
    code = textwrap.dedent(f"""
        import sys
        class NoTorch:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("torch", "diffusers", "transformers"):
                    raise ImportError("the offline path imported " + name)
        sys.meta_path.insert(0, NoTorch())
        sys.argv = ["scenegen", "story", "a woman's life", "--shots", "3", "--out", {str(tmp_path / "run")!r},
                    "--size", "160x96", "--fps", "12"]
        from scenegen.cli import main
        main()
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run" / "film.mp4").is_file()


def test_a_failing_node_spares_its_siblings_and_is_retried(tmp_path):
    """A keyframe backend installed as a plugin (a real entry point) fails one shot."""
    plugin = tmp_path / "plugin"
    (plugin / "flaky_plugin-1.0.dist-info").mkdir(parents=True)
    (plugin / "flaky_plugin-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: flaky-plugin\nVersion: 1.0\n")
    (plugin / "flaky_plugin-1.0.dist-info" / "entry_points.txt").write_text(
        "[scenegen.backends]\nkeyframe.flaky = flaky_keyframe:FlakyKeyframe\n")
    (plugin / "flaky_keyframe.py").write_text(textwrap.dedent("""
        from scenegen.modules.keyframe.animatic import AnimaticKeyframe

        class FlakyKeyframe(AnimaticKeyframe):
            name = "flaky"

            def run(self, job):
                if "FAIL" in job.params["background"]:
                    raise RuntimeError("the model ran out of memory")
                super().run(job)
    """))
    env_path = str(plugin)
    run = tmp_path / "run"
    assert scenegen("plan", "a woman's life", "--shots", "5", "-o", str(tmp_path / "plan.json")).returncode == 0
    run.mkdir()
    plan = json.loads((tmp_path / "plan.json").read_text())
    plan["shots"][3]["background"] = "FAIL here."
    (run / "plan.json").write_text(json.dumps(plan))
    (run / "settings.json").write_text(json.dumps({"output": {"width": 160, "height": 96, "fps": 12},
                                                   "backends": {"keyframe": {"name": "flaky"}}}))

    def cli(*args):
        import os
        env = {**os.environ, "PYTHONPATH": env_path + os.pathsep + os.environ.get("PYTHONPATH", "")}
        return subprocess.run([sys.executable, "-m", "scenegen", *args], capture_output=True, text=True, env=env)

    result = cli("render", str(run))
    failed = f"keyframe:{plan['shots'][3]['id']}"
    assert result.returncode == 1
    assert f"failed: {failed}: RuntimeError: the model ran out of memory" in result.stderr
    states = cli("status", str(run)).stdout
    assert f"failed   {failed}  RuntimeError: the model ran out of memory" in states
    for other in (0, 1, 2, 4):
        assert f"keyframe:{plan['shots'][other]['id']}" not in states  # the siblings finished
        assert f"clip:{plan['shots'][other]['id']}" not in states
    assert not (run / "film.mp4").exists()

    plan["shots"][3]["background"] = "Fixed."
    (run / "plan.json").write_text(json.dumps(plan))
    result = cli("render", str(run))
    assert result.returncode == 0, result.stderr
    assert (run / "film.mp4").is_file()


def test_unknown_backend_names_what_is_installed(small_run):
    settings = json.loads(small_run.settings.read_text())
    settings["backends"]["clip"] = {"name": "sora"}
    small_run.settings.write_text(json.dumps(settings))
    result = scenegen("render", str(small_run.root))
    assert result.returncode == 2
    assert "no clip backend named 'sora'; installed: animatic" in result.stderr


def test_status_notices_a_removed_export_and_render_brings_it_back(small_run, cli):
    (small_run.root / "film.mp4").unlink()
    result = cli("status", str(small_run.root))
    assert "Everything is up to date" not in result.output
    assert "missing  film  film.mp4 was removed; render copies it back" in result.output
    result = cli("render", str(small_run.root))
    assert result.exit_code == 0 and (small_run.root / "film.mp4").is_file()
    assert "Everything is up to date" in cli("status", str(small_run.root)).output


@pytest.mark.parametrize("sentence, folder", [("一个女人的一生", "一个女人的一生"), ("Amélie's Paris!", "amélie-s-paris"),
                                              ("???", "film"), ("a woman's life", "a-woman-s-life")])
def test_a_sentence_in_any_script_names_a_readable_folder(sentence, folder):
    from scenegen.orchestrator.run import slug as _slug

    assert _slug(sentence) == folder


@pytest.mark.parametrize("case", ["empty sentence", "out is a file", "planner fails"])
def test_a_story_that_cannot_start_leaves_nothing_behind(tmp_path, case):
    out = tmp_path / "run"
    args = ["story", "a woman's life", "--shots", "2", "--out", str(out)]
    if case == "empty sentence":
        args[1] = "   "
    elif case == "out is a file":
        out.write_text("mine")
    else:  # an LLM server that is not there: the plan cannot be written
        args += ["--llm-base-url", "http://127.0.0.1:9/v1", "--llm-model", "m", "--llm-retries", "0", "--llm-timeout", "2"]
    result = scenegen(*args)
    # A mistake in the input exits 2; a server that cannot be reached is not one, and exits 1.
    assert result.returncode == (1 if case == "planner fails" else 2), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert (out.read_text() == "mine") if case == "out is a file" else not out.exists()


def test_piped_output_says_each_stage_as_it_finishes(tmp_path):
    result = scenegen("story", "a woman's life", "--shots", "3", "--out", str(tmp_path / "run"), *SMALL)
    assert result.returncode == 0, result.stderr
    lines = [line.split(":")[0] for line in result.stderr.splitlines() if " done (" in line]
    assert set(lines) >= {"portrait", "keyframe", "clip", "segment", "film", "storyboard", "captions"}
    assert lines.index("portrait") < lines.index("keyframe") < lines.index("clip") < lines.index("film")
    assert len(lines) == len(set(lines)), "one line per stage"


def test_help_texts_render_as_written():
    text = " ".join(scenegen("story", "--help").stdout.split())
    assert "A preset (gpu-80gb, gpu-80gb-fast, gpu-24gb) or a TOML file shaped like settings.json" in text
    assert "tests/" not in text


def test_writes_keep_the_users_symlink_and_mode(small_run, cli, tmp_path):
    import os
    import stat

    # plan.json a link to the user's own file, kept elsewhere and group-writable.
    mine = tmp_path / "mine.json"
    mine.write_bytes(small_run.plan.read_bytes())
    os.chmod(mine, 0o664)
    small_run.plan.unlink()
    small_run.plan.symlink_to(mine)
    result = cli("redo", str(small_run.root), "--shot", "2")
    assert result.exit_code == 0, result.output
    assert small_run.plan.is_symlink() and small_run.plan.resolve() == mine
    assert '"seed": 1' in mine.read_text() and stat.S_IMODE(mine.stat().st_mode) == 0o664

    from scenegen.atomic import UMASK, write_atomic

    write_atomic(tmp_path / "new.txt", "x")
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o666 & ~UMASK
