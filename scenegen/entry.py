"""The `scenegen` command's entry point.

`scenegen render RUN` on a run that is already up to date is the command users repeat
most, and its answer needs only the run's stamp; building the typer command line
(importing typer, pydantic and every command's options) is three quarters of the
0.2 s it would otherwise take. So that one form is answered here, before `cli` is
imported; anything else, or a run that is not up to date, goes to `cli`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from scenegen.orchestrator.store import RunDir


def main() -> None:
    start = time.perf_counter()
    if len(sys.argv) == 3 and sys.argv[1] == "render" and answered_up_to_date(RunDir(Path(sys.argv[2])), start):
        return
    from scenegen.cli import main as cli

    cli()


def answered_up_to_date(run: RunDir, start: float) -> bool:
    """Whether nothing in the run is stale, printing that answer if it is the case."""
    if not run.stamp_is_current():
        return False
    print(f"Nothing to do: {run.root} is up to date ({time.perf_counter() - start:.2f} s).")
    return True
