"""``cybermesh gate``: run the policy's quality gates; halt with an ISSUE file on failure."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.markup import escape

from cybermesh_cli.gates.runner import COMMAND_TIMEOUT_S
from cybermesh_cli.progress import waiting

app = typer.Typer(help="Quality gates: lint, type, unit, docs, perf, security, or all (validate).",
                  no_args_is_help=True)

RootOption = Annotated[Path, typer.Option(help="Project root to check.")]
OfflineOption = Annotated[
    bool, typer.Option(help="Skip what needs the network (pip-audit), saying so.")
]
TimeoutOption = Annotated[float, typer.Option(
    min=1, max=86400, help="Seconds each gate command may run; past it its process group is "
    "stopped and what it printed is kept.")]


JsonOption = Annotated[bool, typer.Option(
    "--json", help="Print each gate's verdict as JSON on stdout (the rest goes to stderr).")]


def _run_gates(names: tuple[str, ...], root: Path, offline: bool, timeout: float,
               as_json: bool = False) -> None:
    from cybermesh_cli.gates.protocol import HALT_MESSAGE, Failure, run_failure_protocol
    from cybermesh_cli.gates.runner import GateConfig, GateResult, run_gate

    import json

    console = Console(stderr=as_json)
    cfg = GateConfig.load(root.resolve())
    results: list[GateResult] = []
    for name in names:
        with waiting(console, f"gate {name} ..."):
            result = run_gate(name, cfg, offline, timeout)
        results.append(result)
        mark = "[green]PASS[/]" if result.passed else "[bold red]FAIL[/]"
        console.print(f"{mark} {name:<9} {result.seconds:7.1f} s  {escape(result.summary)}",
                      highlight=False)
        if not result.passed:
            break
    if len(names) > 1:
        table = Table(title="gate validate")
        for column in ("gate", "result", "seconds", "summary"):
            table.add_column(column)
        for r in results:
            table.add_row(r.name, "pass" if r.passed else "FAIL", f"{r.seconds:.1f}",
                          escape(r.summary))
        for skipped in names[len(results):]:
            table.add_row(skipped, "not run", "", "halted before this gate")
        console.print(table)
    failed = next((r for r in results if not r.passed), None)
    verdicts = [{"gate": r.name, "passed": r.passed, "seconds": round(r.seconds, 1),
                 "summary": r.summary} for r in results]
    if failed is None:
        if as_json:
            typer.echo(json.dumps({"passed": True, "gates": verdicts}, indent=1))
        return
    console.print(failed.output[-4000:], highlight=False, markup=False)
    outcome = run_failure_protocol(
        cfg.root,
        Failure(gate=failed.name, task=f"cybermesh gate {' '.join(names)}",
                summary=failed.summary, output=failed.output,
                command=" && ".join(failed.commands)),
    )
    if as_json:
        typer.echo(json.dumps({"passed": False, "gates": verdicts,
                               "issue_file": str(outcome.issue_file),
                               "logs": str(outcome.logs_dir)}, indent=1))
    console.print(f"[bold red]{HALT_MESSAGE}[/]\nIssue file: {escape(str(outcome.issue_file))}\n"
                  f"Logs: {escape(str(outcome.logs_dir))}\n"
                  "Review logs and living docs before proceeding", highlight=False)
    raise typer.Exit(1)


def _single(name: str) -> None:
    def command(root: RootOption = Path("."), offline: OfflineOption = False,
                timeout: TimeoutOption = COMMAND_TIMEOUT_S, as_json: JsonOption = False) -> None:
        _run_gates((name,), root, offline, timeout, as_json)

    command.__doc__ = f"Run the {name} gate alone."
    app.command(name)(command)


for _name in ("lint", "type", "unit", "docs", "perf", "security"):
    _single(_name)


@app.command("validate")
def validate(root: RootOption = Path("."), offline: OfflineOption = False,
             timeout: TimeoutOption = COMMAND_TIMEOUT_S, as_json: JsonOption = False) -> None:
    """Run every gate in order (lint, type, unit, docs, perf, security); halt at the first fail."""
    from cybermesh_cli.gates.runner import GATE_ORDER

    _run_gates(GATE_ORDER, root, offline, timeout, as_json)
