"""Expand a sweep (seeds x grid) into named runs, and remember the plan in ``sweep.json``.

The sweep's folder name is the spec's name plus a hash of the spec file, the seeds and the grid,
so running the same sweep again finds the same folder and the same run names, and resumes.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cybermesh_cli.errors import InputError
from cybermesh_cli.spec import parse_value

PLAN_FILE = "sweep.json"
FINISHED = ("passed", "failed", "error")  # a run with one of these statuses is not run again

MAX_RUNS = 100_000
SWEEP_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")


@dataclass(frozen=True)
class PlannedRun:
    """One run of the sweep: its folder name, seed and overrides (grid point)."""

    name: str
    seed: int
    point: int
    overrides: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    """Everything the sweep will run, and where."""

    spec: str
    sweep_id: str
    seeds: tuple[int, ...]
    grid: dict[str, list[Any]]
    points: list[dict[str, Any]]
    runs: list[PlannedRun]

    def save(self, folder: Path) -> None:
        """Write ``sweep.json`` (the report reads it)."""
        data = {**asdict(self), "runs": [asdict(r) for r in self.runs]}
        (folder / PLAN_FILE).write_text(json.dumps(data, indent=1) + "\n")


def parse_seeds(text: str) -> tuple[int, ...]:
    """``0..99`` (inclusive), ``1,2,5`` or a mix such as ``0..3,10``."""
    seeds: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?", part)
        if not match:
            raise InputError(f"--seeds {text!r}: expected e.g. 0..99 or 1,2,5")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if last < first:
            raise InputError(f"--seeds {text!r}: {first}..{last} is empty")
        if last - first + 1 + len(seeds) > MAX_RUNS:
            raise InputError(f"--seeds {text!r}: more than {MAX_RUNS:,} seeds in one sweep")
        seeds += range(first, last + 1)
    if len(set(seeds)) != len(seeds):
        raise InputError(f"--seeds {text!r}: a seed appears twice")
    return tuple(seeds)


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """``a.b=1,2,4`` per option -> {key: [values]}; values parse as YAML scalars."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key or not raw:
            raise InputError(f"--grid {item!r}: expected KEY.PATH=V1,V2,..., e.g. phase1.seed=1,2")
        if key in grid:
            raise InputError(f"--grid {item!r}: {key} is given twice")
        grid[key] = [parse_value(v, f"--grid {key}") for v in raw.split(",")]
    return grid


def expand(spec: Path, seeds: tuple[int, ...], grid: dict[str, list[Any]],
           name: str) -> Plan:
    """Every grid point x every seed, named ``p<point>-s<seed>``."""
    if not SWEEP_NAME.fullmatch(name):
        raise InputError(f"--name {name!r}: a sweep name is one folder name (letters, digits, "
                         "'.', '_', '-'; no '/' or '..')")
    keys = list(grid)
    if math.prod(len(values) for values in grid.values()) * len(seeds) > MAX_RUNS:
        raise InputError(f"--grid: {' x '.join(str(len(v)) for v in grid.values())} points x "
                         f"{len(seeds)} seeds is more than {MAX_RUNS:,} runs in one sweep")
    points = [dict(zip(keys, values, strict=True))
              for values in itertools.product(*(grid[k] for k in keys))]
    runs = [PlannedRun(f"p{index}-s{seed}", seed, index,
                       tuple(f"{k}={json.dumps(v)}" for k, v in point.items()))
            for index, point in enumerate(points) for seed in seeds]
    digest = hashlib.sha256(spec.read_bytes())
    digest.update(json.dumps([seeds, grid], sort_keys=True).encode())
    return Plan(str(spec), f"{name}-{digest.hexdigest()[:8]}", seeds, grid, points, runs)


def run_status(folder: Path) -> str | None:
    """Return a run folder's status from its manifest, or None if none can be read."""
    try:
        status = json.loads((folder / "manifest.json").read_text())["status"]
    except (OSError, ValueError, KeyError):
        return None
    return str(status)
