"""The console entry point: catch Ctrl-C and SIGTERM first, then import and run the CLI.

A signal during start-up (importing typer, rich, numba) then ends the command with exit 130.
"""

from __future__ import annotations

from cybermesh_cli.interrupts import catch_interrupts, exit_interrupted


def main() -> None:
    """Run ``cybermesh``."""
    catch_interrupts()
    try:
        from cybermesh_cli.cli import main as run_cli

        run_cli()
    except KeyboardInterrupt:
        exit_interrupted()
