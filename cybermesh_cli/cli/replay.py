"""``cybermesh replay``: validate, summarise and re-simulate a run's event log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.markup import escape


def replay(
    run_dir: Annotated[Path, typer.Argument(help="A run folder, e.g. runs/<id>, wherever it is.")],
    resimulate: Annotated[
        bool, typer.Option(help="Re-simulate from the logged seeds and compare every event.")
    ] = True,
    tick: Annotated[
        int | None, typer.Option(min=0, help="Show the world at this tick (phase 3).")
    ] = None,
    export: Annotated[
        Path | None, typer.Option(help="Write the run as an animated GIF (phase 3).")
    ] = None,
    every: Annotated[int, typer.Option(min=1, help="With --export: one frame per N ticks.")] = 4,
    stats: Annotated[
        bool, typer.Option(help="Also compare the log's size with full per-tick state dumps.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check RUN_DIR's log; exit 0 if it verifies, 1 if it diverges, 2 if it is malformed."""
    from cybermesh_cli.phases import load_driver, state_bytes
    from cybermesh_cli.runs.replay import replay as do_replay
    from cybermesh_cli.runs.replay import resolve_run

    console = Console(soft_wrap=True)
    folder = resolve_run(run_dir)
    if tick is not None or export is not None:
        _show(folder, tick, export, every, console)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("re-simulating", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("replay", total=None)
        report = do_replay(folder, load_driver if resimulate else None,
                           lambda done, total: bar.update(task, completed=done, total=total))
    if as_json:
        _print_json(folder, report, stats)
        return
    table = Table(title=Text(f"replay of {run_dir}"))
    table.add_column("event type")
    table.add_column("count", justify="right")
    for kind, count in sorted(report.by_type.items()):
        table.add_row(kind, str(count))
    console.print(table)
    console.print(f"{report.events} events, last tick {report.last_tick}, "
                  f"status {report.end_status or 'unknown (no run.end)'}", highlight=False)
    for note in report.notes:
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
    if resimulate:
        console.print(f"re-simulation verified {report.verified} events", highlight=False)
    if stats:
        from cybermesh_cli.runs.compression import compression

        c = compression(folder, state_bytes)
        console.print(f"log {c.log_bytes:,} B against full state dumps {c.dump_bytes:,} B over "
                      f"{c.ticks} ticks: {c.ratio:.1f}x smaller", highlight=False)
    if report.divergence:
        d = report.divergence
        console.print(f"[bold red]diverged[/] at tick {d.tick}, line {d.line}, "
                      f"{escape(str(d.type))}:\n  expected {escape(str(d.expected))}\n"
                      f"  logged   {escape(str(d.logged))}", highlight=False)
        raise typer.Exit(1)


def _show(folder: Path, tick: int | None, export: Path | None, every: int,
          console: Console) -> None:
    from cybermesh_cli.errors import InputError
    from cybermesh_cli.runs.events import read_events
    from cybermesh_cli.runs.frames import export_gif
    from cybermesh_cli.runs.record import EVENTS_FILE, SPEC_FILE
    from cybermesh_cli.spec import load_spec
    from cybermesh_cli.substrate.render import render
    from cybermesh_cli.world.rebuild import frames

    spec = load_spec(folder / SPEC_FILE)
    if spec.phase != 3:
        raise InputError(f"{folder}: --tick and --export need a phase 3 run (this is phase "
                         f"{spec.phase})")
    last = max(e["tick"] for e in read_events(folder / EVENTS_FILE).events)
    if tick is not None:
        if tick > last:
            raise InputError(f"--tick {tick}: the run's last tick is {last}")
        frame = next(frames(folder, {tick}))
        console.print(f"tick {tick}: {int(frame.cells.sum())} live cells, "
                      f"{len(frame.carriers)} loaded carriers", highlight=False)
        console.print(render(frame.cells), highlight=False, markup=False)
        table = Table(title="shards in flight")
        for column in ("shard", "status", "bot", "carrier", "origin", "hops so far"):
            table.add_column(column)
        for s in frame.shards:
            hops = s.hops()
            table.add_row(str(s.id), s.status, str(s.bot), str(s.carrier), str(s.origin),
                          str(hops))
        console.print(table)
    if export is not None:
        count = export_gif(frames(folder, set(range(0, last + 1, every))), export)
        console.print(f"wrote {export}: {count} frames", highlight=False)


def _print_json(folder: Path, report: Any, stats: bool) -> None:
    """Print the replay's result as one JSON object; exit 1 if it diverged."""
    import json
    from dataclasses import asdict

    from cybermesh_cli.phases import state_bytes
    from cybermesh_cli.runs.compression import compression

    result: dict[str, Any] = {
        "run": str(folder), "events": report.events, "by_type": dict(report.by_type),
        "last_tick": report.last_tick, "end_status": report.end_status,
        "verified": report.verified, "notes": report.notes,
        "divergence": asdict(report.divergence) if report.divergence else None}
    if stats:
        c = compression(folder, state_bytes)
        result["compression"] = {"log_bytes": c.log_bytes, "dump_bytes": c.dump_bytes,
                                 "ticks": c.ticks, "ratio": round(c.ratio, 2)}
    typer.echo(json.dumps(result, default=str))
    if report.divergence:
        raise typer.Exit(1)
