"""The library's exceptions; the CLI prints them as one line with a documented exit code."""

from __future__ import annotations


class CyberMeshError(Exception):
    """Base of every error the library raises on purpose."""

    exit_code = 2


class InputError(CyberMeshError):
    """Bad input (a spec, file, value or path); the CLI prints it in one line and exits 2."""


class LogFormatError(InputError):
    """An event log that does not follow schemas/events.yaml, located by line number."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        """Record where the log went wrong and why."""
        super().__init__(f"{path}:{line}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason
