"""Aggregate a sweep into report.md and plots.

Per grid point: each criterion's pass rate with its 95% Wilson interval, and its measured
value's mean with a 95% percentile-bootstrap interval (resampling the seeds). Neither interval
leaves the quantity's range: a rate stays in [0, 1], a mean within the values seen. The same
table is written as report.csv.

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
from cybermesh_cli.files import replacing
from cybermesh_cli.seeds import fixed_rng
from cybermesh_cli.stats import wilson
from cybermesh_cli.sweeps.plan import PLAN_FILE

REPORT = "report.md"
REPORT_CSV = "report.csv"


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

    def interval(self, confidence: float = 0.95, resamples: int = 4000
                 ) -> tuple[float, float]:
        """Percentile-bootstrap interval for the mean (nan with fewer than two runs)."""
        n = len(self.values)
        if n < 2:
            return math.nan, math.nan
        rng = fixed_rng(f"sweep-report-{n}")  # the same sweep gives the same report
        means = rng.choice(np.array(self.values), (resamples, n), replace=True).mean(axis=1)
        tail = (1 - confidence) / 2 * 100
        return float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))

    def rate_interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """Wilson score interval for the pass rate."""
        return wilson(sum(self.passed), len(self.passed), confidence)


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


def write_report(folder: Path) -> tuple[Path, list[dict[str, Any]]]:
    """Write report.md, report.csv and plots into the sweep folder; return it and its rows."""
    plan, points = aggregate(folder)
    lines = [f"# Sweep {plan['sweep_id']}", "",
             f"Spec `{plan['spec']}`, {len(plan['seeds'])} seeds, "
             f"{len(points)} grid point(s), {len(plan['runs'])} runs.", ""]
    for point in points:
        params = ", ".join(f"{k}={v}" for k, v in point.params.items()) or "(no grid)"
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(point.statuses.items()))
        lines += [f"## Point {point.index}: {params}", "", f"Runs: {statuses}.", "",
                  "| criterion | pass rate | 95% Wilson | mean | 95% bootstrap | runs |",
                  "|---|---|---|---|---|---|"]
        for key, stat in sorted(point.criteria.items()):
            low, high = stat.interval()
            rate_low, rate_high = stat.rate_interval()
            lines.append(f"| {key} | {sum(stat.passed)}/{len(stat.passed)} | "
                         f"[{rate_low:.3f}, {rate_high:.3f}] | {stat.mean:.4g} | "
                         f"[{low:.4g}, {high:.4g}] | {len(stat.values)} |")
        lines.append("")
    rows = table(points)
    _write_csv(folder / REPORT_CSV, rows)
    for plot in _plots(folder, plan, points):
        lines += [f"![{plot}]({plot})", ""]
    report = folder / REPORT
    with replacing(report) as partial:
        partial.write_text("\n".join(lines))
    return report, rows


def table(points: list[Point]) -> list[dict[str, Any]]:
    """Tabulate the report's figures, a row a grid point and criterion (report.csv, --json)."""
    rows = []
    for point in points:
        for key, stat in sorted(point.criteria.items()):
            rate_low, rate_high = stat.rate_interval()
            mean_low, mean_high = stat.interval()
            rows.append({"point": point.index, "params": point.params, "criterion": key,
                         "passed": sum(stat.passed), "runs": len(stat.passed),
                         "pass_rate": round(stat.pass_rate, 6), "rate_low": round(rate_low, 6),
                         "rate_high": round(rate_high, 6), "mean": stat.mean,
                         "mean_low": mean_low, "mean_high": mean_high})
    return rows


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write the report's table as CSV, a row a grid point and criterion."""
    import csv

    with replacing(path) as partial, partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["point"])
        writer.writeheader()
        writer.writerows({**row, "params": json.dumps(row["params"])} for row in rows)


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
