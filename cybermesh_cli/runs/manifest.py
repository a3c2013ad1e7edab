"""What a run records about where and how it ran: git, packages, Python, platform, device."""

from __future__ import annotations

import platform
import socket
import subprocess  # noqa: S404 - fixed git commands, no user input
import sys
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from cybermesh_cli.paths import PROJECT_ROOT

TRACKED_PACKAGES = (
    "cybermesh-cli",
    "numpy",
    "numba",
    "torch",
    "peft",
    "transformers",
    "ollama",
    "typer",
    "rich",
    "pyyaml",
    "yamale",
    "orjson",
)


def utc_now() -> str:
    """Current time as an ISO-8601 UTC string with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(  # noqa: S603
            ["git", *args],  # noqa: S607 - git from PATH is the point
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_state(root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """The commit, branch and whether the work tree has uncommitted changes."""
    sha = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain")
    return {
        "sha": sha or "unknown",
        "branch": _git("rev-parse", "--abbrev-ref", "HEAD") or "unknown",
        "dirty": bool(status) if status is not None else None,
    }


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str | None]:
    """Installed versions of the packages a run depends on (None when absent)."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


def environment() -> dict[str, Any]:
    """Python, platform and host of this process."""
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "host": socket.gethostname(),
    }
