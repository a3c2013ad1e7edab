"""The run's human-readable report.md: criteria, figures and plots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cybermesh_cli.criteria import Criterion


def _fmt(value: float) -> str:
    return f"{value:.4g}"


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
    if figures:
        lines += ["", "## Figures", ""]
        lines += [f"- **{key}**: {value}" for key, value in figures.items()]
    if plots:
        lines += ["", "## Plots", ""]
        lines += [f"![{name}]({name})" for name in plots]
    return "\n".join(lines) + "\n"
