"""``cybermesh replay``: validate, summarise and re-simulate a run's event log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


def replay(
    run_dir: Annotated[Path, typer.Argument(help="A run folder, e.g. runs/<id>.")],
    runs_root: Annotated[
        Path, typer.Option(help="Run paths must stay inside this folder.")
    ] = Path("runs"),
    resimulate: Annotated[
        bool, typer.Option(help="Re-simulate from the logged seeds and compare every event.")
    ] = True,
) -> None:
    """Check RUN_DIR's log; exit 0 if it verifies, 1 if it diverges, 2 if it is malformed."""
    from cybermesh_cli.runs.replay import replay as do_replay
    from cybermesh_cli.runs.replay import resolve_run

    console = Console()
    report = do_replay(resolve_run(run_dir, runs_root), resimulate=resimulate)
    table = Table(title=f"replay of {run_dir}")
    table.add_column("event type")
    table.add_column("count", justify="right")
    for kind, count in sorted(report.by_type.items()):
        table.add_row(kind, str(count))
    console.print(table)
    console.print(f"{report.events} events, last tick {report.last_tick}, "
                  f"status {report.end_status or 'unknown (no run.end)'}", highlight=False)
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    if resimulate:
        console.print(f"re-simulation verified {report.verified} events", highlight=False)
    if report.divergence:
        d = report.divergence
        console.print(f"[bold red]diverged[/] at tick {d.tick}, line {d.line}, {d.type}:\n"
                      f"  expected {d.expected}\n  logged   {d.logged}", highlight=False)
        raise typer.Exit(1)
