"""The Ray executor on a real local Ray instance with two declared (fake) GPUs."""

import json
import os
import shutil
import sys
import textwrap

import pytest

from scenegen.orchestrator.render import status
from scenegen.orchestrator.store import RunDir

from support.runs import edit_plan, rerender, scenegen

ray = pytest.importorskip("ray", reason="the ray extra is not installed: pip install -e '.[ray]'")
pytestmark = pytest.mark.ray

PLUGIN = textwrap.dedent("""
    import os

    from scenegen.modules.keyframe.animatic import AnimaticKeyframe
    from scenegen.modules.clip.animatic import AnimaticClip

    LOADS = []


    class ProbeKeyframe(AnimaticKeyframe):
        # A GPU backend in all but name: it reports where it ran and how often it loaded.
        name = "probe"
        uses_gpu = True
        thread_safe = False

        def load(self):
            LOADS.append(1)

        def run(self, job):
            super().run(job)
            return {"pid": os.getpid(), "device": os.environ.get("CUDA_VISIBLE_DEVICES"), "loads": len(LOADS)}


    class CrashingClip(AnimaticClip):
        # Kills its own worker process the first time it runs (a marker file says it did).
        name = "crashing"

        def run(self, job):
            marker = job.root / "crashed-once"
            if not marker.exists():
                marker.touch()
                os._exit(1)
            return super().run(job)
""")


def test_render_with_the_ray_executor_matches_in_process(small_run, tmp_path):
    run = RunDir(tmp_path / "ray-run")
    run.root.mkdir()
    for name in ("plan.json", "settings.json"):
        shutil.copy(small_run.root / name, run.root / name)
    result = scenegen("render", str(run.root), "--executor", "ray")
    assert result.returncode == 0, result.stderr
    ours = {p.relative_to(run.root): p.read_bytes() for p in (run.root / "artifacts").rglob("*") if p.is_file()}
    theirs = {p.relative_to(small_run.root): p.read_bytes() for p in (small_run.root / "artifacts").rglob("*") if p.is_file()}
    assert ours == theirs
    assert (run.root / "film.mp4").read_bytes() == (small_run.root / "film.mp4").read_bytes()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    plugin = tmp_path_factory.mktemp("plugin")
    (plugin / "probe_plugin-1.0.dist-info").mkdir()
    (plugin / "probe_plugin-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: probe-plugin\nVersion: 1.0\n")
    (plugin / "probe_plugin-1.0.dist-info" / "entry_points.txt").write_text(
        "[scenegen.backends]\nkeyframe.probe = probe_backends:ProbeKeyframe\nclip.crashing = probe_backends:CrashingClip\n")
    (plugin / "probe_backends.py").write_text(PLUGIN)
    # Ray's workers inherit the environment: they find the plugin the way the driver does.
    os.environ["PYTHONPATH"] = os.pathsep.join([str(plugin), os.environ.get("PYTHONPATH", "")])
    sys.path.insert(0, str(plugin))
    from scenegen.orchestrator import registry

    registry._registered.cache_clear()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def render_with_ray(run: RunDir):
    from scenegen.executors.ray_cluster import RayExecutor

    return rerender(run, RayExecutor(workers=2))


def with_backends(small_run, tmp_path, **backends) -> RunDir:
    run = RunDir(tmp_path / "ray-run")
    run.root.mkdir()
    shutil.copy(small_run.plan, run.plan)
    settings = json.loads(small_run.settings.read_text())
    settings["backends"] |= {kind: {"name": name, "settings": {}} for kind, name in backends.items()}
    run.settings.write_text(json.dumps(settings))
    return run


def test_one_gpu_per_actor_and_each_actor_loads_once(cluster, small_run, tmp_path):
    run = with_backends(small_run, tmp_path, keyframe="probe")
    report = render_with_ray(run)
    assert report.ok
    facts = [s.record.facts for s in status(run) if s.node.kind == "keyframe"]
    assert len(facts) == 6
    devices = {f["pid"]: f["device"] for f in facts}
    # Two GPUs, two actors, each owning one GPU; both served several keyframes.
    assert sorted(devices.values()) == ["0", "1"]
    assert all(f["loads"] == 1 for f in facts), "an actor loaded its backend more than once"


def test_a_worker_killed_mid_run_does_not_stop_the_run(cluster, small_run, tmp_path):
    run = with_backends(small_run, tmp_path, clip="crashing")
    report = render_with_ray(run)
    assert (run.root / "crashed-once").exists(), "no worker died: the test tested nothing"
    assert report.ok and (run.root / "film.mp4").is_file()
    assert all(s.state == "done" for s in status(run))


@pytest.mark.timeout(180)
def test_a_stage_ready_before_its_upstream_stage_does_not_starve_it(cluster, small_run, tmp_path):
    # With no one in the first shot, its keyframe is ready before any portrait exists; the keyframe
    # stage must not hold the cluster's CPUs while the portraits it waits for cannot start.
    run = with_backends(small_run, tmp_path)
    edit_plan(run, lambda plan: plan["shots"][0].update(characters=[], ages={}))
    report = render_with_ray(run)
    assert report.ok and all(s.state == "done" for s in status(run))


def test_unknown_executor_and_address_without_ray_are_one_line_errors(small_run):
    result = scenegen("render", str(small_run.root), "--executor", "slurm")
    assert result.returncode == 2 and "no such executor; installed: inprocess, ray" in result.stderr
    result = scenegen("render", str(small_run.root), "--address", "auto")
    assert result.returncode == 2 and "use it with --executor ray" in result.stderr
