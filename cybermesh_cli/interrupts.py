"""Ctrl-C and SIGTERM: remembered, and turned into KeyboardInterrupt, from the first instant.

The console entry point installs the handler before it imports anything heavy, so a signal
during start-up, JIT compilation or model loading ends the command with exit 130. A run that
sees an exception after a signal (Numba and torch may wrap the interrupt in another error)
knows it was interrupted, not broken.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType
from typing import NoReturn

INTERRUPTED = threading.Event()
EXIT_INTERRUPTED = 130


def interrupt(signum: int, frame: FrameType | None) -> None:
    """Signal handler for SIGINT and SIGTERM: remember it, then interrupt the main thread."""
    INTERRUPTED.set()
    raise KeyboardInterrupt


def exit_interrupted() -> NoReturn:
    """End an interrupted command with exit 130, now, without the interpreter's shutdown.

    The run has already written and closed its files. Shutting the interpreter down after an
    interrupt sometimes raises a second KeyboardInterrupt in native libraries' cleanup (seen
    in about 1 run in 5), which would end the process with -SIGINT instead of 130.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def catch_interrupts() -> None:
    """Make Ctrl-C and SIGTERM interrupt (a shell starts background jobs ignoring SIGINT)."""
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)

