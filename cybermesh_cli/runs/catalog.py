"""Run folders as records: find them, filter them, compare two, export a table of many.

A record is one run's manifest, its criteria and its spec's parameters, flattened, so a table
of runs reads the same in pandas, DuckDB or a spreadsheet.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cybermesh_cli.errors import InputError
from cybermesh_cli.extras import require
from cybermesh_cli.files import replacing
from cybermesh_cli.files import read_regular
from cybermesh_cli.runs.record import MANIFEST_FILE, METRICS_FILE, SPEC_FILE, read_json
from cybermesh_cli.spec import MAX_YAML_BYTES, check_yaml_shape


@dataclass(frozen=True)
class RunSummary:
    """What a run folder says about itself (``status`` "unreadable" if its manifest is not)."""

    path: Path
    manifest: Mapping[str, Any]
    criteria: Sequence[Mapping[str, Any]]
    figures: Mapping[str, Any]
    spec: Mapping[str, Any]

    @property
    def id(self) -> str:
        """The folder's name."""
        return self.path.name

    @property
    def status(self) -> str:
        """passed, failed, interrupted, error, running or unreadable."""
        return str(self.manifest.get("status", "unreadable"))

    def row(self) -> dict[str, Any]:
        """One flat record: identity, spec parameters, each criterion's value and pass."""
        m = self.manifest
        git = m.get("git") or {}
        record: dict[str, Any] = {
            "id": self.id, "path": str(self.path), "name": m.get("name"), "phase": m.get("phase"),
            "seed": m.get("seed"), "status": self.status, "started": m.get("started"),
            "duration_s": m.get("duration_s"), "git_sha": git.get("sha"),
            "criteria_passed": m.get("criteria_passed"), "criteria_total": m.get("criteria_total")}
        for key, value in _flatten(self.spec, "spec").items():
            record[key] = value
        for c in self.criteria:
            record[f"{c['key']}.value"] = c.get("value")
            record[f"{c['key']}.passed"] = c.get("passed")
        return record


def _flatten(data: Any, prefix: str) -> dict[str, Any]:
    if isinstance(data, Mapping):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}.{key}"))
        return out
    if isinstance(data, list):
        return {prefix: json.dumps(data)}
    return {prefix: data}


def _read(path: Path, reader: Any) -> Any:
    try:
        return reader(path)
    except (OSError, ValueError, yaml.YAMLError, InputError):
        return None


def _read_spec(path: Path) -> Any:
    """A run's spec.yaml, bounded in size and shape as a spec a user gives is."""
    text = read_regular(path, MAX_YAML_BYTES).decode("utf-8")
    check_yaml_shape(text, path)
    return yaml.safe_load(text)


MANIFEST_TYPES: dict[str, type | tuple[type, ...]] = {
    "name": str, "phase": int, "seed": int, "status": str, "started": str,
    "duration_s": (int, float), "criteria_passed": int, "criteria_total": int, "git": dict}


def load_run(folder: Path) -> RunSummary:
    """Read a run folder; parts that are missing, unreadable or of the wrong type come back empty.

    A damaged run is still listed: a manifest field of the wrong type is left out, and so is a
    criterion that is not an object with a string key.
    """
    manifest = _read(folder / MANIFEST_FILE, read_json) or {}
    metrics = _read(folder / METRICS_FILE, read_json) or {}
    spec = _read(folder / SPEC_FILE, _read_spec)
    typed = {k: v for k, v in manifest.items()
             if k not in MANIFEST_TYPES or isinstance(v, MANIFEST_TYPES[k])}
    criteria = metrics.get("criteria")
    figures = metrics.get("figures")
    return RunSummary(folder, typed,
                      [c for c in criteria if isinstance(c, dict) and isinstance(c.get("key"), str)]
                      if isinstance(criteria, list) else [],
                      figures if isinstance(figures, dict) else {},
                      spec if isinstance(spec, dict) else {})


