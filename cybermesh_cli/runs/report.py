"""The run's human-readable report.md: criteria, figures and plots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cybermesh_cli.criteria import Criterion


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _is_table(value: Any) -> bool:
    """A non-empty list of flat dicts reads best as a table."""
    return (isinstance(value, list) and bool(value) and all(isinstance(r, dict) for r in value)
            and all(not isinstance(v, dict | list) for r in value for v in r.values()))


def _cell(value: Any) -> str:
    return _fmt(value) if isinstance(value, float) else str(value)


def _table(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    return [f"| {' | '.join(columns)} |", f"|{'---|' * len(columns)}",
            *(f"| {' | '.join(_cell(row.get(c, '')) for c in columns)} |" for row in rows)]


TIMING_MARKS = ("latency", "_ms", "fps", "per_s")  # criteria judged against the clock


def _load_note(manifest: Mapping[str, Any], criteria: Sequence[Criterion]) -> list[str]:
    """Say so when a timing criterion failed while the machine was busier than its CPUs."""
    load, cpus = manifest.get("load") or {}, (manifest.get("load") or {}).get("cpus") or 1
    busiest = max((v[0] for v in (load.get("start"), load.get("end")) if v), default=0.0)
    timing = [c.key for c in criteria if not c.passed and any(m in c.key for m in TIMING_MARKS)]
    if not timing or busiest <= cpus:
        return []
    return ["", f"Timing verdicts were judged on a busy machine (load average {busiest:.1f} "
            f"on {cpus} CPUs): {', '.join(f'`{k}`' for k in timing)} may pass on an idle one. "
            "Functional verdicts do not depend on the clock."]


def render_report(
    manifest: Mapping[str, Any],
    criteria: Sequence[Criterion],
    figures: Mapping[str, Any],
    plots: Sequence[str],
) -> str:
    """Markdown for runs/<id>/report.md."""
    passed = sum(c.passed for c in criteria)
    lines = [
        f"# Run {manifest['id']}",
        "",
        f"- spec: `{manifest['spec']}` (phase {manifest['phase']}, seed {manifest['seed']})",
        f"- status: **{manifest['status']}**, {passed}/{len(criteria)} criteria passed",
        f"- started {manifest['started']}, ended {manifest.get('ended', '-')}, "
        f"{manifest.get('duration_s', 0):.2f} s",
        f"- git {manifest['git']['sha'][:12]}{' (dirty)' if manifest['git']['dirty'] else ''}, "
        f"device {manifest['device']}, Python {manifest['env']['python']}",
        "",
        "## Criteria",
        "",
        "| criterion | value | threshold | pass |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| `{c.key}` | {_fmt(c.value)} | {c.op} {_fmt(c.threshold)} | {'yes' if c.passed else 'NO'} |"
        for c in criteria
    ]
    lines += _load_note(manifest, criteria)
    if figures:
        lines += ["", "## Figures", ""]
        tables = {k: v for k, v in figures.items() if _is_table(v)}
        lines += [f"- **{key}**: {value}" for key, value in figures.items() if key not in tables]
        for key, rows in tables.items():
            lines += ["", f"**{key}**", "", *_table(rows)]
    if plots:
        lines += ["", "## Plots", ""]
        lines += [f"![{name}]({name})" for name in plots]
    return "\n".join(lines) + "\n"
