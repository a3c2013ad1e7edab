"""``cybermesh examples``: the example specs bundled with the package, to run or copy out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

app = typer.Typer(help="Bundled example specs: list them (run one by name: `cybermesh run "
                  "phase3`), or copy them out to edit.", invoke_without_command=True)


@app.callback()
def list_examples(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the examples and patterns as JSON on stdout.")] = False,
) -> None:
    """List the bundled example specs (phase, the extras each needs) and patterns."""
    if ctx.invoked_subcommand is not None:
        return
    import json
    from textwrap import shorten

    from cybermesh_cli.paths import EXPERIMENTS_DIR, examples
    from cybermesh_cli.phases import required_extras
    from cybermesh_cli.spec import load_spec

    specs: list[dict[str, Any]] = []
    for path in examples():
        spec = load_spec(path)
        specs.append({"name": path.stem, "phase": spec.phase,
                      "needs": required_extras(spec),
                      "description": str(spec.data.get("description", "")).strip()})
    patterns = sorted(p.stem for p in (EXPERIMENTS_DIR / "patterns").glob("*.rle"))
    if as_json:
        typer.echo(json.dumps({"examples": specs, "patterns": patterns}, indent=1))
        return
    table = Table(title="bundled examples (cybermesh run NAME)")
    for column in ("name", "phase", "needs", "description"):
        table.add_column(column)
    for row in specs:
        table.add_row(row["name"], str(row["phase"]),
                      Text(", ".join(f"[{e}]" for e in row["needs"]) or "core"),
                      Text(shorten(row["description"], 90, placeholder=" ...")))
    console = Console()
    console.print(table)
    console.print(Text(f"patterns (cybermesh ca show NAME): {', '.join(patterns)}"))


@app.command("copy")
def copy(
    folder: Annotated[Path, typer.Argument(help="Folder to write the examples into.")],
    force: Annotated[bool, typer.Option(help="Overwrite files that exist.")] = False,
) -> None:
    """Write the bundled specs, corpus, patterns and adapter specs into FOLDER/experiments."""
    import shutil

    from cybermesh_cli.errors import InputError
    from cybermesh_cli.paths import EXPERIMENTS_DIR

    target = folder / "experiments"
    if target.exists() and not force:
        raise InputError(f"{target}: exists; pass --force to overwrite")
    try:
        shutil.copytree(EXPERIMENTS_DIR, target, dirs_exist_ok=True)
    except OSError as exc:
        raise InputError(f"{target}: cannot write ({exc.strerror})") from None
    Console().print(Text(f"wrote {target}: run one with `cybermesh run {target}/phase3.yaml`"))
