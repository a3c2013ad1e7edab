"""Memory monitoring for the policy's memory budget gates."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import psutil

from cybermesh_cli.errors import InputError

_UNITS = {"kb": 1 / 1024, "mb": 1.0, "gb": 1024.0, "kib": 1 / 1024, "mib": 1.0, "gib": 1024.0}


def parse_size(text: str) -> float:
    """``6GB`` / ``512MB`` / ``1.5GiB`` -> MiB (binary units either way)."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([kmg]i?b)\s*", text.lower())
    if not match:
        raise InputError(f"--threshold {text!r}: expected a size such as 6GB or 512MB")
    return float(match.group(1)) * _UNITS[match.group(2)]


def matching_rss_mb(pattern: re.Pattern[str]) -> float:
    """Return the summed resident memory (MiB) of processes matching ``pattern``, bar this."""
    total = 0
    for proc in psutil.process_iter(["pid", "cmdline", "memory_info"]):
        if proc.info["pid"] == os.getpid() or not proc.info["memory_info"]:
            continue
        if pattern.search(" ".join(proc.info["cmdline"] or [])):
            total += proc.info["memory_info"].rss
    return total / 2**20


def monitor(match: str, interval: float, out: Path, samples: int | None = None) -> None:
    """Append ``seconds,rss_mb`` samples to ``out`` until killed (or ``samples`` are taken)."""
    pattern = re.compile(match)
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    taken = 0
    with out.open("a", encoding="utf-8") as handle:
        while samples is None or taken < samples:
            handle.write(f"{time.monotonic() - start:.2f},{matching_rss_mb(pattern):.1f}\n")
            handle.flush()
            taken += 1
            time.sleep(interval)


def peak_mb(profile: Path) -> float:
    """Largest sample in a profile written by :func:`monitor`."""
    if not profile.is_file():
        raise InputError(f"{profile}: no memory profile (run scripts/memory_monitor.py first)")
    values = [float(line.split(",")[1]) for line in profile.read_text().splitlines() if "," in line]
    if not values:
        raise InputError(f"{profile}: the profile has no samples")
    return max(values)
