"""Backends and executors by name: the built-ins from the checkout itself, plugins through entry points."""

import importlib
import json
import os
import pkgutil
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

import scenegen
import scenegen.modules
from scenegen.modules.script import ScriptBackend
from scenegen.orchestrator.backend import Backend

LISTING = textwrap.dedent("""
    import importlib.metadata, json, sys
    import scenegen
    from scenegen.orchestrator import registry

    try:
        importlib.metadata.distribution("scenegen")
        installed = True
    except importlib.metadata.PackageNotFoundError:
        installed = False
    backends = {f"{kind}.{name}": registry.backend_class(kind, name).__name__
                for kind in sys.argv[1:] for name in registry.available(kind)}
    executors = {name: registry.executor_class(name).__name__ for name in ("inprocess", "ray")}
    print(json.dumps({"installed": installed, "from": scenegen.__file__, "backends": backends,
                      "executors": executors}))
""")


def backends_in_source() -> dict[str, str]:
    """"<kind>.<name>" -> class of every backend defined under scenegen/modules, found by importing each module."""
    found = {}
    for info in pkgutil.walk_packages(scenegen.modules.__path__, "scenegen.modules."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == module.__name__ and "name" in vars(value):
                if issubclass(value, Backend):
                    found[f"{value.kind}.{value.name}"] = value.__name__
                elif issubclass(value, ScriptBackend):
                    found[f"script.{value.name}"] = value.__name__
    return found


@pytest.mark.ray  # it loads the ray executor too, which imports ray
def test_an_uninstalled_checkout_finds_every_built_in_and_a_plugins_backends(tmp_path):
    checkout = tmp_path / "checkout"
    shutil.copytree(Path(scenegen.__file__).parent, checkout / "scenegen", ignore=shutil.ignore_patterns("__pycache__"))
    # The environment's packages without scenegen's own install: its metadata, and the editable finder
    # that would import scenegen from wherever it was installed.
    site = tmp_path / "site"
    site.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.lower().startswith(("scenegen", "__editable__")):
            (site / entry.name).symlink_to(entry)
    plugin = tmp_path / "plugin"
    (plugin / "probe_plugin-1.0.dist-info").mkdir(parents=True)
    (plugin / "probe_plugin-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: probe-plugin\n"
                                                                     "Version: 1.0\n")
    (plugin / "probe_plugin-1.0.dist-info" / "entry_points.txt").write_text(
        "[scenegen.backends]\nkeyframe.probe = probe_keyframe:ProbeKeyframe\n")
    (plugin / "probe_keyframe.py").write_text(textwrap.dedent("""
        from scenegen.modules.keyframe.animatic import AnimaticKeyframe

        class ProbeKeyframe(AnimaticKeyframe):
            name = "probe"
    """))
    expected = backends_in_source()
    kinds = sorted({name.split(".")[0] for name in expected})
    # -S: no site-packages and no .pth files; the path holds only the copy, the plugin and the packages.
    result = subprocess.run([sys.executable, "-S", "-c", LISTING, *kinds], capture_output=True, text=True,
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": os.pathsep.join(map(str, (checkout, plugin, site)))})
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert not seen["installed"] and seen["from"] == str(checkout / "scenegen" / "__init__.py")
    assert seen["backends"] == {**expected, "keyframe.probe": "ProbeKeyframe"}
    assert seen["executors"] == {"inprocess": "InProcessExecutor", "ray": "RayExecutor"}
