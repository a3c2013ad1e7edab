"""Errors the CLI turns into one-line messages with a documented exit code."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user (spec, file, flag or path): exit code 2, no traceback."""

    exit_code = 2


class LogFormatError(UserError):
    """An event log that does not follow schemas/events.yaml, located by line number."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        """Record where the log went wrong and why."""
        super().__init__(f"{path}:{line}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason
