"""``cybermesh spec``: validate experiment specs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="Validate experiment specs against schemas/experiment.yaml.",
                  no_args_is_help=True)


@app.command("check")
def check(
    files: Annotated[list[Path], typer.Argument(help="Spec files to validate.")],
) -> None:
    """Validate each spec; print one line per file, exit 2 if any is invalid."""
    from cybermesh_cli.errors import InputError
    from cybermesh_cli.spec import load_spec

    out, err = Console(), Console(stderr=True)
    bad = 0
    for path in files:
        try:
            loaded = load_spec(path)
        except InputError as exc:
            err.print(f"[bold red]invalid:[/] {exc}", highlight=False, soft_wrap=True)
            bad += 1
        else:
            out.print(f"[green]ok[/] {path} (phase {loaded.phase}, {loaded.name})", highlight=False)
    if bad:
        raise typer.Exit(2)
