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
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print one JSON object a file (ok, phase, name or error).")] = False,
) -> None:
    """Validate each spec; print one line per file, exit 2 if any is invalid."""
    import json

    from rich.text import Text

    from cybermesh_cli.errors import InputError
    from cybermesh_cli.paths import spec_path
    from cybermesh_cli.phases import preflight
    from cybermesh_cli.spec import load_spec

    out, err = Console(), Console(stderr=True)
    bad = 0
    for path in files:
        try:
            loaded = load_spec(spec_path(path))
            preflight(loaded)
        except InputError as exc:
            bad += 1
            if as_json:
                typer.echo(json.dumps({"file": str(path), "ok": False, "error": str(exc)}))
            else:
                err.print(Text.assemble(("invalid: ", "bold red"), str(exc)), highlight=False,
                          soft_wrap=True)
        else:
            if as_json:
                typer.echo(json.dumps({"file": str(path), "ok": True, "phase": loaded.phase,
                                       "name": loaded.name}))
            else:
                out.print(Text.assemble(("ok ", "green"),
                                        f"{path} (phase {loaded.phase}, {loaded.name})"))
    if bad:
        raise typer.Exit(2)
