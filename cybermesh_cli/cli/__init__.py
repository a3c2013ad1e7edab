"""The ``cybermesh`` command line: a thin Typer layer over the library.

Only typer and rich are imported at start-up; each command imports what it needs.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from cybermesh_cli.cli import (
    adapter,
    bench,
    ca,
    dashboard,
    gate,
    replay,
    run,
    runs,
    spec,
    sweep,
)
from cybermesh_cli.errors import UserError

app = typer.Typer(
    name="cybermesh",
    help="Run, replay and gate CyberMesh experiments (CA substrate, vector shards, LoRA pulses).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("run")(run.run)
app.command("replay")(replay.replay)
app.command("dashboard")(dashboard.dashboard)
app.command("sweep")(sweep.sweep)
app.add_typer(spec.app, name="spec")
app.add_typer(runs.app, name="runs")
app.add_typer(gate.app, name="gate")
app.add_typer(ca.app, name="ca")
app.add_typer(bench.app, name="bench")
app.add_typer(adapter.app, name="adapter")


def main() -> None:
    """Entry point: one red line and exit 2 for bad input, never a traceback."""
    try:
        app()
    except UserError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
