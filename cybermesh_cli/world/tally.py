"""The standard shard tally: what happened to every shard, measured from outside the world.

An observer (Mesa's DataCollector): after each tick it scores every ride against its carrier's
ghost (the same spaceship alone on an empty torus), at every tick a shard is aboard, coasting
included; folds finished shards into outcomes, right-bot and right-topic deliveries; keeps each
shard's hops recomputed from its trajectory, so the event log's hop lines can be recounted
against them. Nothing here changes what the world does.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import psutil
from numpy.typing import NDArray

from cybermesh_cli.events import Event
from cybermesh_cli.shards.carriers import torus_distance
from cybermesh_cli.world.shards import Ride
from cybermesh_cli.world.state import ShardState

if TYPE_CHECKING:
    from cybermesh_cli.substrate.grid import Grid
    from cybermesh_cli.topology import Mesh
    from cybermesh_cli.world.world import World

TRACK_LIMIT = 2.5  # cells between a shard's tracked and true position (the policy's)
COLLISION_RANGE = 8.0  # cells: a carrier lost this near another was lost to a carrier
SAMPLE_EVERY = 50  # ticks between memory and distance samples


@dataclass(frozen=True)
class ShardRecord:
    """How one shard ended (or stood at the end): for the delivery criteria."""

    injected: int
    status: str
    right_bot: bool  # delivered where the oracle (argmax cosine over every key) says
    right_topic: bool  # delivered to a bot of the shard text's topic
    hops: int
    shortest: int | None = None  # mesh hops from its origin to where it was delivered
    fewest_tiles: int | None = None  # tiles a carrier enters at least on that way (Manhattan)


@dataclass
class Tally:
    """Everything the main job measures, read from the world after each tick."""

    labels: NDArray[np.int64] | None = None  # each shard text's topic
    bot_topics: NDArray[np.int64] | None = None
    mesh: Mesh | None = None  # for path stretch
    lost_near_carrier: int = 0  # carriers lost within COLLISION_RANGE of another carrier
    distance_count: int = 0  # shard-ticks aboard a carrier, scored against its ghost
    distance_sum: float = 0.0
    distance_max: float = 0.0
    distance_max_intact: float = 0.0  # the same, only while the carrier is undisturbed
    coasting: int = 0  # shard-ticks aboard a carrier the tracker did not see that tick
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
    shards: dict[int, ShardRecord] = field(default_factory=dict)

    def __call__(self, world: World, events: list[Event]) -> None:
        """Score this tick's rides, count hops and launches, fold finished shards."""
        layer, substrate = world.shards, world.substrate
        if layer is None or substrate is None:
            return
        rides = layer.rides
        for ride in rides:
            self._score(ride, substrate, world.tiling.shape)
        lost = [r.carrier.centroid for r in rides if r.lost]
        if lost:
            self.lost_near_carrier += _near_another(
                np.array(lost), np.array([r.carrier.centroid for r in rides]),
                world.tiling.shape)
        for event in events:
            self.hop_events += event.type == "shard.hop"
            self.launches += event.type == "carrier.launched"
        for shard in layer.finished:
            self.retire(shard)
        if world.tick % SAMPLE_EVERY == 0:
            self.memory.append((world.tick, psutil.Process().memory_info().rss / 2**20))
            self.mean_distance_by_tick.append(
                float(np.mean(self.recent_distances)) if self.recent_distances else 0.0)

    def _score(self, ride: Ride, substrate: Grid, shape: tuple[int, int]) -> None:
        """Score one ride against its ghost; a lost one is right if the carrier really is gone."""
        carrier, riders = ride.carrier, ride.riders
        intact = carrier.intact(substrate)
        self.tracking_total += riders
        if ride.lost:
            self.losses += 1
            self.tracking_ok += riders * (not intact)
            return
        distance = torus_distance(carrier.centroid, carrier.true_centroid(), shape)
        self.distance_count += riders
        self.distance_sum += distance * riders
        self.distance_max = max(self.distance_max, distance)
        self.coasting += riders * (carrier.unseen > 0)
        if intact:
            self.distance_max_intact = max(self.distance_max_intact, distance)
        self.recent_distances.append(distance)
        self.tracking_ok += riders * (distance <= TRACK_LIMIT)

    def retire(self, shard: ShardState) -> None:
        """Fold a finished (or, at the end, unfinished) shard into the totals."""
        hops = shard.hops()
        self.outcomes[shard.status] += 1
        self.hops_per_shard[hops] += 1
        self.hops_recomputed += hops
        delivered = shard.status == "delivered"
        right_bot = delivered and shard.bot == shard.goal_hint
        right_topic = delivered and self.labels is not None and self.bot_topics is not None \
            and bool(self.bot_topics[shard.bot] == self.labels[shard.text_index])
        self.delivered_to_oracle += right_bot
        self.delivered_to_topic += right_topic
        shortest = fewest = None
        if delivered and self.mesh is not None:
            shortest = self.mesh.hops_between(shard.origin, shard.bot)
            fewest = self.mesh.tiles_between(shard.origin, shard.bot)
        self.shards[shard.id] = ShardRecord(shard.injected, shard.status, right_bot,
                                            right_topic, hops, shortest, fewest)

    def finish(self, world: World) -> None:
        """Fold the shards still in flight when the run ends."""
        for shard in world.shards.shards if world.shards is not None else ():
            self.retire(shard)

    def delivery(self, last_tick: int, settle: int) -> dict[str, Any]:
        """Delivery figures over the shards judged: finished, or injected ``settle`` ticks ago.

        A shard still in flight that was injected less than ``settle`` ticks before the end is
        too young to judge; an older one counts as not delivered. ``cohort`` counts only the
        shards injected ``settle`` ticks before the end or earlier: every one had the full
        time, so quick ends (early deliveries, early drops) of young shards weigh nothing.
        """
        from cybermesh_cli.stats import wilson

        judged = [r for r in self.shards.values()
                  if r.status in ("delivered", "dropped") or r.injected <= last_tick - settle]
        counts = {"delivered": sum(r.status == "delivered" for r in judged),
                  "right_bot": sum(r.right_bot for r in judged),
                  "right_topic": sum(r.right_topic for r in judged)}
        figures: dict[str, Any] = {"judged": len(judged), "too_young": len(self.shards)
                                   - len(judged), "settle_ticks": settle}
        for name, count in counts.items():  # nothing judged: the interval is all of [0, 1]
            low, high = wilson(count, len(judged)) if judged else (0.0, 1.0)
            figures[name] = {"count": count, "rate": round(count / max(len(judged), 1), 4),
                             "ci95": [round(low, 4), round(high, 4)]}
        figures["ends"] = dict(sorted(Counter(_end(r) for r in judged).items()))
        stretches = [r.hops / r.shortest for r in judged if r.shortest]
        figures["stretch"] = round(float(np.mean(stretches)), 4) if stretches else None
        tiles = [r.hops / r.fewest_tiles for r in judged if r.fewest_tiles]
        figures["tile_stretch"] = round(float(np.mean(tiles)), 4) if tiles else None
        cohort = [r for r in judged if r.injected <= last_tick - settle]
        figures["cohort"] = {"shards": len(cohort),
                             "delivered": sum(r.status == "delivered" for r in cohort),
                             "right_bot": sum(r.right_bot for r in cohort)}
        return figures


