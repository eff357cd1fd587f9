"""No two modules of scenegen/ import each other, directly or round a longer circle, read with ast.

Imports inside functions count as much as those at the top: a lazy import that closes a
circle (schemas/plan.py once imported timing inside its speech check, as timing imported
the plan) still ties the two modules into one, only hidden until a call. A package's
__init__ counts when it is the thing imported (`from scenegen.schemas import StoryPlan`),
not merely because a module below it is (Python runs it then, but that is no dependency
of the importer on what the __init__ holds).
"""

import ast
from pathlib import Path

import scenegen

PACKAGE = Path(scenegen.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The modules of `modules` that the file at `path` imports, anywhere in it."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                above = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(above + [base] if base else above)
            # `from a import b` imports the module a.b when there is one, and otherwise a name held by a.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_cycles() -> list[list[str]]:
    files = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    edges = {name: sorted(imported_modules(path, set(files))) for name, path in files.items()}
    cycles, state, stack = [], {}, []

    def visit(name: str) -> None:
        state[name] = "on the stack"
        stack.append(name)
        for imported in edges[name]:
            if state.get(imported) == "on the stack":
                cycles.append(stack[stack.index(imported):] + [imported])
            elif imported not in state:
                visit(imported)
        stack.pop()
        state[name] = "done"

    for name in sorted(files):
        if name not in state:
            visit(name)
    return cycles


def test_no_module_of_scenegen_is_part_of_an_import_circle():
    assert [" -> ".join(cycle) for cycle in import_cycles()] == []
