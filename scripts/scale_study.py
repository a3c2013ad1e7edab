"""The main job at scale: where shards end, by mesh size, over many seeds (docs/scale.md).

Runs the world of a phase-3 spec (default experiments/scale.yaml) at each mesh side for each
seed, two at a time, and writes one JSON line a run and a summary: shards judged, where they
ended (the right bot, another bot, dropped after lost carriers, still held or aboard), delivery
with 95% Wilson bounds, mean path stretch, carriers launched and lost (and lost near another
carrier), gossip cost. A shard is judged once it has had ``--settle`` ticks (by default the
time a glider takes to cross the mesh's diameter, tile by tile) or has finished.

    python scripts/scale_study.py --sides 5,16,32,64 --seeds 0..15 --out /tmp/scale
    python scripts/scale_study.py --sides 32 --seeds 0..3 --set phase3.shards.layout=semantic
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GLIDER_TICKS_A_TILE = 4  # ticks a glider takes a cell, diagonally: 4 * tile a hop
_CORPORA: dict[str, Any] = {}


def run_one(spec_path: str, overrides: list[str], side: int, seed: int, ticks: int,
            settle: int | None) -> dict[str, Any]:
    """Run one world and return its figures."""
    from rich.console import Console

    from cybermesh_cli.phases.scaling import sized
    from cybermesh_cli.seeds import Seeds
    from cybermesh_cli.shards.corpus import embed_topics
    from cybermesh_cli.spec import load_spec
    from cybermesh_cli.world import World, WorldConfig
    from cybermesh_cli.world.tally import Tally

    spec = load_spec(Path(spec_path), overrides)
    block = spec.block("phase3")
    key = json.dumps([block["corpus"], block["embedder"]], sort_keys=True)
    if key not in _CORPORA:  # a worker embeds (or reads) the corpus once
        _CORPORA[key] = embed_topics(block, Console(stderr=True, quiet=True))[0]
    corpus = _CORPORA[key]
    config = WorldConfig.from_block(sized(block, side))
    world = World(config, Seeds.of(seed).child(f"{side}x{side}"), keys=corpus.keys,
                  vectors=corpus.shards, labels=corpus.labels)
    tally = Tally(corpus.labels, world.bot_topics, world.mesh)
    world.add_observer(tally)
    began = time.perf_counter()
    for _ in range(ticks):  # not world.run: it would keep every event of the run in memory
        world.step()
    seconds = time.perf_counter() - began
    tally.finish(world)
    tile = world.tiling.tile
    diameter = max(world.mesh.rows, world.mesh.cols) // 2
    settle = settle if settle is not None else max(GLIDER_TICKS_A_TILE * tile * diameter,
                                                   config.shards.every if config.shards else 0)
    figures = tally.delivery(ticks - 1, settle)
    tables = world.shards.tables if world.shards is not None else None
    return {
        "side": side, "seed": seed, "ticks": ticks, "settle": settle,
        "ticks_per_s": round(ticks / seconds, 1), "judged": figures["judged"],
        "delivered": figures["delivered"]["count"], "right_bot": figures["right_bot"]["count"],
        "ends": figures["ends"], "stretch": figures["stretch"],
        "tile_stretch": figures["tile_stretch"], "cohort": figures["cohort"],
        "launches": tally.launches, "carriers_lost": tally.losses,
        "lost_near_carrier": tally.lost_near_carrier,
        "messages_per_bot_round": round(tables.messages / (world.mesh.size * tables.horizon), 1)
        if tables is not None and tables.horizon else 0,
        "mean_table_size": round(sum(len(t) for t in tables.tables) / world.mesh.size, 1)
        if tables is not None else 0,
    }


def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pool the seeds of each size: counts, rates with Wilson bounds, ends, stretch."""
    from cybermesh_cli.stats import wilson

    out = []
    for side in sorted({r["side"] for r in rows}):
        mine = [r for r in rows if r["side"] == side]
        judged = sum(r["judged"] for r in mine)
        ends: dict[str, int] = {}
        for r in mine:
            for name, count in r["ends"].items():
                ends[name] = ends.get(name, 0) + count
        pooled = {"side": side, "seeds": len(mine), "judged": judged, "ends": ends}
        for name in ("delivered", "right_bot"):
            count = sum(r[name] for r in mine)
            low, high = wilson(count, judged) if judged else (0.0, 1.0)
            pooled[name] = {"rate": round(count / max(judged, 1), 4),
                            "ci95": [round(low, 4), round(high, 4)]}
        cohort = sum(r["cohort"]["shards"] for r in mine)
        pooled["cohort"] = {"shards": cohort}
        for name in ("delivered", "right_bot"):
            count = sum(r["cohort"][name] for r in mine)
            low, high = wilson(count, cohort) if cohort else (0.0, 1.0)
            pooled["cohort"][name] = {"rate": round(count / max(cohort, 1), 4),
                                      "ci95": [round(low, 4), round(high, 4)]}
        for name in ("stretch", "tile_stretch"):
            values = [r[name] for r in mine if r.get(name) is not None]
            pooled[name] = round(sum(values) / len(values), 3) if values else None
        launches = sum(r["launches"] for r in mine)
        lost = sum(r["carriers_lost"] for r in mine)
        pooled["carriers_lost_share"] = round(lost / max(launches, 1), 4)
        pooled["lost_near_carrier_share"] = round(
            sum(r["lost_near_carrier"] for r in mine) / max(lost, 1), 4)
        for name in ("ticks_per_s", "messages_per_bot_round", "mean_table_size"):
            pooled[name] = round(sum(r[name] for r in mine) / len(mine), 1)
        out.append(pooled)
    return out


def seed_list(text: str) -> list[int]:
    """Parse 0..15 or 1,2,3."""
    if ".." in text:
        first, last = text.split("..")
        return list(range(int(first), int(last) + 1))
    return [int(s) for s in text.split(",")]


def main() -> None:
    """Run every size and seed; print and write the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "experiments" / "scale.yaml"))
    parser.add_argument("--sides", default="5,16,32,64")
    parser.add_argument("--seeds", default="0..15")
    parser.add_argument("--ticks", type=int, default=0,
                        help="ticks a run (default: 2 x settle + 500)")
    parser.add_argument("--settle", type=int, default=None)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True, help="folder for runs.jsonl and "
                        "summary.json")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = []
    with ProcessPoolExecutor(args.workers) as pool:
        for side in (int(s) for s in args.sides.split(",")):
            settle = args.settle if args.settle is not None else GLIDER_TICKS_A_TILE * 16 * (
                side // 2)
            ticks = args.ticks or 2 * settle + 500
            jobs += [pool.submit(run_one, args.spec, args.overrides, side, seed, ticks,
                                 args.settle) for seed in seed_list(args.seeds)]
        rows = []
        with (args.out / "runs.jsonl").open("w") as log:
            for job in jobs:
                row = job.result()
                rows.append(row)
                log.write(json.dumps(row) + "\n")
                print(json.dumps(row), file=sys.stderr, flush=True)
    pooled = summary(rows)
    (args.out / "summary.json").write_text(json.dumps(
        {"spec": args.spec, "overrides": args.overrides, "sizes": pooled}, indent=1))
    print(json.dumps(pooled, indent=1))


if __name__ == "__main__":
    main()