def _end(record: ShardRecord) -> str:
    """Where a judged shard ended: the right bot, another, dropped, or still held or aboard."""
    if record.status == "delivered":
        return "right bot" if record.right_bot else "other bot (best it knew)"
    return {"dropped": "dropped (carriers lost)", "held": "held at the end",
            "aboard": "aboard at the end"}.get(record.status, record.status)


def _near_another(points: NDArray[np.float64], others: NDArray[np.float64],
                  shape: tuple[int, int]) -> int:
    """How many ``points`` have one of ``others`` (itself aside) within COLLISION_RANGE."""
    size = np.array(shape, np.float64)
    delta = (points[:, None, :] - others[None, :, :] + size / 2) % size - size / 2
    distance = np.hypot(delta[..., 0], delta[..., 1])
    return int(np.sum(np.sum((distance > 0) & (distance <= COLLISION_RANGE), axis=1) > 0))


def hop_agreement(logged: Iterable[Mapping[str, Any]], recounted: Mapping[int, int]) -> float:
    """Share of shards whose ``shard.hop`` lines in the log equal their trajectory's hops.

    An independent recount: the log as written against each shard's trajectory in the world.
    A shard with a hop line but no record, or a record but other hop lines, disagrees.
    """
    lines: Counter[int] = Counter(int(e["payload"]["shard"]) for e in logged
                                  if e["type"] == "shard.hop")
    shards = set(recounted) | set(lines)
    agree = sum(lines.get(s, 0) == recounted.get(s, -1) for s in shards)
    return agree / len(shards) if shards else 1.0
