"""Errors caused by the user's input: shown as one line, exit code 2, no traceback."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

# Where a message names an argument: `{take}` with its value, `{take!r}` with a value that is text quoted,
# `{take!n}` by its name alone.
ARGUMENT = re.compile(r"\{(\w+)(?:!([rn]))?\}")


class UserError(Exception):
    """A mistake the user can fix; the message says where and what to do.

    The arguments at fault are data, not words: a message names each as `{name}` (its Python
    parameter name) and `options` give its value (None, or `{name!n}`, names it alone):
    `UserError("{take}: shot 2 has takes 0..0", take=3)`. `str()` words them as a Python
    caller passed them (`take=3: ...`); the command line words them as its flags
    (`--take 3: ...`), so neither reads the other's words.
    """

    exit_code = 2

    def __init__(self, message: str, **options: object):
        super().__init__(message)
        self.message, self.options = message, options

    def worded(self, name: Callable[[str, object, bool], str]) -> str:
        """The message with each argument named by `name(parameter, value, quoted)`."""
        def word(match: re.Match) -> str:
            parameter, how = match[1], match[2]
            if parameter not in self.options:
                return match[0]
            return name(parameter, None if how == "n" else self.options[parameter], how == "r")

        return ARGUMENT.sub(word, self.message)

    def within(self, context: str, **options: object) -> UserError:
        """This error inside a larger one that names `context` first; the arguments of both stay data, so an
        option the inner message names is still worded as the caller passed it."""
        return UserError(f"{context}: {self.message}", **{**self.options, **options})

    def __str__(self) -> str:
        return self.worded(as_parameter)


def as_parameter(parameter: str, value: object, quoted: bool) -> str:
    """An argument as a Python call passes it: `take=3`, `root='runs/x'`, or its name alone."""
    if value is None:
        return parameter
    return f"{parameter}={str(value)!r}" if isinstance(value, Path) else f"{parameter}={value!r}"


def arguments(options: dict[str, object]) -> str:
    """The `{name}` fields that name each of `options` in a message, in their order."""
    return " ".join(f"{{{name}}}" for name in options)
