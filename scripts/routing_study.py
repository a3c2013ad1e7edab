"""Routing alone, without carriers: how often a shard reaches the right bot, and how directly.

Places the corpus's topics on a mesh (at random, or by bisection), builds the gossip tables and
(optionally) landmark blocks exactly as the world does, then routes shards from random bots
with the world's rule (the landmark block until it is within the horizon, then the best known
key) and counts how many stop at the oracle bot, and the mean path stretch in mesh hops.
Carrier losses play no part: this measures what local knowledge allows (docs/scale.md).

    python scripts/routing_study.py --side 64 --layout bisection --landmarks 4
    python scripts/routing_study.py --side 64 --landmarks 8 --candidates 5 --accept 0.7
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Journey:
    """One shard's routing state, as ``ShardState`` keeps it in the world."""

    bot: int
    local: bool
    visited: int = 0
    best: int = -1
    best_similarity: float = -1e9


def visiting_goal(tables: Any, landmarks: Any, vector: Any, blocks: list[int], accept: float,
                  shard: Journey) -> int:
    """Visit the blocks' centres, then go to the best key seen (``ShardLayer._visiting_goal``)."""
    from cybermesh_cli.shards.routing import best_known_for

    known = best_known_for(tables, vector, shard.bot)
    if float(tables.keys[known] @ vector) > shard.best_similarity:
        shard.best, shard.best_similarity = known, float(tables.keys[known] @ vector)
    while not shard.local:
        if shard.best_similarity >= accept or shard.visited == len(blocks):
            shard.local = True
            break
        centre = int(landmarks.centre(blocks[shard.visited]))
        if centre != shard.bot:
            return centre
        shard.visited += 1
    return shard.best


def landmark_goal(tables: Any, landmarks: Any, vector: Any, target: int, horizon: int,
                  shard: Journey) -> int:
    """Head for the landmark block until in reach, then climb tables (``ShardLayer._goal``)."""
    from cybermesh_cli.shards.routing import best_known_for

    if not shard.local:
        near = int(landmarks.nearest(shard.bot, target))
        if tables.mesh.hops_between(shard.bot, near) > horizon:
            return near
        shard.local = True
    return int(best_known_for(tables, vector, shard.bot))


def route(mesh: Any, tables: Any, landmarks: Any, vector: Any, origin: int,
          horizon: int, candidates: int = 0, accept: float = 1.0) -> tuple[int, int, int]:
    """Route one shard by the world's rule; return where it stopped, its hops and its tiles."""
    import numpy as np

    shard = Journey(origin, local=landmarks is None)
    blocks = landmarks.ranked(vector, candidates) if candidates else []
    target = landmarks.best(vector) if landmarks is not None else -1
    tiles = 0
    for hops in range(4 * mesh.rows * max(1, candidates)):
        goal = visiting_goal(tables, landmarks, vector, blocks, accept, shard) if candidates \
            else landmark_goal(tables, landmarks, vector, target, horizon, shard)
        if goal == shard.bot:
            return shard.bot, hops, tiles
        table, was = tables.tables[shard.bot], shard.bot
        if goal in table:
            shard.bot = table[goal][1]
        else:
            (r, c), (gr, gc) = mesh.position(shard.bot), mesh.position(goal)
            dr = (gr - r + mesh.rows // 2) % mesh.rows - mesh.rows // 2
            dc = (gc - c + mesh.cols // 2) % mesh.cols - mesh.cols // 2
            shard.bot = mesh.bot_at(r + int(np.sign(dr)), c + int(np.sign(dc)))
        tiles += mesh.tiles_between(was, shard.bot)
    return shard.bot, 4 * mesh.rows * max(1, candidates), tiles


def main() -> None:
    """Route ``--shards`` shards and print the share that reached the right bot."""
    import numpy as np
    from rich.console import Console

    from cybermesh_cli.seeds import Seeds
    from cybermesh_cli.shards.corpus import embed_topics
    from cybermesh_cli.shards.landmarks import Landmarks
    from cybermesh_cli.shards.layout import bisection_layout
    from cybermesh_cli.shards.routing import RoutingTables
    from cybermesh_cli.spec import load_spec
    from cybermesh_cli.topology import Mesh

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "experiments" / "scale.yaml"))
    parser.add_argument("--side", type=int, default=32)
    parser.add_argument("--layout", choices=("random", "bisection"), default="bisection")
    parser.add_argument("--landmarks", type=int, default=4, help="block side (0: none)")
    parser.add_argument("--horizon", type=int, default=4)
    parser.add_argument("--candidates", type=int, default=0, help="blocks visited (0: none)")
    parser.add_argument("--accept", type=float, default=1.0)
    parser.add_argument("--texts", choices=("all", "held"), default="held",
                        help="shards of every topic, or only of topics some bot holds")
    parser.add_argument("--shards", type=int, default=1500)
    parser.add_argument("--embedder", default=None, help="override the spec's embedder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fewest-tiles", action="store_true",
                        help="of equally short routes, gossip keeps the straightest")
    args = parser.parse_args()

    block = dict(load_spec(Path(args.spec)).block("phase3"))
    if args.embedder:
        block["embedder"] = {**block["embedder"], "backend": args.embedder}
    corpus, _ = embed_topics(block, Console(stderr=True))
    seeds = Seeds.of(args.seed)
    mesh = Mesh(args.side, args.side, neighbourhood=8)
    topics = seeds.child("placement").rng().permutation(len(corpus.keys))[:mesh.size]
    keys = corpus.keys[topics]
    if args.layout == "bisection":
        keys = keys[bisection_layout(mesh, keys)]
    tables = RoutingTables(mesh, keys, args.horizon, args.fewest_tiles)
    landmarks = Landmarks.build(mesh, keys, args.landmarks) if args.landmarks else None
    rng = seeds.child("shards").rng()
    pool = np.flatnonzero(np.isin(corpus.labels, topics)) if args.texts == "held" \
        else np.arange(len(corpus.shards))
    right, stretches, tile_stretches = 0, [], []
    for _ in range(args.shards):
        vector = corpus.shards[int(pool[rng.integers(0, len(pool))])]
        oracle, origin = int(np.argmax(keys @ vector)), int(rng.integers(0, mesh.size))
        bot, hops, tiles = route(mesh, tables, landmarks, vector, origin, args.horizon,
                                 args.candidates, args.accept)
        right += bot == oracle
        if bot == oracle and mesh.hops_between(origin, oracle):
            stretches.append(hops / mesh.hops_between(origin, oracle))
            tile_stretches.append(tiles / mesh.tiles_between(origin, oracle))
    print(json.dumps({"side": args.side, "layout": args.layout, "landmarks": args.landmarks,
                      "horizon": args.horizon, "candidates": args.candidates,
                      "accept": args.accept, "texts": args.texts, "shards": args.shards,
                      "right_bot": round(right / args.shards, 4),
                      "fewest_tiles": args.fewest_tiles,
                      "stretch": round(float(np.mean(stretches)), 3) if stretches else None,
                      "tile_stretch": round(float(np.mean(tile_stretches)), 3)
                      if tile_stretches else None}))


if __name__ == "__main__":
    main()
