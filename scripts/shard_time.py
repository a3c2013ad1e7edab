"""Where shards spend their ticks: waiting at bots, and aboard flights that end caught or lost.

Runs the world of a phase-3 spec at one mesh size with the fourth round's settings of
docs/scale.md and reads its events only. A shard waits from its injection, a catch or a lost
carrier until the launch that takes it; it is aboard from that launch until it is caught or
delivered, or its carrier is lost. Spells still open at the end count to the end.

    python scripts/shard_time.py --side 32 --ticks 2000
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STUDY = ["phase3.routing.layout=bisection", "phase3.routing.landmarks=8",
         "phase3.routing.candidates=3", "phase3.routing.accept=0.72",
         "phase3.routing.max_relaunches=50", "phase3.routing.clear_wreckage=true",
         "phase3.routing.lanes=keep_right", "phase3.shards.texts=held"]  # the fourth round's
WAITS = {"shard.injected": "waiting after injection", "shard.caught": "waiting after a catch",
         "shard.handed": "waiting after a lost carrier"}
LOST = ("shard.handed", "shard.dropped")
ENDS = ("carrier.launched", "shard.delivered", "shard.dropped", "shard.caught", "shard.handed",
        "shard.injected")  # the events that end a shard's spell in a state (hops do not)


def shard_time(events: Iterable[Any], end: int) -> dict[str, dict[str, float]]:
    """Return, by state, the spells shards spent in it and their ticks (the run ends at ``end``)."""
    spells: defaultdict[str, list[int]] = defaultdict(list)
    open_spells: dict[int, tuple[int, str]] = {}  # shard -> (since, state)
    for event in events:
        if event.type not in ENDS:
            continue
        payload = event.payload
        shards = payload["shards"] if event.type == "carrier.launched" else [payload["shard"]]
        for shard in shards:
            if shard in open_spells:
                since, state = open_spells.pop(shard)
                if state == "aboard":
                    state = "aboard, lost" if event.type in LOST else "aboard, caught or delivered"
                spells[state].append(event.tick - since)
            if event.type == "carrier.launched":
                open_spells[shard] = (event.tick, "aboard")
            elif event.type in WAITS:
                open_spells[shard] = (event.tick, WAITS[event.type])
    for since, state in open_spells.values():
        spells[f"{state}, at the end"].append(end - since)
    total = sum(sum(ticks) for ticks in spells.values())
    return {state: {"spells": len(ticks), "mean_ticks": round(statistics.fmean(ticks), 1),
                    "median_ticks": statistics.median(ticks), "shard_ticks": sum(ticks),
                    "share": round(sum(ticks) / total, 3)}
            for state, ticks in sorted(spells.items(), key=lambda item: -sum(item[1]))}


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
    parser.add_argument("--ticks", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        help="spec overrides after the fourth round's settings")
    args = parser.parse_args()
    spec = load_spec(Path(args.spec), [*STUDY, *args.overrides])
    block = spec.block("phase3")
    corpus = embed_topics(block, Console(stderr=True, quiet=True))[0]
    world = World(WorldConfig.from_block(sized(block, args.side)),
                  Seeds.of(args.seed).child(f"{args.side}x{args.side}"),
                  keys=corpus.keys, vectors=corpus.shards, labels=corpus.labels)
    events = (event for _ in range(args.ticks) for event in world.step())
    print(json.dumps(shard_time(events, args.ticks), indent=1))


if __name__ == "__main__":
    main()
