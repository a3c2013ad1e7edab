"""Writing a user's file so that a failure never leaves it half-written or destroys the old one."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from cybermesh_cli.errors import InputError


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a temporary file beside ``path``; when the block ends well it becomes ``path``.

    The new bytes are flushed to disk before the rename, so ``path`` holds either its old
    content or all of the new (a full disk, a crash, Ctrl-C: the old file stays, no partial
    one is left). An error while writing is one line naming ``path``.
    """
    if path.exists() and not path.is_file():  # a device, a FIFO, a folder: never replaced
        raise InputError(f"{path}: cannot write (not a regular file)")
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        yield partial
        with partial.open("rb+") as handle:
            os.fsync(handle.fileno())
        partial.replace(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    finally:
        partial.unlink(missing_ok=True)
