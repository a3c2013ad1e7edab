"""Saying what a long wait is for, on a terminal (a spinner) and when piped (one line)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console
from rich.status import Status


@contextlib.contextmanager
def waiting(console: Console, text: str) -> Iterator[Status | None]:
    """Show ``text`` while the block runs: a spinner on a terminal, else one plain line.

    Piped or logged output (CI, ``2> log``) would show nothing of a spinner, and a long silent
    wait reads as a hang, so there the line is printed once, before the wait.
    """
    if console.is_terminal:
        with console.status(text) as status:
            yield status
    else:
        console.print(text, markup=False, highlight=False)
        yield None
