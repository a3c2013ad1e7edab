"""Ctrl-C and SIGTERM: remembered, and turned into KeyboardInterrupt, from the first instant.

The console entry point installs the handler before it imports anything heavy, so a signal
during start-up, JIT compilation or model loading ends the command with exit 130. A run that
sees an exception after a signal (Numba and torch may wrap the interrupt in another error)
knows it was interrupted, not broken.

Two guards make exit 130 certain. A library may swallow the KeyboardInterrupt (a bare
``except`` around an import), so a watchdog thread interrupts the main thread again every
:data:`NUDGE_S` seconds until the command says it is ending (:func:`acknowledge`), and ends
the process :data:`GRACE_S` seconds after the signal if the command has not ended by then. It
works from any thread: only the main thread touches signal handlers. And an interrupt that
escapes every handler ends at interpreter exit, where Python would re-kill the process with
SIGINT, so an ``atexit`` hook exits with 130 first.
"""

from __future__ import annotations

import _thread
import atexit
import os
import signal
import sys
import threading
import time
from types import FrameType
from typing import NoReturn

INTERRUPTED = threading.Event()
ACKNOWLEDGED = threading.Event()  # the command caught the interrupt and is ending cleanly
EXIT_INTERRUPTED = 130
GRACE_S = 20.0  # an interrupted run writes run.end and its report well within this
NUDGE_S = 1.0  # a swallowed interrupt is raised again this often


def _exit_if_interrupted() -> None:
    if INTERRUPTED.is_set():
        exit_interrupted()


def interrupt(signum: int, frame: FrameType | None) -> None:
    """Signal handler for SIGINT and SIGTERM: remember it, then interrupt the main thread."""
    if not INTERRUPTED.is_set():
        INTERRUPTED.set()
        threading.Thread(target=_watch, name="interrupt-watchdog", daemon=True).start()
    raise KeyboardInterrupt


def acknowledge() -> None:
    """Say the interrupt was caught and the command is ending: the watchdog stops nudging."""
    ACKNOWLEDGED.set()


def _watch() -> None:
    """Raise the interrupt in the main thread again until acknowledged; exit 130 at the end."""
    deadline = time.monotonic() + GRACE_S
    while not ACKNOWLEDGED.wait(NUDGE_S) and time.monotonic() < deadline:
        _thread.interrupt_main(signal.SIGINT)
    time.sleep(max(0.0, deadline - time.monotonic()))
    exit_interrupted()


def exit_interrupted() -> NoReturn:
    """End an interrupted command with exit 130, now, without the interpreter's shutdown.

    The run has already written and closed its files. Shutting the interpreter down after an
    interrupt sometimes raises a second KeyboardInterrupt in native libraries' cleanup (seen
    in about 1 run in 5), which would end the process with -SIGINT instead of 130.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def catch_interrupts() -> None:
    """Make Ctrl-C and SIGTERM interrupt (a shell starts background jobs ignoring SIGINT)."""
    atexit.unregister(_exit_if_interrupted)
    atexit.register(_exit_if_interrupted)
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)

