"""SceneGen: one sentence in, a multi-shot film out.

    from scenegen import Run

    run, planned_by = Run.story("a woman's life", shots=6)
    run.render()
"""

__version__ = "0.1.0"
__all__ = ["Planner", "Run", "SettingsChange", "UserError"]

from scenegen.errors import UserError

# The Run API is imported when it is first asked for (PEP 562): every `scenegen` command imports this
# package, and the fast path that answers `scenegen render RUN` on an up-to-date run must not pay for
# the orchestrator and pydantic it would bring.
_RUN_API = ("Planner", "Run", "SettingsChange")


def __getattr__(name: str):
    if name in _RUN_API:
        from scenegen.orchestrator import run

        return getattr(run, name)
    raise AttributeError(f"module 'scenegen' has no attribute {name!r}")
