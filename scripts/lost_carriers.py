"""Where carriers with shards aboard are lost: their age, and losses repeated at one place.

Runs the world of a phase-3 spec at one mesh size and reads its events only: a carrier's launch
(bot, heading, tick) and the hand-overs of its riders when it is lost (docs/scale.md).

    python scripts/lost_carriers.py --side 32 --ticks 1500 --set phase3.routing.lanes=keep_right
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
STUDY = ["phase3.routing.layout=bisection", "phase3.routing.landmarks=8",
         "phase3.routing.candidates=5", "phase3.routing.accept=0.72",
         "phase3.routing.max_relaunches=50", "phase3.routing.clear_wreckage=true",
         "phase3.shards.texts=held"]  # the settings of docs/scale.md's second round


def lost_carriers(events: list[Any]) -> dict[str, Any]:
    """Summarise losses from a run's events (``carrier.launched``, ``shard.handed``)."""
    launched: dict[int, tuple[int, int, tuple[int, ...]]] = {}
    lost: dict[int, int] = {}
    by_shard: defaultdict[int, list[int]] = defaultdict(list)
    for event in events:
        if event.type == "carrier.launched":
            payload = event.payload
            launched[payload["carrier"]] = (event.tick, payload["bot"], tuple(payload["heading"]))
        elif event.type == "shard.handed":
            lost.setdefault(event.payload["carrier"], event.tick)
            by_shard[event.payload["shard"]].append(event.payload["carrier"])
    ages = np.array([tick - launched[c][0] for c, tick in lost.items()])
    repeats = pairs = 0
    for carriers in by_shard.values():
        places = [launched[c][1:] for c in carriers]
        pairs += len(places) - 1
        repeats += sum(a == b for a, b in zip(places, places[1:], strict=False))
    sites = Counter(launched[c][1:] for c in lost)
    return {
        "launches": len(launched), "lost_with_riders": len(lost),
        "age_at_loss_quantiles": dict(zip(("10%", "25%", "50%", "75%", "90%"),
                                          np.percentile(ages, [10, 25, 50, 75, 90]).tolist(),
                                          strict=True)) if len(ages) else {},
        "lost_within_8_ticks": round(float(np.mean(ages <= 8)), 3) if len(ages) else None,
        "successive_losses_at_the_same_bot_and_heading": f"{repeats} of {pairs}",
        "busiest_loss_sites": [{"bot": bot, "heading": list(heading), "losses": n}
                               for (bot, heading), n in sites.most_common(6)],
    }


def main() -> None:
    """Run one world and print the summary as JSON."""
    from rich.console import Console

    from cybermesh_cli.phases.scaling import sized
    from cybermesh_cli.seeds import Seeds
    from cybermesh_cli.shards.corpus import embed_topics
    from cybermesh_cli.spec import load_spec
    from cybermesh_cli.world import World, WorldConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "experiments" / "scale.yaml"))
    parser.add_argument("--side", type=int, default=32)
    parser.add_argument("--ticks", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        help="spec overrides after the second round's settings")
    args = parser.parse_args()
    spec = load_spec(Path(args.spec), [*STUDY, *args.overrides])
    block = spec.block("phase3")
    corpus = embed_topics(block, Console(stderr=True, quiet=True))[0]
    config = WorldConfig.from_block(sized(block, args.side))
    world = World(config, Seeds.of(args.seed).child(f"{args.side}x{args.side}"),
                  keys=corpus.keys, vectors=corpus.shards, labels=corpus.labels)
    print(json.dumps(lost_carriers(world.run(args.ticks)), indent=1))


if __name__ == "__main__":
    main()
