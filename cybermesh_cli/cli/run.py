"""``cybermesh run``: run one experiment spec into runs/<id>/."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.markup import escape

def run(
    spec_file: Annotated[
        Path, typer.Argument(help="Experiment spec, e.g. experiments/phase3.yaml, or the name "
                             "of a bundled example (phase3; see `cybermesh examples`).")
    ],
    seed: Annotated[int | None, typer.Option(help="Override the spec's seed.")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a spec value: --set duration.ticks=100 (repeatable)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder that receives the run folder.")] = Path("runs"),
    protocol: Annotated[
        bool, typer.Option(help="On failed criteria, run the failure protocol (ISSUE file).")
    ] = True,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the run folder, status and criteria as JSON on stdout.")] = False,
) -> None:
    """Validate SPEC_FILE, run it, check its criteria; exit 0 pass, 1 fail, 2 bad input, 130 ^C.

    On a terminal the criteria table goes to stdout; piped, stdout carries only the run
    folder (or, with --json, one JSON object), and everything else goes to stderr.
    """
    from cybermesh_cli.paths import spec_path
    from cybermesh_cli.interrupts import catch_interrupts, exit_interrupted
    from cybermesh_cli.runner import run_experiment
    from cybermesh_cli.spec import load_spec

    console = Console(stderr=True)
    catch_interrupts()
    spec_file = spec_path(spec_file)
    spec = load_spec(spec_file, set_ or [], seed)
    outcome = run_experiment(spec, out, console)
    record = outcome.record
    section = outcome.criteria[0].key.split(".", 1)[0] if outcome.criteria else ""
    table = Table(title=f"{spec.name}: {section} criteria")
    for column in ("criterion", "value", "threshold", "pass"):
        table.add_column(column, justify="right" if column in ("value", "threshold") else "left")
    for c in outcome.criteria:
        mark = "[green]yes[/]" if c.passed else "[bold red]NO[/]"
        table.add_row(c.key.split(".", 1)[-1], f"{c.value:.4g}", f"{c.op} {c.threshold:.4g}", mark)
    (Console() if sys.stdout.isatty() and not as_json else console).print(table)
    console.print(f"run folder: {record.dir}  (report: {record.dir / 'report.md'})",
                  highlight=False, markup=False, soft_wrap=True)
    if as_json:
        typer.echo(json.dumps({"run": str(record.dir), "status": outcome.status,
                               "criteria": [c.to_json() for c in outcome.criteria]}))
    elif not sys.stdout.isatty():
        typer.echo(str(record.dir))
    if outcome.status == "interrupted":
        console.print("[yellow]interrupted[/]: events.jsonl ends with run.end status=interrupted")
        exit_interrupted()
    if outcome.status == "error":
        console.print(f"[bold red]error:[/] {escape(str(outcome.error))} (traceback in "
                      f"{escape(str(record.dir))}/run.log)", soft_wrap=True)
        raise typer.Exit(1)
    if outcome.status == "failed":
        failed = [c.key for c in outcome.criteria if not c.passed]
        if protocol:
            _halt(spec_file, spec.phase, failed, record.dir, console)
        raise typer.Exit(1)
    console.print(f"[bold green]passed[/] {len(outcome.criteria)}/{len(outcome.criteria)} criteria")


def _halt(spec_file: Path, phase: int, failed: list[str], run_dir: Path, console: Console) -> None:
    """Run the policy's failure protocol where it belongs.

    In the project's checkout it updates the checkout's living docs; anywhere else (a user's
    folder of experiments, an installed wheel) its ISSUE file and logs go into the run's folder.
    """
    from cybermesh_cli.gates.protocol import (
        HALT_MESSAGE,
        Failure,
        checkout_of,
        run_failure_protocol,
    )

    report = (run_dir / "report.md").read_text()
    failure = Failure(gate="criteria", task=f"phase {phase} experiment {spec_file}",
                      summary=f"criteria failed: {', '.join(failed)}", output=report,
                      command=f"cybermesh run {spec_file}")
    checkout = checkout_of(Path.cwd().resolve())
    result = run_failure_protocol(checkout or run_dir, failure, living_docs=bool(checkout))
    console.print(f"[bold red]{HALT_MESSAGE}[/]\nIssue file: {escape(str(result.issue_file))}",
                  highlight=False)
