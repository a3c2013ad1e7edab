"""Benchmark of the world: ticks per second and cost per bot-tick at several mesh sizes.

Each size warms up (JIT, shards in flight), then runs ``repeats`` timed blocks of ``ticks``
ticks; the median block is reported, with the cost per bot-tick as a ratio to the first size
measured in the same run. Beside each block the bare substrate (a grid of the same torus and
cells, no shards) steps as many generations, so the world's overhead over its substrate is a
ratio measured in the same run, on the same machine, at the same moment.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import psutil
from numpy.typing import NDArray

from cybermesh_cli.seeds import SeedLike, Seeds
from cybermesh_cli.shards.embedders import Vectors
from cybermesh_cli.substrate.grid import Grid
from cybermesh_cli.world.config import WorldConfig
from cybermesh_cli.world.world import World


@dataclass(frozen=True)
class WorldBenchRow:
    """One mesh size: median ticks/s and microseconds per bot-tick (wall and CPU)."""

    side: int
    bots: int
    ticks_per_s: float
    us_per_bot_tick: float
    cpu_us_per_bot_tick: float
    ratio_to_first: float  # cost per bot-tick against the first size's
    carriers_per_bot: float  # carriers in flight, a tick and a bot: the work a bot-tick holds
    us_per_carrier_tick: float
    substrate_us_per_step: float  # the bare grid of the same torus, median block
    world_to_substrate: float  # the world's tick over the bare step
    peak_rss_mb: float  # the process, sampled after each block
    blocks: int
    ticks_per_block: int

    def to_json(self) -> dict[str, Any]:
        """Return the row as plain JSON values."""
        return asdict(self)


def bench_world(block: Mapping[str, Any], keys: Vectors, vectors: Vectors,
                sides: Sequence[int], ticks: int, repeats: int, warmup: int,
                seed: SeedLike = 3, progress: Callable[[str], None] | None = None,
                labels: NDArray[np.int64] | None = None) -> list[WorldBenchRow]:
    """Time the world of ``block`` at each ``side`` x ``side`` mesh (``labels``: texts' topics)."""
    rows: list[WorldBenchRow] = []
    for side in sides:
        if progress is not None:
            progress(f"{side}x{side}")
        config = WorldConfig.from_block(
            {**block, "mesh": {**block["mesh"], "rows": side, "cols": side}})
        world = World(config, Seeds.of(seed).child(f"{side}x{side}"), keys=keys,
                      vectors=vectors, labels=labels)
        world.run(warmup)
        walls, cpus, bares, carriers, peak = [], [], [], 0, 0.0
        layer = world.shards
        for _ in range(repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(ticks):
                world.step()
                carriers += len(layer.tracker.carriers) if layer is not None else 0
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            bares.append(_bare_steps(world.grid.copy(), world.grid.threads, ticks))
            peak = max(peak, psutil.Process().memory_info().rss / 2**20)
        wall_s, cpu_s = statistics.median(walls), statistics.median(cpus)
        bare_s = statistics.median(bares)
        cost = 1e6 * wall_s / (ticks * config.bots)
        in_flight = carriers / (repeats * ticks)
        rows.append(WorldBenchRow(
            side, config.bots, ticks / wall_s, cost, 1e6 * cpu_s / (ticks * config.bots),
            cost / rows[0].us_per_bot_tick if rows else 1.0, in_flight / config.bots,
            1e6 * wall_s / (ticks * max(in_flight, 1e-9)), 1e6 * bare_s / ticks,
            wall_s / bare_s, round(peak, 1), repeats, ticks))
        del world, layer
    return rows


def _bare_steps(grid: Grid, threads: int, ticks: int) -> float:
    """Seconds for ``ticks`` single generations of a grid like the world's (same threads)."""
    bare = Grid(grid.cells, grid.rule, grid.torus, threads)
    began = time.perf_counter()
    for _ in range(ticks):
        bare.step(1)
    return time.perf_counter() - began
