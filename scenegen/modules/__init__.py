"""Stage modules: one sub-package per stage, one file per backend.

Each sub-package's `__init__` defines the stage's backend interface and the slice of
the plan its node reads by default. A backend registers by name: a built-in in the
list in `scenegen.orchestrator.registry`, a plugin's through the `scenegen.backends`
entry-point group.
"""
