"""The ``cybermesh`` command line: a thin Typer layer over the library.

Only typer and rich are imported at start-up; each command imports what it needs.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from cybermesh_cli.cli import (
    adapter,
    bench,
    ca,
    dashboard,
    examples,
    gate,
    recall,
    replay,
    run,
    runs,
    spec,
    sweep,
)
from cybermesh_cli.errors import CyberMeshError

app = typer.Typer(
    name="cybermesh",
    help="Run, replay and gate CyberMesh experiments (CA substrate, vector shards, LoRA pulses).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from cybermesh_cli import __version__

        typer.echo(f"cybermesh {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Run, replay and gate CyberMesh experiments (CA substrate, vector shards, LoRA pulses)."""
app.command("run")(run.run)
app.command("replay")(replay.replay)
app.command("recall")(recall.recall)
app.command("dashboard")(dashboard.dashboard)
app.add_typer(sweep.app, name="sweep")
app.add_typer(spec.app, name="spec")
app.add_typer(runs.app, name="runs")
app.add_typer(gate.app, name="gate")
app.add_typer(ca.app, name="ca")
app.add_typer(bench.app, name="bench")
app.add_typer(adapter.app, name="adapter")
app.add_typer(examples.app, name="examples")


def main() -> None:
    """Entry point: one red line and exit 2 for bad input, never a traceback."""
    try:
        app()
    except KeyboardInterrupt:
        from cybermesh_cli.interrupts import exit_interrupted

        Console(stderr=True).print("interrupted", style="yellow")
        exit_interrupted()
    except ModuleNotFoundError as exc:
        from cybermesh_cli.extras import MissingExtraError, extra_of

        extra = extra_of(exc.name or "")
        if extra is None:
            raise
        missing = MissingExtraError(extra, exc.name or "", "this command")
        Console(stderr=True).print(Text.assemble(("error: ", "bold red"), str(missing)),
                                   highlight=False, soft_wrap=True)
        sys.exit(missing.exit_code)
    except OSError as exc:  # a full disk, a read-only or missing folder: the path and why
        where = exc.filename if exc.filename is not None else "i/o"
        Console(stderr=True).print(Text.assemble(("error: ", "bold red"),
                                                 f"{where}: {exc.strerror or exc}"),
                                   highlight=False, soft_wrap=True)
        sys.exit(2)
    except CyberMeshError as exc:
        from cybermesh_cli.interrupts import INTERRUPTED, exit_interrupted

        if INTERRUPTED.is_set():  # the interrupt surfaced as a library error
            Console(stderr=True).print("interrupted", style="yellow")
            exit_interrupted()
        message = Text.assemble(("error: ", "bold red"), str(exc))  # user text is never markup
        Console(stderr=True).print(message, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
