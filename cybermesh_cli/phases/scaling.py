"""The scaling experiment: the phase-3 world at several mesh sizes, measured side by side.

A phase-3 spec with a ``scale`` block runs the world at every size for ``duration.ticks``
ticks (same spec, seed and corpus; soups and shards scale with the bots). Per size: ticks per
second, microseconds per bot-tick, peak memory, delivery, tracking and hop agreement. Every
criterion is judged at its worst size. One ``scale.size`` event a size carries the final
grid digest and the counts, so replay re-runs each size and checks it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from cybermesh_cli.events import Event
from cybermesh_cli.phases.base import PhaseResult, RunContext, peak_memory_mb
from cybermesh_cli.seeds import Seeds
from cybermesh_cli.shards.embedders import Vectors
from cybermesh_cli.stats import wilson
from cybermesh_cli.world import World, WorldConfig
from cybermesh_cli.world.tally import Tally

SECTION = "phase_3_integration"


def sized(block: Mapping[str, Any], side: int) -> dict[str, Any]:
    """Return the block with a ``side`` x ``side`` mesh."""
    return {**block, "mesh": {**block["mesh"], "rows": side, "cols": side}}


def size_events(block: Mapping[str, Any], keys: Vectors, vectors: Vectors, labels: Any,
                seeds: Seeds, ticks: int, progress: Any = None) -> Iterator[Event]:
    """Run the world at every size; one ``scale.size`` event each, with its figures.

    Each size's world draws from its own child of ``seeds`` (``8x8``, ``16x16``, ...).
    """
    for side in block["scale"]["sides"]:
        world = World(WorldConfig.from_block(sized(block, side)), seeds.child(f"{side}x{side}"),
                      keys=keys, vectors=vectors, labels=labels)
        tally = Tally(labels, world.bot_topics, world.mesh)
        world.add_observer(tally)
        rss = psutil.Process().memory_info().rss
        peak = rss
        began, cpu = time.perf_counter(), time.process_time()
        for tick in range(ticks):
            world.step()
            if progress is not None:
                progress(side, tick)
            if tick % 100 == 0:
                peak = max(peak, psutil.Process().memory_info().rss)
        seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - cpu
        tally.finish(world)
        finished = tally.outcomes["delivered"] + tally.outcomes["dropped"]
        delivery = tally.delivery(ticks - 1, world.config.shards.every
                                  if world.config.shards else 0)
        yield Event(ticks - 1, "scale.size", {
            "side": side, "bots": world.config.bots, "grid": world.grid.digest(),
            "shards": sum(tally.outcomes.values()), "delivered": tally.outcomes["delivered"],
            "dropped": tally.outcomes["dropped"], "finished": finished,
            "delivered_to_topic": tally.delivered_to_topic,
            "judged": delivery["judged"], "delivered_judged": delivery["delivered"]["count"],
            "right_bot": delivery["right_bot"]["count"],
            "right_topic": delivery["right_topic"]["count"],
            "hop_events": tally.hop_events, "hops_recomputed": tally.hops_recomputed,
            "tracking_ok": tally.tracking_ok, "tracking_total": tally.tracking_total,
            "max_distance": round(tally.distance_max, 6)})
        yield Event(ticks - 1, "scale.timing", {
            "side": side, "seconds": round(seconds, 4), "cpu_seconds": round(cpu_seconds, 4),
            "rss_mb": round(peak / 2**20, 1), "rss_before_mb": round(rss / 2**20, 1)})


def rows(sizes: Sequence[Mapping[str, Any]], timings: Sequence[Mapping[str, Any]],
         ticks: int) -> list[dict[str, Any]]:
    """One table row a size, from the logged ``scale.size`` and ``scale.timing`` payloads."""
    table = []
    for p, timing in zip(sizes, timings, strict=True):
        table.append({
            "mesh": f"{p['side']}x{p['side']}", "bots": p["bots"],
            "ticks_per_s": round(ticks / timing["seconds"], 1),
            "us_per_bot_tick": round(1e6 * timing["seconds"] / (ticks * p["bots"]), 3),
            "cpu_us_per_bot_tick": round(1e6 * timing["cpu_seconds"] / (ticks * p["bots"]), 3),
            "peak_rss_mb": timing["rss_mb"],
            "judged": p["judged"],
            **_rate("delivered", p["delivered_judged"], p["judged"]),
            **_rate("right_bot", p["right_bot"], p["judged"]),
            **_rate("right_topic", p["right_topic"], p["judged"]),
            "tracking_accuracy": round(p["tracking_ok"] / p["tracking_total"], 4)
            if p["tracking_total"] else None,  # a mesh too small to launch carriers
            "max_distance": p["max_distance"],
            "hop_agreement": 1.0 if p["hop_events"] == p["hops_recomputed"] else 0.0,
            "shards": p["shards"]})
    return table


def _rate(name: str, count: int, judged: int) -> dict[str, float]:
    """Return a share of the judged shards and its 95% Wilson bounds ([0, 1]: none judged)."""
    low, high = wilson(count, judged) if judged else (0.0, 1.0)
    return {name: round(count / max(judged, 1), 4), f"{name}_low": round(low, 4),
            f"{name}_high": round(high, 4)}


def growth_exponent(table: Sequence[Mapping[str, Any]]) -> float:
    """Slope of log(seconds a tick) against log(bots): 1 is linear growth."""
    bots = np.log([r["bots"] for r in table])
    per_tick = np.log([1.0 / r["ticks_per_s"] for r in table])
    return float(np.polyfit(bots, per_tick, 1)[0]) if len(table) > 1 else float("nan")


def result(ctx: RunContext, sizes: list[dict[str, Any]], timings: list[dict[str, Any]],
           ticks: int) -> PhaseResult:
    """Criteria at the worst size, the table, the growth exponent and the plot."""
    table = rows(sizes, timings, ticks)
    exponent = growth_exponent(table)
    return PhaseResult(
        measured={
            f"{SECTION}.ca_shard_tracking.max_distance": max(r["max_distance"] for r in table),
            f"{SECTION}.ca_shard_tracking.tracking_accuracy": min(
                (r["tracking_accuracy"] for r in table if r["tracking_accuracy"] is not None),
                default=0.0),
            f"{SECTION}.event_log.min_hop_agreement": min(r["hop_agreement"] for r in table),
            f"{SECTION}.delivery.min_delivered_lower_ci": min(
                r["delivered_low"] for r in table),
            f"{SECTION}.delivery.min_right_bot_lower_ci": min(
                r["right_bot_low"] for r in table),
            f"{SECTION}.memory.max_memory_mb": peak_memory_mb(),
        },
        figures={"ticks_per_size": ticks, "sizes": table,
                 "growth_exponent": round(exponent, 3),
                 "cost_ratio_largest_to_smallest": round(
                     table[-1]["us_per_bot_tick"] / table[0]["us_per_bot_tick"], 3)},
        plots=[plot(ctx.dir, table, exponent)],
    )


def plot(folder: Path, table: Sequence[Mapping[str, Any]], exponent: float) -> str:
    """scale.png: cost per tick and per bot-tick against bots, log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bots = [r["bots"] for r in table]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.loglog(bots, [1e3 / r["ticks_per_s"] for r in table], "o-")
    left.set(xlabel="bots", ylabel="ms a tick",
             title=f"cost a tick (growth exponent {exponent:.2f})")
    right.semilogx(bots, [r["us_per_bot_tick"] for r in table], "o-")
    right.set(xlabel="bots", ylabel="us a bot-tick", title="cost a bot-tick", ylim=(0, None))
    for axis in (left, right):
        axis.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(folder / "scale.png", dpi=100)
    plt.close(figure)
    return "scale.png"
