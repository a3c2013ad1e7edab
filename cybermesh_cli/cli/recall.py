"""``cybermesh recall``: query a finished memory run (experiments/memory.yaml) with a text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text


def recall(
    run_dir: Annotated[Path, typer.Argument(help="A memory run folder, wherever it is.")],
    texts: Annotated[list[str], typer.Argument(
        help="What to look for, one query a text (embedded together, as the run was).")],
    k: Annotated[int, typer.Option(min=1, max=1000, help="Hits to return.")] = 10,
    probe: Annotated[int | None, typer.Option(
        min=1, help="Bots to probe (default: the run's judged share, 10% of the bots).")] = None,
    origin: Annotated[int, typer.Option(min=0, help="The bot the query starts at.")] = 0,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print one JSON object a query, a line each.")] = False,
) -> None:
    """Route each TEXT through RUN_DIR's mesh, probing the bots best by key; print the k hits.

    Every argument is checked before the embedder loads, and it loads once for all the texts.
    """
    from cybermesh_cli.errors import InputError
    from cybermesh_cli.extras import require
    from cybermesh_cli.runs.replay import resolve_run, run_status
    from cybermesh_cli.shards.embedders import make_embedder
    from cybermesh_cli.world.memory import MEMORY_FILE, open_memory

    folder = resolve_run(run_dir)
    status = run_status(folder)
    if status == "interrupted" and not (folder / MEMORY_FILE).is_file():
        raise InputError(f"{folder}: the run was interrupted before it saved its memory")
    memory = open_memory(folder)
    if status == "interrupted":
        Console(stderr=True).print(f"note: {folder} was interrupted after it saved its memory; "
                                   "the mesh holds everything stored, its queries were cut short",
                                   markup=False, highlight=False, soft_wrap=True)
    bots = memory.tables.mesh.size
    if origin >= bots:
        raise InputError(f"--origin {origin}: the mesh has bots 0 to {bots - 1}")
    config = memory.meta["embedder"]
    if config["backend"] in ("local", "auto"):
        require("ml", "cybermesh recall")
    choice = make_embedder(config["backend"], config.get("host"), float(config["timeout_s"]))
    vectors = choice.embedder.embed(texts, "query")
    probes = probe or int(memory.meta["probe"])
    console = Console()
    for text, vector in zip(texts, vectors, strict=True):
        found = memory.query(vector, origin, k, probes)
        hits = [{"text": memory.texts[h.entry], "entry": h.entry, "bot": h.bot,
                 "similarity": round(h.similarity, 4), "hops": h.hops} for h in found.hits]
        if as_json:
            typer.echo(json.dumps({"run": str(folder), "query": text, "k": k, "probe": probes,
                                   "origin": origin, "hops": found.hops,
                                   "probed": found.probed, "hits": hits}))
            continue
        table = Table(title=Text(f"{len(hits)} hits for {text!r} ({probes} bots probed, "
                                 f"{found.hops} hops from bot {origin})"))
        for column in ("#", "similarity", "bot", "hops", "text"):
            table.add_column(column, justify="right" if column != "text" else "left")
        for rank, hit in enumerate(hits, start=1):
            table.add_row(str(rank), f"{hit['similarity']:.3f}", str(hit["bot"]),
                          str(hit["hops"]), Text(str(hit["text"])))
        console.print(table)
