"""Phase 3's measurements, taken from outside the world after every tick (an observer).

Tracking is scored against each carrier's ghost, hops are recomputed from trajectories, and
finished shards are folded into totals, so nothing here changes what the world does.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np
import psutil
from numpy.typing import NDArray

from cybermesh_cli.events import Event
from cybermesh_cli.shards.carriers import torus_distance
from cybermesh_cli.world import World
from cybermesh_cli.world.shards import Ride, ShardState, trajectory_hops

TRACK_LIMIT = 2.5  # cells between a shard's tracked and true position (the policy's)
SAMPLE_EVERY = 50  # ticks between memory and distance samples


@dataclass
class Tally:
    """Everything phase 3 measures, read from the world after each tick."""

    labels: NDArray[np.int64] | None = None  # each shard text's topic
    bot_topics: NDArray[np.int64] | None = None
    distance_count: int = 0  # shard-ticks on intact carriers, where the truth is known
    distance_sum: float = 0.0
    distance_max: float = 0.0
    recent_distances: deque[float] = field(default_factory=lambda: deque(maxlen=200))
    tracking_ok: int = 0
    tracking_total: int = 0
    hop_events: int = 0
    mean_distance_by_tick: list[float] = field(default_factory=list)
    memory: list[tuple[int, float]] = field(default_factory=list)
    launches: int = 0
    losses: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    hops_per_shard: Counter[int] = field(default_factory=Counter)
    hops_recomputed: int = 0
    delivered_to_oracle: int = 0
    delivered_to_topic: int = 0

    def __call__(self, world: World, events: list[Event]) -> None:
        """Score this tick's rides, count hops and launches, fold finished shards."""
        layer = world.shards
        if layer is None:
            return
        for ride in layer.rides:
            self._score(ride, world)
        for event in events:
            self.hop_events += event.type == "shard.hop"
            self.launches += event.type == "carrier.launched"
        for shard in layer.finished:
            self.retire(shard)
        if world.tick % SAMPLE_EVERY == 0:
            self.memory.append((world.tick, psutil.Process().memory_info().rss / 2**20))
            self.mean_distance_by_tick.append(
                float(np.mean(self.recent_distances)) if self.recent_distances else 0.0)

    def _score(self, ride: Ride, world: World) -> None:
        """Score one ride: a live carrier against its ghost, a lost one against the cells."""
        carrier, riders = ride.carrier, ride.riders
        intact = carrier.intact(world.substrate_cells)
        self.tracking_total += riders
        if ride.lost:  # lost this tick: correct if it really is gone
            self.losses += 1
            self.tracking_ok += riders * (not intact)
            return
        distance = torus_distance(carrier.centroid, carrier.true_centroid(),
                                  world.tiling.shape)
        if intact:  # the ghost is the truth only while the carrier is undisturbed
            self.distance_count += riders
            self.distance_sum += distance * riders
            self.distance_max = max(self.distance_max, distance)
            self.recent_distances.append(distance)
        self.tracking_ok += riders * (intact and distance <= TRACK_LIMIT)

    def retire(self, shard: ShardState) -> None:
        """Fold a finished (or, at the end, unfinished) shard into the totals."""
        hops = trajectory_hops(shard)
        self.outcomes[shard.status] += 1
        self.hops_per_shard[hops] += 1
        self.hops_recomputed += hops
        if shard.status == "delivered":
            self.delivered_to_oracle += shard.bot == shard.goal_hint
            if self.labels is not None and self.bot_topics is not None:
                self.delivered_to_topic += bool(
                    self.bot_topics[shard.bot] == self.labels[shard.text_index])
