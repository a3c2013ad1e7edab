"""The perf gate's judgement: speedups measured within pytest-benchmark runs.

They are compared with required ratios (benchmarks/speedups.yaml) and a stored baseline of
earlier ratios (benchmarks/baseline.json).

Only ratios of benchmarks timed in the same run are compared, never absolute times: the machine
is shared and its speed varies from one moment to the next.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from cybermesh_cli.errors import InputError

DEFAULT_TOLERANCE = 0.5


@dataclass(frozen=True)
class SpeedupCheck:
    """One required speedup: measured, required, stored, and whether it holds."""

    name: str
    baseline: str
    speedup: float
    required: float
    stored: float | None
    tolerance: float

    @property
    def passed(self) -> bool:
        """At least the required ratio, and not below the stored one by more than the tolerance."""
        floor = self.stored * (1 - self.tolerance) if self.stored else 0.0
        return self.speedup >= max(self.required, floor)


def medians(bench_json: Path) -> dict[str, float]:
    """Median seconds of every benchmark in a pytest-benchmark JSON file."""
    try:
        data = json.loads(bench_json.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{bench_json}: not a pytest-benchmark JSON file ({exc})") from None
    return {b["name"]: float(b["stats"]["median"]) for b in data.get("benchmarks", [])}


def check_speedups(
    bench_json: Path | Sequence[Path], requirements: Path, baseline: Path
) -> list[SpeedupCheck]:
    """Compare each required speedup with what the benchmark runs measured.

    With several runs (the gate makes three: the machine is shared and noisy), each speedup is
    the median of the runs' speedups, each taken within one run.
    """
    runs = [bench_json] if isinstance(bench_json, Path) else list(bench_json)
    checks = [_check_run(run, requirements, baseline) for run in runs]
    return [replace(first, speedup=statistics.median(c[i].speedup for c in checks))
            for i, first in enumerate(checks[0])]


def _check_run(bench_json: Path, requirements: Path, baseline: Path) -> list[SpeedupCheck]:
    times = medians(bench_json)
    wanted: dict[str, Any] = yaml.safe_load(requirements.read_text()) or {}
    stored: dict[str, float] = json.loads(baseline.read_text()) if baseline.is_file() else {}
    checks = []
    for name, rule in wanted.items():
        base = str(rule["baseline"])
        if name not in times or base not in times:
            raise InputError(
                f"{bench_json}: benchmark {name!r} or its baseline {base!r} did not run"
            )
        checks.append(SpeedupCheck(
            name=name,
            baseline=base,
            speedup=times[base] / times[name] * float(rule.get("work_ratio", 1)),
            required=float(rule["min_speedup"]),
            stored=stored.get(name),
            tolerance=float(rule.get("tolerance", DEFAULT_TOLERANCE)),
        ))
    return checks


def save_baseline(checks: list[SpeedupCheck], baseline: Path) -> None:
    """Store the measured speedups as the new baseline."""
    baseline.write_text(json.dumps({c.name: round(c.speedup, 3) for c in checks}, indent=2) + "\n")
