"""``cybermesh bench``: performance measurements, as ratios against baselines run alongside."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from cybermesh_cli.progress import waiting

app = typer.Typer(help="Benchmarks (medians of repeats; ratios against a baseline timed in "
                  "the same run).", no_args_is_help=True)


@app.command("substrate")
def substrate(
    sizes: Annotated[str, typer.Option(help="Comma-separated grid sides.")] = "80,1024,4096",
    rules: Annotated[str, typer.Option(help="Comma-separated rules.")] = "B3/S23",
    repeats: Annotated[int, typer.Option(min=1, help="Timed repeats per row (median).")] = 5,
    threads: Annotated[int, typer.Option(min=1, help="Threads for the parallel rows.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON rows.")] = False,
) -> None:
    """Cell updates per second of the Life kernels against numpy's eight-roll baseline."""
    from cybermesh_cli.errors import InputError
    from cybermesh_cli.substrate.bench import bench_substrate, rows_to_json

    try:
        side_list = [int(s) for s in sizes.split(",")]
    except ValueError:
        raise InputError(f"--sizes {sizes!r}: expected comma-separated integers") from None
    if any(s < 3 for s in side_list):
        raise InputError(f"--sizes {sizes!r}: every side must be at least 3")
    from cybermesh_cli.substrate.grid import check_cells

    for side in side_list:
        check_cells(side, side, f"--sizes {side}")
    console = Console()
    with waiting(console, "benchmarking the substrate kernels ..."):
        rows = bench_substrate(side_list, rules.split(","), repeats, threads=threads)
    if as_json:
        typer.echo(json.dumps(rows_to_json(rows), indent=1))
        return
    table = Table(title=f"Life kernels: cell updates/s, median of {repeats}; x numpy = ratio "
                  "to numpy's 8-roll step timed in the same run")
    for column in ("kernel", "rule", "size", "thr", "gens", "updates/s", "us/gen", "x numpy"):
        table.add_column(column, justify="left" if column in ("kernel", "rule") else "right")
    for r in rows:
        table.add_row(r.implementation, r.rule, f"{r.size}^2", str(r.threads),
                      str(r.gens_per_call), f"{r.cell_updates_per_s:.3g}", f"{r.us_per_gen:.3g}",
                      f"{r.ratio_to_numpy:.1f}")
    console.print(table)


@app.command("embed")
def embed(
    backend: Annotated[str, typer.Option(
        "--embedder", help="local, ollama, hash or auto.")] = "local",
    batch_sizes: Annotated[str, typer.Option(help="Comma-separated batch sizes.")] = "1,16,64",
    batches: Annotated[int, typer.Option(min=1, help="Timed batches per size.")] = 20,
    host: Annotated[str | None, typer.Option(help="Ollama host.")] = None,
) -> None:
    """Embedding latency per batch (median, p95) and texts per second, by batch size."""
    from cybermesh_cli.errors import InputError
    from cybermesh_cli.shards.bench import bench_embedder
    from cybermesh_cli.shards.embedders import make_embedder

    try:
        sizes = tuple(int(s) for s in batch_sizes.split(","))
    except ValueError:
        raise InputError(f"--batch-sizes {batch_sizes!r}: expected integers") from None
    console = Console()
    with waiting(console, f"benchmarking the {backend} embedder ..."):
        choice = make_embedder(backend, host)
        rows = bench_embedder(choice.embedder, sizes, batches)
    table = Table(title=f"{choice.embedder.name} embedder ({choice.embedder.model}): "
                  f"{batches} fresh batches per size")
    for column in ("batch", "median ms", "p95 ms", "texts/s"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(str(r.batch_size), f"{r.median_ms:.1f}", f"{r.p95_ms:.1f}",
                      f"{r.texts_per_s:.0f}")
    console.print(table)


@app.command("world")
def world(
    spec: Annotated[str, typer.Option(help="A phase-3 spec whose world is timed.")] = (
        "experiments/scale.yaml"),
    sides: Annotated[str, typer.Option(
        help="Comma-separated mesh sides (bots a side), 1 to 256.")] = "5,32,64,128",
    ticks: Annotated[int, typer.Option(min=1, max=100000, help="Ticks a timed block.")] = 100,
    repeats: Annotated[int, typer.Option(min=1, max=1000, help="Timed blocks (median).")] = 5,
    warmup: Annotated[int, typer.Option(min=0, max=100000, help="Ticks before timing.")] = 100,
    backend: Annotated[str | None, typer.Option(
        "--embedder", help="Embedder (default: the spec's): local, ollama, hash or auto.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON rows.")] = False,
) -> None:
    """Ticks/s and microseconds per bot-tick of the world, by mesh size (median of blocks)."""
    from pathlib import Path

    from cybermesh_cli.errors import InputError
    from cybermesh_cli.shards.corpus import embed_topics
    from cybermesh_cli.spec import load_spec
    from cybermesh_cli.world.bench import bench_world

    try:
        side_list = [int(s) for s in sides.split(",")]
    except ValueError:
        raise InputError(f"--sides {sides!r}: expected comma-separated integers") from None
    if any(not 1 <= s <= 256 for s in side_list):
        raise InputError(f"--sides {sides!r}: every side must be 1 to 256")
    loaded = load_spec(Path(spec))
    if loaded.phase != 3:
        raise InputError(f"{spec}: phase: bench world needs a phase 3 spec, got {loaded.phase}")
    block = dict(loaded.block("phase3"))
    if backend is not None:
        block["embedder"] = {**block["embedder"], "backend": backend}
    console = Console(stderr=True)
    corpus, _ = embed_topics(block, console)
    with waiting(console, "timing the world ...") as status:
        rows = bench_world(block, corpus.keys, corpus.shards, side_list, ticks, repeats, warmup,
                           loaded.seed, lambda size: status.update(f"timing the world: {size}")
                           if status is not None else None, labels=corpus.labels)
    if as_json:
        typer.echo(json.dumps([r.to_json() for r in rows], indent=1))
        return
    table = Table(title=f"the world of {spec}: median of {repeats} blocks of {ticks} ticks; "
                  f"x first = cost a bot-tick against the {side_list[0]}x{side_list[0]} mesh; "
                  "x bare = the world's tick over a bare step of its torus")
    for column in ("mesh", "bots", "ticks/s", "us/bot-tick", "x first", "carriers/bot",
                   "us/carrier-tick", "bare step us", "x bare", "peak MB"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(f"{r.side}x{r.side}", str(r.bots), f"{r.ticks_per_s:,.1f}",
                      f"{r.us_per_bot_tick:.2f}", f"{r.ratio_to_first:.2f}",
                      f"{r.carriers_per_bot:.3f}", f"{r.us_per_carrier_tick:.1f}",
                      f"{r.substrate_us_per_step:,.1f}", f"{r.world_to_substrate:,.0f}",
                      f"{r.peak_rss_mb:,.0f}")
    Console().print(table)
