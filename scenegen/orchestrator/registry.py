"""Backends are found through the `scenegen.backends` entry-point group.

Built-in backends register exactly as third-party ones do (see pyproject.toml), as
"<node kind>.<name>" = "module:Class"; a plugin package adds its own lines.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from scenegen.errors import UserError

GROUP = "scenegen.backends"
EXECUTORS = "scenegen.executors"


@cache
def _registered(group: str = GROUP) -> dict[str, object]:
    return {ep.name: ep for ep in entry_points(group=group)}


def executor_class(name: str) -> type:
    """An executor by name ("inprocess", "ray", or a plugin's), from the `scenegen.executors` group."""
    entry = _registered(EXECUTORS).get(name)
    if entry is None:
        raise UserError(f"--executor {name!r}: no such executor; installed: {', '.join(sorted(_registered(EXECUTORS)))}")
    try:
        return entry.load()
    except ImportError as e:
        raise UserError(f"--executor {name!r} needs {e.name}: pip install 'scenegen[{name}]'") from None


def available(kind: str) -> list[str]:
    return sorted(name.split(".", 1)[1] for name in _registered() if name.startswith(kind + "."))


def backend_class(kind: str, name: str) -> type:
    entry = _registered().get(f"{kind}.{name}")
    if entry is None:
        known = ", ".join(available(kind)) or "none (is scenegen installed with `pip install -e .`?)"
        raise UserError(f"no {kind} backend named {name!r}; installed: {known}")
    return entry.load()