def find_runs(root: Path) -> list[RunSummary]:
    """Every run folder under ``root`` (sweep folders included), oldest first."""
    if not root.is_dir():
        raise InputError(f"{root}: no such folder")
    found, seen = [], set()
    for folder, dirs, files in os.walk(root, followlinks=True):  # a linked run folder counts
        real = os.path.realpath(folder)
        if real in seen:  # a loop of links, or a second link to the same folder
            dirs[:] = []
            continue
        seen.add(real)
        if MANIFEST_FILE in files:
            found.append(Path(real))  # listed by its own name, not the link's
    return [load_run(folder) for folder in sorted(found)]


def select(runs: Iterable[RunSummary], phase: int | None = None, status: str | None = None,
           since: str | None = None, sort: str = "started") -> list[RunSummary]:
    """Filter by phase, status and start time (ISO prefix, e.g. 2026-11-26), then sort."""
    keys = {"started": lambda r: str(r.manifest.get("started", "")),
            "id": lambda r: r.id, "status": lambda r: r.status,
            "phase": lambda r: (r.manifest.get("phase", -1), r.id),
            "duration": lambda r: float(r.manifest.get("duration_s") or 0)}
    if sort not in keys:
        raise InputError(f"--sort {sort!r}: use one of {', '.join(keys)}")
    chosen = [r for r in runs
              if (phase is None or r.manifest.get("phase") == phase)
              and (status is None or r.status == status)
              and (since is None or str(r.manifest.get("started", "")) >= since)]
    return sorted(chosen, key=keys[sort])


def compare(a: RunSummary, b: RunSummary) -> list[tuple[str, Any, Any, bool]]:
    """Criteria and figures side by side: (name, a's value, b's value, differ)."""
    rows: list[tuple[str, Any, Any, bool]] = []
    for name, left, right in (("status", a.status, b.status),
                              ("seed", a.manifest.get("seed"), b.manifest.get("seed")),
                              ("git sha", (a.manifest.get("git") or {}).get("sha"),
                               (b.manifest.get("git") or {}).get("sha"))):
        rows.append((name, left, right, left != right))
    crit_a = {c["key"]: c for c in a.criteria}
    crit_b = {c["key"]: c for c in b.criteria}
    for key in sorted(set(crit_a) | set(crit_b)):
        left, right = crit_a.get(key, {}), crit_b.get(key, {})
        rows.append((key, _verdict(left), _verdict(right),
                     left.get("value") != right.get("value")
                     or left.get("passed") != right.get("passed")))
    fig_a, fig_b = _flatten(a.figures, "figures"), _flatten(b.figures, "figures")
    for key in sorted(set(fig_a) | set(fig_b)):
        rows.append((key, fig_a.get(key), fig_b.get(key), fig_a.get(key) != fig_b.get(key)))
    return rows


def _verdict(criterion: Mapping[str, Any]) -> str:
    if not criterion:
        return "-"
    value = criterion.get("value")
    shown = f"{value:.4g}" if isinstance(value, int | float) else str(value)
    return f"{shown} ({'pass' if criterion.get('passed') is True else 'FAIL'})"


def export(runs: Sequence[RunSummary], out: Path, form: str) -> Path:
    """Write a row a run as CSV or Parquet (the [parquet] extra), whole or not at all."""
    rows = [r.row() for r in runs]
    columns = list(dict.fromkeys(k for row in rows for k in row))
    if form == "parquet":
        require("parquet", "runs export --parquet")
    with replacing(out) as partial:
        if form == "csv":
            with partial.open("w", newline="", encoding="utf-8",
                              errors="backslashreplace") as handle:  # lone surrogates
                writer = csv.DictWriter(handle, columns)
                writer.writeheader()
                writer.writerows(rows)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist([{c: _scalar(row.get(c)) for c in columns}
                                                 for row in rows]), partial)
    return out


def _scalar(value: Any) -> Any:
    return value if value is None or isinstance(value, (bool, int, float)) else str(value)
