"""``cybermesh examples``: the example specs bundled with the package, to run or copy out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

app = typer.Typer(help="Bundled example specs: list them (run one by name: `cybermesh run "
                  "phase3`), or copy them out to edit.", invoke_without_command=True)


@app.callback()
def list_examples(ctx: typer.Context) -> None:
    """List the bundled example specs with their phase and name."""
    if ctx.invoked_subcommand is not None:
        return
    from textwrap import shorten

    import yaml

    from cybermesh_cli.paths import examples

    table = Table(title="bundled examples (cybermesh run NAME)")
    for column in ("name", "phase", "description"):
        table.add_column(column)
    for path in examples():
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        table.add_row(path.stem, str(data.get("phase", "?")),
                      Text(shorten(str(data.get("description", "")), 100, placeholder=" ...")))
    Console().print(table)


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
