"""Errors caused by the user's input: shown as one line, exit code 2, no traceback."""


class UserError(Exception):
    """A mistake the user can fix; the message says where and what to do."""

    exit_code = 2
