"""``cybermesh sweep``: a spec over seeds and a grid, in parallel; ``sweep report`` aggregates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup


class _SpecOrReport(TyperGroup):
    """``sweep SPEC ...`` runs a sweep (the ``run`` command); ``sweep report DIR`` aggregates."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # Typer's own click Context
        """Route anything that is not a subcommand or a help flag to ``run``."""
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_SpecOrReport, no_args_is_help=True,
    help="Sweep a spec over seeds and a grid (`cybermesh sweep SPEC ...`, the same as `sweep "
         "run SPEC ...`), then aggregate it (`cybermesh sweep report runs/<sweep-id>`).")


@app.command("run")
def sweep(
    target: Annotated[str, typer.Argument(
        metavar="SPEC",
        help="An experiment spec (a file, or a bundled example's name such as phase1).")],
    seeds: Annotated[str, typer.Option(help="Seeds: 0..99, 1,2,5 or a mix.")] = "0..9",
    grid: Annotated[list[str] | None, typer.Option(
        help="A parameter and its values: --grid phase1.energy.half_life=5,10 (repeatable; "
             "the sweep runs every combination).")] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, help="Parallel runs on the local Ray (default: every CPU).")] = None,
    address: Annotated[str | None, typer.Option(
        help="Join this Ray cluster (e.g. ray://head:10001) instead of starting one.")] = None,
    backend: Annotated[str, typer.Option(
        help="ray, or serial (one after another in this process: the baseline).")] = "ray",
    gpus_per_run: Annotated[float, typer.Option(min=0, help="GPUs each Ray task asks for.")] = 0,
    fail_fast: Annotated[bool, typer.Option(help="Stop at the first run that fails.")] = False,
    name: Annotated[str | None, typer.Option(help="Sweep name (default: the spec's).")] = None,
    runs_root: Annotated[Path, typer.Option(
        "--out", "--runs-root", help="Folder that receives the sweep folder.")] = Path("runs"),
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the sweep folder and each run's status as JSON on stdout.")] = False,
) -> None:
    """Run SPEC for every seed x grid point as ordinary runs in runs/<sweep-id>/, resumably.

    Running the same sweep again skips finished runs. Then `cybermesh sweep report
    runs/<sweep-id>` writes report.md and plots: pass rates, means and 95% intervals.
    """
    from cybermesh_cli.errors import InputError

    if backend not in ("ray", "serial"):
        raise InputError(f"--backend {backend!r}: use ray or serial")
    _run(Path(target), seeds, grid or [], workers, address, backend, gpus_per_run, fail_fast,
         name, runs_root, Console(stderr=True), as_json)


@app.command("report")
def report(
    folder: Annotated[Path, typer.Argument(help="The sweep folder, runs/<sweep-id>.")],
    as_json: Annotated[bool, typer.Option(
        "--json", help="Also print every criterion's figures at every grid point as JSON.")
    ] = False,
) -> None:
    """Write report.md, report.csv and plots for a sweep: pass rates, means, 95% intervals."""
    from cybermesh_cli.sweeps.report import REPORT_CSV, write_report

    resolved = folder.expanduser().resolve()
    written, rows = write_report(resolved)
    Console(stderr=True).print(f"wrote {escape(str(written))}", highlight=False)
    if as_json:
        import json
        import math

        plain = [{k: None if isinstance(v, float) and math.isnan(v) else v  # a single run
                  for k, v in row.items()} for row in rows]
        summary: dict[str, Any] = {"sweep": str(resolved), "report": str(written),
                                   "csv": str(resolved / REPORT_CSV), "rows": plain}
        typer.echo(json.dumps(summary))


def _run(spec_path: Path, seeds: str, grid: list[str], workers: int | None, address: str | None,
         backend: str, gpus_per_run: float, fail_fast: bool, name: str | None,
         runs_root: Path, console: Console, as_json: bool = False) -> None:
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.progress import TimeElapsedColumn, TimeRemainingColumn

    from cybermesh_cli.spec import load_spec
    from cybermesh_cli.sweeps.execute import (
        RunResult,
        default_workers,
        describe_failures,
        pending,
        run_ray,
        run_serial,
        summary,
    )
    from cybermesh_cli.files import lock_folder
    from cybermesh_cli.sweeps.plan import expand, parse_grid, parse_seeds

    from cybermesh_cli.interrupts import acknowledge, catch_interrupts, exit_interrupted

    from cybermesh_cli.paths import spec_path as resolve_spec
    from cybermesh_cli.phases import preflight

    catch_interrupts()
    spec_path = resolve_spec(spec_path)  # a bundled example by name: `sweep phase1`
    seed_list = parse_seeds(seeds)
    grid_values = parse_grid(grid)
    spec = load_spec(spec_path)
    preflight(spec)  # a missing extra is one line before the sweep folder is written
    plan = expand(spec_path, seed_list, grid_values, name or spec.name)
    for run in {r.point: r for r in plan.runs}.values():  # every grid point: a valid spec
        load_spec(spec_path, list(run.overrides), run.seed)
    folder = runs_root / plan.sweep_id
    folder.mkdir(parents=True, exist_ok=True)
    lock = lock_folder(folder, "sweep")  # noqa: F841 - held until this function returns
    plan.save(folder)
    todo, done_before = pending(plan, folder)
    count = workers or default_workers()
    where = "serially" if backend == "serial" else (
        f"on Ray at {address}" if address else f"on a local Ray, {count} workers")
    console.print(f"sweep {folder}: {len(plan.runs)} runs ({len(plan.points)} point(s) x "
                  f"{len(seed_list)} seeds); {done_before} finished before, {len(todo)} to run "
                  f"{where}", highlight=False)
    results: list[RunResult] = []
    failed = 0
    started = time.perf_counter()
    columns = (TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[state]}"), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("runs", total=len(todo), state="")
        stream = (run_serial(plan, todo, folder) if backend == "serial" or not todo else
                  run_ray(plan, todo, folder, count, address, gpus_per_run,
                          lambda: fail_fast and failed > 0))
        try:
            for result in stream:
                if result.status == "interrupted":
                    raise KeyboardInterrupt
                results.append(result)
                failed += result.status != "passed"
                running = 1 if backend == "serial" else min(count, len(todo) - len(results))
                progress.update(task, advance=1, state=f"running {running}, failed {failed}")
                if fail_fast and failed and backend == "serial":
                    break
        except KeyboardInterrupt:
            acknowledge()
            progress.stop()
            console.print(f"[yellow]interrupted[/]: {len(results)} runs finished; the same "
                          "command resumes with the rest", highlight=False)
            exit_interrupted()
    seconds = time.perf_counter() - started
    console.print(f"{len(results)} runs in {seconds:.1f} s: {summary(results)}", highlight=False)
    for line in describe_failures(results):
        console.print(f"  [red]{escape(line)}[/]", highlight=False)
    console.print(f"report: cybermesh sweep report {folder}", highlight=False)
    if as_json:
        import json

        typer.echo(json.dumps({"sweep": str(folder), "finished_before": done_before,
                               "results": [{"run": r.name, "status": r.status,
                                            "seconds": round(r.seconds, 3), "error": r.error}
                                           for r in results]}))
    if failed:
        raise typer.Exit(1)
