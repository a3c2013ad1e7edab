"""Ctrl-C and SIGTERM: remembered, and turned into KeyboardInterrupt, from the first instant.

The console entry point installs the handler before it imports anything heavy, so a signal
during start-up, JIT compilation or model loading ends the command with exit 130. A run that
sees an exception after a signal (Numba and torch may wrap the interrupt in another error)
knows it was interrupted, not broken.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

INTERRUPTED = threading.Event()
EXIT_INTERRUPTED = 130


def interrupt(signum: int, frame: FrameType | None) -> None:
    """Signal handler for SIGINT and SIGTERM: remember it, then interrupt the main thread."""
    INTERRUPTED.set()
    raise KeyboardInterrupt


def catch_interrupts() -> None:
    """Make Ctrl-C and SIGTERM interrupt (a shell starts background jobs ignoring SIGINT)."""
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)

