"""Jinja2 templates: every sentence the planner writes and every prompt a model reads."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jinja2 import Environment


@cache
def environment() -> Environment:
    # Imported here, not at the top: the storyboard's backend imports this module when a render
    # builds its graph, before the first job starts, and jinja2's import (0.03-0.08 s) held up an
    # edit's clip; here it loads when the first template is filled, on a worker.
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("scenegen", "prompts"),
        undefined=StrictUndefined,
        # Only pages are HTML: captions, prompts and plans are plain text, strings included.
        autoescape=select_autoescape(["html.j2"], default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def fill_template(template: str, **context) -> str:
    """A template filled in, without the blank lines around it."""
    return environment().get_template(template).render(**context).strip() + "\n"


def sentence(text: object) -> str:
    """A macro's output as one clean line, its first letter upper-case."""
    line = " ".join(str(text).split())
    return line[:1].upper() + line[1:]
