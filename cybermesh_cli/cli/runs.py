"""``cybermesh runs``: list, compare and export run folders."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

app = typer.Typer(help="Inspect run folders: list, compare, export.", no_args_is_help=True)

WIDE = 200  # piped output is not cut at 80 columns


def _console() -> Console:
    return Console() if sys.stdout.isatty() else Console(width=WIDE)


STATUS_STYLE = {"passed": "green", "failed": "red", "interrupted": "yellow", "error": "red"}
RUN_STATUSES = ("running", *STATUS_STYLE, "unreadable")


@app.command("list")
def list_runs(
    folder: Annotated[Path | None, typer.Argument(
        help="Folder holding run folders (default: runs).", show_default=False)] = None,
    runs_dir: Annotated[Path, typer.Option("--dir", help="Same as FOLDER.")] = Path("runs"),
    phase: Annotated[int | None, typer.Option(help="Only runs of this phase.")] = None,
    status: Annotated[str | None, typer.Option(help="Only runs with this status.")] = None,
    since: Annotated[str | None, typer.Option(
        help="Only runs started at or after this ISO time (e.g. 2026-11-26).")] = None,
    sort: Annotated[str, typer.Option(
        help="started, id, status, phase or duration.")] = "started",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object a run.")] = False,
) -> None:
    """Show every run under FOLDER (nested sweep folders included), oldest first."""
    from cybermesh_cli.runs.catalog import find_runs, select

    from cybermesh_cli.errors import InputError

    root = folder if folder is not None else runs_dir
    if status is not None and status not in RUN_STATUSES:
        raise InputError(f"--status {status!r}: one of {', '.join(RUN_STATUSES)}")
    runs = select(find_runs(root), phase, status, since, sort)
    if as_json:
        typer.echo(json.dumps([{k: v for k, v in r.row().items() if not k.startswith(
            ("spec.", "phase_"))} for r in runs], indent=1))
        return
    if not runs:
        _console().print(Text(f"no runs in {root}/"))
        return
    table = Table(title=Text(f"runs in {root}/"))
    for column in ("id", "phase", "seed", "status", "criteria", "started", "duration", "git"):
        table.add_column(column, overflow="fold")
    for r in runs:
        m = r.manifest
        duration = f"{m['duration_s']:.1f} s" if "duration_s" in m else "-"
        table.add_row(Text(r.id), str(m.get("phase", "?")), str(m.get("seed", "?")),
                      Text(r.status, style=STATUS_STYLE.get(r.status, "")),
                      f"{m.get('criteria_passed', 0)}/{m.get('criteria_total', 0)}",
                      str(m.get("started", "-"))[:16].replace("T", " "), duration,
                      str((m.get("git") or {}).get("sha", "-"))[:10])
    _console().print(table)


@app.command("compare")
def compare(
    first: Annotated[Path, typer.Argument(help="A run folder.")],
    second: Annotated[Path, typer.Argument(help="Another run folder.")],
    changed: Annotated[bool, typer.Option(help="Show only what differs.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """Criteria and figures of two runs side by side; differences are marked."""
    from cybermesh_cli.runs.catalog import compare as side_by_side
    from cybermesh_cli.runs.catalog import load_run
    from cybermesh_cli.runs.replay import resolve_run

    a, b = load_run(resolve_run(first)), load_run(resolve_run(second))
    rows = [row for row in side_by_side(a, b) if row[3] or not changed]
    if as_json:
        typer.echo(json.dumps([{"name": n, "a": x, "b": y, "differs": d} for n, x, y, d in rows],
                              indent=1, default=str))
        return
    table = Table(title=Text(f"{a.id} (A) against {b.id} (B)"))
    for column in ("", "name", "A", "B"):
        table.add_column(column, overflow="fold")
    for name, left, right, differs in rows:
        table.add_row("*" if differs else "", Text(name), Text(str(left)), Text(str(right)),
                      style="yellow" if differs else None)
    _console().print(table)


@app.command("export")
def export(
    folder: Annotated[Path, typer.Argument(help="Folder holding run folders (or a sweep).")],
    out: Annotated[Path | None, typer.Option(
        "-o", "--output", help="File to write (default: FOLDER/runs.csv or runs.parquet).")] = None,
    parquet: Annotated[bool, typer.Option("--parquet", help="Write Parquet (needs pyarrow).")] = (
        False),
    csv: Annotated[bool, typer.Option("--csv", help="Write CSV (the default).")] = False,
) -> None:
    """Write a row a run: spec parameters, seed, git sha, each criterion's value and pass."""
    from cybermesh_cli.errors import InputError
    from cybermesh_cli.runs.catalog import export as write_table
    from cybermesh_cli.runs.catalog import find_runs

    if parquet and csv:
        raise InputError("runs export: give --csv or --parquet, not both")
    form = "parquet" if parquet else "csv"
    runs = find_runs(folder)
    if not runs:
        raise InputError(f"{folder}: no run folders to export")
    written = write_table(runs, out or folder / f"runs.{form}", form)
    Console(stderr=True).print(Text(f"wrote {written}: {len(runs)} runs"))
