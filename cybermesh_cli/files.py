"""Files a user owns: written whole or not at all, read only when they are plain and small.

A failed write never leaves a file half-written or destroys the old one; a read refuses
devices, FIFOs, folders and files over a size bound before reading a byte (a FIFO would hang,
``/dev/zero`` would fill memory).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from cybermesh_cli.errors import InputError

LOCK_FILE = ".lock"


def read_regular(path: Path, limit: int) -> bytes:
    """Read a regular file of at most ``limit`` bytes, else raise a ValueError naming it.

    Links are followed; a loop of links, a device, a FIFO or a folder is refused without
    opening it, and a file that grows past ``limit`` while it is read is refused too.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (OSError, RuntimeError) as exc:  # a loop of links: ELOOP
        raise ValueError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") \
            from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{path}: not a regular file")
    if info.st_size > limit:
        raise ValueError(f"{path}: {info.st_size:,} bytes, more than the {limit:,} a file of "
                         "its kind may hold")
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path}: more than the {limit:,} bytes a file of its kind may hold")
    return data


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


def lock_folder(folder: Path, what: str) -> IO[str]:
    """Take ``folder``'s lock for this process, or refuse in one line if another holds it.

    The lock (an advisory ``flock`` on ``folder/.lock``) goes when the returned file is closed
    or the process ends, however it ends; the file names the holder's process id.
    """
    handle = (folder / LOCK_FILE).open("a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise InputError(f"{folder}: in use by another {what} (process {holder}); wait for it "
                         "to finish, or choose another name") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
