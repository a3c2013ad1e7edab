"""Aggregate a sweep into report.md and plots.

Per grid point: each criterion's pass rate, and its measured value's mean and 95% confidence
interval (Student's t over the seeds).

The numbers come from the runs' own metrics.json files, nothing else.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cybermesh_cli.errors import InputError
from cybermesh_cli.sweeps.plan import PLAN_FILE

REPORT = "report.md"


@dataclass
class Stat:
    """One criterion at one grid point, over the seeds that finished."""

    values: list[float] = field(default_factory=list)
    passed: list[bool] = field(default_factory=list)

    @property
    def pass_rate(self) -> float:
        """Share of runs that met the criterion."""
        return sum(self.passed) / len(self.passed)

    @property
    def mean(self) -> float:
        """Mean measured value."""
        return float(np.mean(self.values))

    def interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """Student's t interval for the mean (nan with fewer than two runs)."""
        from scipy.stats import t

        n = len(self.values)
        if n < 2:
            return math.nan, math.nan
        half = float(t.ppf((1 + confidence) / 2, n - 1) * np.std(self.values, ddof=1)
                     / math.sqrt(n))
        return self.mean - half, self.mean + half


@dataclass
class Point:
    """One grid point: its parameters, its runs by status, its criteria."""

    index: int
    params: dict[str, Any]
    statuses: dict[str, int] = field(default_factory=dict)
    criteria: dict[str, Stat] = field(default_factory=dict)


def aggregate(folder: Path) -> tuple[dict[str, Any], list[Point]]:
    """Read ``sweep.json`` and every run's metrics.json."""
    plan_file = folder / PLAN_FILE
    if not plan_file.is_file():
        raise InputError(f"{folder}: no {PLAN_FILE}; not a sweep folder")
    try:
        plan = json.loads(plan_file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{plan_file}: unreadable sweep plan ({exc})") from None
    points = [Point(i, p) for i, p in enumerate(plan["points"])]
    for run in plan["runs"]:
        point = points[run["point"]]
        metrics_file = folder / run["name"] / "metrics.json"
        if not metrics_file.is_file():
            point.statuses["missing"] = point.statuses.get("missing", 0) + 1
            continue
        metrics = json.loads(metrics_file.read_text())
        point.statuses[metrics["status"]] = point.statuses.get(metrics["status"], 0) + 1
        for criterion in metrics["criteria"]:
            stat = point.criteria.setdefault(criterion["key"], Stat())
            stat.values.append(float(criterion["value"]))
            stat.passed.append(bool(criterion["passed"]))
    return plan, points


def write_report(folder: Path) -> Path:
    """Write report.md and the plots into the sweep folder; return the report's path."""
    plan, points = aggregate(folder)
    lines = [f"# Sweep {plan['sweep_id']}", "",
             f"Spec `{plan['spec']}`, {len(plan['seeds'])} seeds, "
             f"{len(points)} grid point(s), {len(plan['runs'])} runs.", ""]
    for point in points:
        params = ", ".join(f"{k}={v}" for k, v in point.params.items()) or "(no grid)"
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(point.statuses.items()))
        lines += [f"## Point {point.index}: {params}", "", f"Runs: {statuses}.", "",
                  "| criterion | pass rate | mean | 95% CI | runs |", "|---|---|---|---|---|"]
        for key, stat in sorted(point.criteria.items()):
            low, high = stat.interval()
            lines.append(f"| {key} | {stat.pass_rate:.3f} | {stat.mean:.4g} | "
                         f"[{low:.4g}, {high:.4g}] | {len(stat.values)} |")
        lines.append("")
    for plot in _plots(folder, plan, points):
        lines += [f"![{plot}]({plot})", ""]
    report = folder / REPORT
    report.write_text("\n".join(lines))
    return report


def _plots(folder: Path, plan: dict[str, Any], points: list[Point]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = sorted({k for p in points for k in p.criteria})
    if not keys:
        return []
    written = []
    numeric = [k for k, values in plan["grid"].items()
               if all(isinstance(v, int | float) for v in values)]
    for parameter in numeric or [None]:
        columns = min(4, len(keys))
        rows = math.ceil(len(keys) / columns)
        figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3 * rows),
                                    squeeze=False)
        for axis, key in zip(axes.ravel(), keys, strict=False):
            short = key.split(".", 1)[1]
            if parameter is None:  # no numeric grid: each seed's value
                stat = points[0].criteria.get(key)
                if stat:
                    axis.plot(plan["seeds"][:len(stat.values)], stat.values, "o", ms=3)
                axis.set(xlabel="seed", title=short)
                continue
            others = [k for k in plan["grid"] if k != parameter]
            groups: dict[str, list[Point]] = {}
            for point in points:
                label = ", ".join(f"{k}={point.params[k]}" for k in others)
                groups.setdefault(label, []).append(point)
            for label, group in groups.items():
                group = [p for p in group if key in p.criteria]
                group.sort(key=lambda p: p.params[parameter])
                x = [p.params[parameter] for p in group]
                means = np.array([p.criteria[key].mean for p in group])
                bounds = np.array([p.criteria[key].interval() for p in group])
                error = np.nan_to_num(np.abs(bounds.T - means))
                axis.errorbar(x, means, yerr=error, marker="o", capsize=3, label=label or None)
            axis.set(xlabel=parameter, title=short)
            if len(groups) > 1:
                axis.legend(fontsize=7)
        for axis in axes.ravel()[len(keys):]:
            axis.axis("off")
        figure.tight_layout()
        name = f"sweep-{parameter or 'seeds'}.png".replace("/", "_")
        figure.savefig(folder / name, dpi=90)
        plt.close(figure)
        written.append(name)
    return written
