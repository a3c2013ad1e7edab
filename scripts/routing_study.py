"""Routing alone, without carriers: how often a shard reaches the right bot, and how directly.

Places the corpus's topics on a mesh (at random, or by bisection), builds the gossip tables and
(optionally) landmark blocks exactly as the world does, then routes shards from random bots
with the world's rule (the landmark block until it is within the horizon, then the best known
key) and counts how many stop at the oracle bot, and the mean path stretch in mesh hops.
Carrier losses play no part: this measures what local knowledge allows (docs/scale.md).

    python scripts/routing_study.py --side 64 --layout bisection --landmarks 4
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def route(mesh: Any, tables: Any, landmarks: Any, vector: Any, origin: int,
          horizon: int) -> tuple[int, int]:
    """Route one shard by the world's rule; return where it stopped and its hops."""
    import numpy as np

    from cybermesh_cli.shards.routing import best_known_for

    bot, hops, local = origin, 0, landmarks is None
    target = landmarks.best(vector) if landmarks is not None else -1
    while hops < 4 * mesh.rows:
        goal = -1
        if not local:
            near = landmarks.nearest(bot, target)
            if mesh.hops_between(bot, near) > horizon:
                goal = near
            else:
                local = True
        if goal < 0:
            goal = best_known_for(tables, vector, bot)
            if goal == bot:
                break
        table = tables.tables[bot]
        if goal in table:
            bot = table[goal][1]
        else:
            (r, c), (gr, gc) = mesh.position(bot), mesh.position(goal)
            dr = (gr - r + mesh.rows // 2) % mesh.rows - mesh.rows // 2
            dc = (gc - c + mesh.cols // 2) % mesh.cols - mesh.cols // 2
            bot = mesh.bot_at(r + int(np.sign(dr)), c + int(np.sign(dc)))
        hops += 1
    return bot, hops


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
    parser.add_argument("--shards", type=int, default=1500)
    parser.add_argument("--embedder", default=None, help="override the spec's embedder")
    parser.add_argument("--seed", type=int, default=0)
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
    tables = RoutingTables(mesh, keys, args.horizon)
    landmarks = Landmarks.build(mesh, keys, args.landmarks) if args.landmarks else None
    rng = seeds.child("shards").rng()
    right, stretches = 0, []
    for _ in range(args.shards):
        vector = corpus.shards[int(rng.integers(0, len(corpus.shards)))]
        oracle, origin = int(np.argmax(keys @ vector)), int(rng.integers(0, mesh.size))
        bot, hops = route(mesh, tables, landmarks, vector, origin, args.horizon)
        right += bot == oracle
        if bot == oracle and mesh.hops_between(origin, oracle):
            stretches.append(hops / mesh.hops_between(origin, oracle))
    print(json.dumps({"side": args.side, "layout": args.layout, "landmarks": args.landmarks,
                      "horizon": args.horizon, "shards": args.shards,
                      "right_bot": round(right / args.shards, 4),
                      "stretch": round(float(np.mean(stretches)), 3) if stretches else None}))


if __name__ == "__main__":
    main()
