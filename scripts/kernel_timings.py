"""Time the shard layer's compiled passes on the calls a real world makes.

Runs the world of `experiments/scale.yaml` (hash embedder) at one mesh size, records the
arguments of every tracking and launch call over a window of ticks, then repeats each call on
copies of them and reports the median microseconds a call. Run it at two commits to compare
kernels on the same calls (docs/performance.md):

    python scripts/kernel_timings.py --side 64 --start 300 --calls 20
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from cybermesh_cli.seeds import Seeds
from cybermesh_cli.shards import carriers, corpus, kernels
from cybermesh_cli.spec import load_spec
from cybermesh_cli.world import World, WorldConfig
from cybermesh_cli.world import shards as layer

ROOT = Path(__file__).resolve().parent.parent
PASSES = {"track": carriers, "launch": layer}  # the module whose `kernels` attribute calls it


def _copies(args: list[Any]) -> list[Any]:
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def record(world: World, ticks: int) -> dict[str, list[list[Any]]]:
    """Step ``world`` ``ticks`` ticks and return the arguments of every compiled pass call."""
    calls: dict[str, list[list[Any]]] = {name: [] for name in PASSES}
    originals = {name: getattr(kernels, name) for name in PASSES}

    def spy(name: str) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            calls[name].append(_copies(list(args)))
            return originals[name](*args)
        return call

    for name, module in PASSES.items():
        setattr(module.kernels, name, spy(name))
    try:
        for _ in range(ticks):
            world.step()
    finally:
        for name, module in PASSES.items():
            setattr(module.kernels, name, originals[name])
    return calls


def time_calls(name: str, calls: list[list[Any]], repeats: int) -> float:
    """Return the mean over calls of each call's median microseconds (on fresh copies)."""
    kernel = getattr(kernels, name)
    medians = []
    for args in calls:
        times = []
        for _ in range(repeats):
            fresh = _copies(args)
            began = time.perf_counter()
            kernel(*fresh)
            times.append(time.perf_counter() - began)
        medians.append(statistics.median(times))
    return 1e6 * statistics.fmean(medians)


def main() -> None:
    """Parse arguments, build the world, record and time the calls."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=64, help="bots a side")
    parser.add_argument("--start", type=int, default=300, help="ticks before recording")
    parser.add_argument("--calls", type=int, default=20, help="ticks recorded")
    parser.add_argument("--repeats", type=int, default=20, help="times each call is repeated")
    options = parser.parse_args()
    spec = load_spec(ROOT / "experiments" / "scale.yaml")
    block = dict(spec.block("phase3"))
    block["embedder"] = {**block["embedder"], "backend": "hash"}
    block["mesh"] = {**block["mesh"], "rows": options.side, "cols": options.side}
    topics = corpus.embed_topics(block, Console(stderr=True, quiet=True))[0]
    world = World(WorldConfig.from_block(block), Seeds.of(spec.seed).child("kernels"),
                  keys=topics.keys, vectors=topics.shards, labels=topics.labels)
    for _ in range(options.start):
        world.step()
    for name, calls in record(world, options.calls).items():
        print(f"{name}: {len(calls)} calls, {time_calls(name, calls, options.repeats):.1f} us a "
              "call (mean of each call's median)")


if __name__ == "__main__":
    main()
