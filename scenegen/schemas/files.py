"""Reading and writing plan and settings files, with errors that name file and JSON path."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from scenegen.atomic import write_atomic
from scenegen.errors import UserError, arguments
from scenegen.schemas.checks import plan_errors
from scenegen.schemas.plan import StoryPlan
from scenegen.schemas.settings import RenderSettings

SCHEMA_FILE = "plan.schema.json"
M = TypeVar("M", bound=BaseModel)


def json_path(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def read_json(path: Path, raw: bytes | None = None) -> object:
    """The JSON in the file at `path` (or in `raw`, its bytes read already)."""
    try:
        raw = path.read_bytes() if raw is None else raw
    except (FileNotFoundError, NotADirectoryError):
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory, expected a JSON file") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text (bad byte at offset {e.start}); save the file as UTF-8") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise UserError(f"{path}: not valid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise UserError(f"{path}: nested too deeply to be a plan or settings file") from None
    except ValueError:  # Python reads no integer longer than this (CVE-2020-10735)
        raise UserError(f"{path}: holds an integer of more than {sys.get_int_max_str_digits()} digits; "
                        "no value of a plan or settings file needs one") from None


def parse(model: type[M], data: object, path: Path | None, **options: object) -> M:
    """`data` as a `model`; its first fault named by the JSON path in the file at `path`, or in what the
    arguments `options` (by parameter name, with their values) made of it."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
        value = first.get("input")
        message = first["msg"].removeprefix("Value error, ")
        shown = "" if isinstance(value, dict | list) or first["type"] in ("missing", "value_error") else f" (got {json.dumps(value)[:60]})"
        where = arguments(options) if options else path
        raise UserError(f"{where}: {json_path(first['loc'])}: {message}{shown}{more}", **options) from None


def load_plan(path: Path, fps: int, fps_from: Path | None = None, raw: bytes | None = None) -> StoryPlan:
    """Parse and check a plan file (or `raw`, its bytes); `fps` (read from the file `fps_from`) decides
    whether transitions fit their shots."""
    plan = parse(StoryPlan, read_json(path, raw), path)
    problems = plan_errors(plan, fps, fps_from)
    if problems:
        where, what = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise UserError(f"{path}: {where}: {what}{more}")
    return plan


def dump_plan(plan: StoryPlan) -> str:
    data = plan.model_dump(mode="json", by_alias=True, exclude_none=True)
    # A "$schema" the user set is theirs to keep; a plan without one points editors to ours.
    data = {"$schema": data.get("$schema", SCHEMA_FILE), **{k: v for k, v in data.items() if k != "$schema"}}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def plan_schema() -> str:
    return json.dumps(StoryPlan.model_json_schema(by_alias=True), indent=2) + "\n"


def is_plan_schema(path: Path) -> bool:
    """Whether `path` holds a plan schema as scenegen writes it (of this version or an earlier one), not a file
    of the user's that happens to share its name."""
    try:
        return json.loads(path.read_bytes()).get("title") == StoryPlan.__name__
    except (OSError, ValueError, AttributeError):
        return False


def write_plan(path: Path, plan: StoryPlan) -> None:
    """Write a plan and, beside it, the JSON Schema its `$schema` points editors to; never a plan `load_plan`
    would refuse for a number too long to read back (a seed counted up past it by `redo`)."""
    try:
        text = dump_plan(plan)
    except ValueError:
        raise UserError(f"{path}: left as it was: the new plan would hold an integer of more than "
                        f"{sys.get_int_max_str_digits()} digits, too long to read back; "
                        "use smaller seeds") from None
    write_atomic(path.parent / SCHEMA_FILE, plan_schema())
    write_atomic(path, text)


PRESETS = Path(__file__).parent.parent / "presets"
CONFIG_TABLES = ("output", "device", "backends", "eval")   # eval: read by `scenegen eval`


def presets() -> list[str]:
    return sorted(p.stem for p in PRESETS.glob("*.toml"))


def read_config(path: Path) -> dict:
    """A TOML config of output format and backends, with relative model paths made absolute.

    It has the shape of settings.json: `[output]`, `[device]` and `[backends.<kind>]`
    tables. A name without a file of that name is one of the presets shipped with the
    package (`scenegen/presets/NAME.toml`).
    """
    if not path.exists() and (PRESETS / f"{path}.toml").is_file():
        path = PRESETS / f"{path}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError("{config}: no such file, and no preset of that name; presets: " + ", ".join(presets()),
                        config=path) from None
    except IsADirectoryError:
        raise UserError("{config}: a folder, not a TOML file", config=path) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UserError("{config}: not valid TOML: " + str(e), config=path) from None
    except ValueError:  # what tomllib raises for an integer longer than Python reads
        raise UserError(f"{{config}}: holds an integer of more than {sys.get_int_max_str_digits()} digits; "
                        "no setting needs one", config=path) from None
    for table, value in data.items():
        if table not in CONFIG_TABLES:
            raise UserError(f"{{config}}: unknown table [{table}]; known: {', '.join(CONFIG_TABLES)}", config=path)
        if not isinstance(value, dict):
            raise UserError(f"{{config}}: {table} must be a table, [{table}]", config=path)
    choices = [choice for choice in data.get("backends", {}).values() if isinstance(choice, dict)]
    tables = [choice["settings"] for choice in choices if isinstance(choice.get("settings"), dict)]
    loras = [lora for settings in tables if isinstance(settings.get("loras"), list)
             for lora in settings["loras"] if isinstance(lora, dict)]
    for settings in tables + loras + [data.get("eval", {})]:
        for field in ("model", "ip_adapter", "face_model", "face_detector", "clip", "path"):
            value = settings.get(field)
            # "./x", "../x", ".tiny/x" are paths; "org/name" may be a Hugging Face id unless it exists here.
            if isinstance(value, str) and (value.startswith(".") or (path.parent / value).exists()):
                settings[field] = str((path.parent / value).resolve())
    return data


def with_config(settings: RenderSettings, path: Path) -> RenderSettings:
    """`settings` with the tables of the config (file or preset) at `path` laid over theirs."""
    merged = settings.model_dump(mode="json")
    overrides = read_config(path)
    return parse(RenderSettings, {table: {**merged[table], **overrides.get(table, {})}
                                  for table in ("output", "device", "backends")}, path)
