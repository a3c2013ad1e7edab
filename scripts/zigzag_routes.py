"""Count the gossip routes that cross more tiles than rows plus columns (docs/scale.md).

Follows one bot's table hop by hop on a torus of 8-neighbour bots, first heard and with
``fewest_tiles``; on a torus every bot's table has the same shape.

    python scripts/zigzag_routes.py --side 32 --horizon 4
"""

from __future__ import annotations

import argparse
import json


def main() -> None:
    """Print, for each gossip rule, the routes longer in tiles than needed and by how much."""
    import numpy as np

    from cybermesh_cli.shards.routing import RoutingTables
    from cybermesh_cli.topology import Mesh

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=32)
    parser.add_argument("--horizon", type=int, default=4)
    args = parser.parse_args()
    mesh = Mesh(args.side, args.side, neighbourhood=8)
    for straight in (False, True):
        tables = RoutingTables(mesh, np.zeros((mesh.size, 1), np.float32), args.horizon,
                               straight)
        ratios = []
        for target in tables.tables[0]:
            if target == 0:
                continue
            bot, tiles = 0, 0
            while bot != target:
                step = tables.tables[bot][target][1]
                bot, tiles = step, tiles + mesh.tiles_between(bot, step)
            ratios.append(tiles / mesh.tiles_between(0, target))
        print(json.dumps({"fewest_tiles": straight, "routes": len(ratios),
                          "longer_than_needed": sum(r > 1 for r in ratios),
                          "mean_tiles_over_needed": round(float(np.mean(ratios)), 3),
                          "most": max(ratios)}))


if __name__ == "__main__":
    main()
