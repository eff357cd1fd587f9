"""Jinja2 templates: every sentence the planner writes and every prompt a model reads."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


@cache
def environment() -> Environment:
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
