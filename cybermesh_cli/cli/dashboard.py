"""``cybermesh dashboard``: serve the live world (or a replayed run) to a browser."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

DEFAULT_SPEC = Path("phase7")  # the bundled example, unless ./phase7 is yours


def dashboard(
    spec_file: Annotated[
        Path, typer.Argument(help="Dashboard spec (phase 7): the world to show and the wave.")
    ] = DEFAULT_SPEC,
    replay: Annotated[
        Path | None, typer.Option(help="Replay this phase-3 run's world instead of a live one.")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to bind (loopback unless told).")] = (
        "127.0.0.1"),
    port: Annotated[int, typer.Option(min=0, max=65535,
                                      help="Port; 0 picks a free one; a busy one tries the "
                                           "next.")] = 0,
    fps: Annotated[float | None, typer.Option(min=0.1, max=30,
                                              help="Frames per second (spec's by default).")
                   ] = None,
    minutes: Annotated[float | None, typer.Option(min=0.01,
                                                  help="Stop after this long (default: Ctrl-C)."
                                                  )] = None,
    runs_root: Annotated[Path, typer.Option(help="Where the session's event log goes, and "
                                                 "where --replay runs must be.")] = Path("runs"),
) -> None:
    """Serve frames over a WebSocket and the page that draws them; logs every frame and ack."""
    import asyncio

    from cybermesh_cli.dashboard.server import Dashboard, Running, bind
    from cybermesh_cli.dashboard.simulation import build_live, build_replay
    from cybermesh_cli.errors import InputError
    from cybermesh_cli.interrupts import acknowledge
    from cybermesh_cli.paths import resource
    from cybermesh_cli.pulses.registry import Registry
    from cybermesh_cli.runs.events import EventLog
    from cybermesh_cli.runs.record import new_run_folder
    from cybermesh_cli.runs.replay import resolve_run
    from cybermesh_cli.paths import spec_path
    from cybermesh_cli.spec import load_spec

    console = Console(stderr=True)
    spec_file = spec_path(spec_file)
    spec = load_spec(spec_file)
    if spec.phase != 7:
        raise InputError(f"{spec_file}: phase: the dashboard needs a phase 7 spec, got "
                         f"{spec.phase}")
    block = spec.block("phase7")
    registry = Registry(resource(block["registry"]))
    if replay is not None:
        simulation = build_replay(resolve_run(replay), block["wave"], registry)
    else:
        simulation = build_live(resource(block["world"]), block["wave"], registry, console)
    sock = bind(host, port)  # a bad host or a taken port is refused before any folder is made
    folder = new_run_folder(runs_root, f"dashboard{'-replay' if replay else ''}")
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]warning:[/] serving on {escape(host)}: reachable from other "
                      "machines")
    with EventLog(folder / "events.jsonl") as events:
        events.emit("run.start", -1, {"name": f"dashboard {spec.name}", "phase": 7,
                                      "replay": str(replay) if replay else None})
        served = Dashboard(simulation, events, fps or block["fps"], block["ticks_per_frame"])
        running = Running(served, host, port, sock)
        console.print(f"dashboard: [bold]{escape(running.url)}[/]  (log: "
                      f"{escape(str(folder))}/events.jsonl; "
                      "Ctrl-C stops)", highlight=False)
        try:
            asyncio.run(running.main(until=minutes * 60 if minutes else None))
        except KeyboardInterrupt:
            acknowledge()  # Ctrl-C is how a dashboard stops: no second interrupt while it logs
        events.emit("run.end", events.last_tick, {"status": "stopped"})
    stats = served.stats
    console.print(f"{stats.frames} frames, {stats.sent} sent, {stats.acked} acknowledged, "
                  f"{stats.dropped} dropped", highlight=False)
