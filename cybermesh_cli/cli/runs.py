"""``cybermesh runs``: list run folders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

app = typer.Typer(help="Inspect run folders.", no_args_is_help=True)

STATUS_STYLE = {"passed": "green", "failed": "red", "interrupted": "yellow", "error": "red"}


@app.command("list")
def list_runs(
    folder: Annotated[Path | None, typer.Argument(
        help="Folder holding run folders (default: runs).", show_default=False)] = None,
    runs_dir: Annotated[Path, typer.Option("--dir", help="Same as FOLDER.")] = Path("runs"),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object a run.")] = False,
) -> None:
    """Show every run under FOLDER (nested sweep folders included), oldest first."""
    import json

    from cybermesh_cli.runs.record import MANIFEST_FILE, read_json

    runs_dir = folder if folder is not None else runs_dir
    if as_json:
        found = []
        for manifest_path in sorted(runs_dir.rglob(MANIFEST_FILE)):
            try:
                m = read_json(manifest_path)
            except ValueError:
                m = {"status": "unreadable"}
            found.append({"id": manifest_path.parent.name, "path": str(manifest_path.parent),
                          **{k: m.get(k) for k in ("phase", "status", "seed", "criteria_passed",
                                                   "criteria_total", "duration_s")}})
        typer.echo(json.dumps(found, indent=1))
        return
    table = Table(title=Text(f"runs in {runs_dir}/"))
    for column in ("id", "phase", "status", "criteria", "duration"):
        table.add_column(column)
    count = 0
    for manifest_path in sorted(runs_dir.rglob(MANIFEST_FILE)):
        try:
            m = read_json(manifest_path)
        except ValueError:
            table.add_row(str(manifest_path.parent.relative_to(runs_dir)), "?", "unreadable", "",
                          "")
            continue
        status = str(m.get("status", "?"))
        style = STATUS_STYLE.get(status, "white")
        criteria = f"{m.get('criteria_passed', 0)}/{m.get('criteria_total', 0)}"
        duration = f"{m['duration_s']:.1f} s" if "duration_s" in m else "-"
        table.add_row(str(manifest_path.parent.relative_to(runs_dir)), str(m.get("phase", "?")),
                      f"[{style}]{status}[/]", criteria, duration)
        count += 1
    Console().print(table if count else f"no runs in {runs_dir}/")
