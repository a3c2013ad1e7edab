"""Many shards in flight at once: bots with bounded inboxes and a service rate.

Simulated in ticks, deterministically. Each tick every bot serves up to ``service_rate``
shards from the head of its inbox: delivers the ones whose goal it is, expires the ones out of
hops, and forwards the rest to the next hop of its gossip table, if that inbox has room. If it
has none, the shard waits at the head (backpressure: the inbox behind it fills in turn). Full
inboxes waiting on each other in a cycle would wait forever, so a shard blocked for
``patience`` ticks is dropped (reason: congestion). Otherwise a shard is dropped only when it
is injected into a full inbox. Every tick the ledger checks that
injected = delivered + dropped + expired + in flight, and a watchdog fails the run if any shard
waits longer than ``max_wait`` ticks without moving.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from cybermesh_cli.shards.embedders import Vectors
from cybermesh_cli.shards.routing import RoutingTables, best_known


class InvariantError(AssertionError):
    """The runtime broke an invariant (conservation) or a shard waited forever (deadlock)."""


@dataclass
class Packet:
    """A shard in flight."""

    shard: int
    vector: int
    injected: int
    hops: int = 0
    moved: int = 0  # tick of its last move (or injection)


@dataclass
class Ledger:
    """The account of every shard."""

    injected: int = 0
    delivered: int = 0
    dropped: int = 0  # at admission (full inbox) or for congestion
    congested: int = 0
    expired: int = 0
    latencies: list[int] = field(default_factory=list)  # ticks, per delivered shard
    hops: list[int] = field(default_factory=list)
    latency_of: dict[int, int] = field(default_factory=dict)  # shard id -> ticks


class Runtime:
    """Bots, their inboxes and the ledger."""

    def __init__(self, tables: RoutingTables, vectors: Vectors, capacity: int,
                 service_rate: int, max_hops: int, max_wait: int, patience: int) -> None:
        """Empty inboxes of ``capacity`` shards; each bot serves ``service_rate`` a tick."""
        self.tables = tables
        self.vectors = vectors
        self.capacity = capacity
        self.service_rate = service_rate
        self.max_hops = max_hops
        self.max_wait = max_wait
        self.patience = patience
        self.inboxes: list[deque[Packet]] = [deque() for _ in range(tables.mesh.size)]
        self.ledger = Ledger()
        self._goals: dict[tuple[int, int], int] = {}

    @property
    def in_flight(self) -> int:
        """Shards in inboxes."""
        return sum(len(inbox) for inbox in self.inboxes)

    def goal(self, vector: int, bot: int) -> int:
        """Return the best key ``bot`` knows for a shard (cached: tables do not change)."""
        key = (vector, bot)
        if key not in self._goals:
            self._goals[key] = best_known(self.tables, self.vectors[vector], bot)
        return self._goals[key]

    def inject(self, tick: int, shard: int, vector: int, origin: int) -> bool:
        """Admit a shard at ``origin``; False (dropped) if that inbox is full."""
        self.ledger.injected += 1
        if len(self.inboxes[origin]) >= self.capacity:
            self.ledger.dropped += 1
            return False
        self.inboxes[origin].append(Packet(shard, vector, tick, moved=tick))
        return True

    def step(self, tick: int) -> None:
        """One tick of service everywhere; a hop lands in the next inbox at the tick's end."""
        occupancy = [len(inbox) for inbox in self.inboxes]
        arrivals: list[tuple[int, Packet]] = []
        for bot, inbox in enumerate(self.inboxes):
            served = 0
            while inbox and served < self.service_rate:
                packet = inbox[0]
                goal = self.goal(packet.vector, bot)
                if goal != bot and packet.hops < self.max_hops:
                    next_bot = self.tables.tables[bot][goal][1]
                    if occupancy[next_bot] >= self.capacity:
                        if tick - packet.moved < self.patience:
                            break  # backpressure: wait at the head of the line
                        self.ledger.congested += 1  # blocked too long: break the cycle
                        self.ledger.dropped += 1
                        inbox.popleft()
                        occupancy[bot] -= 1
                        served += 1
                        continue
                    occupancy[next_bot] += 1
                    packet.hops += 1
                    packet.moved = tick
                    arrivals.append((next_bot, packet))
                elif goal == bot:
                    self.ledger.delivered += 1
                    latency = tick + 1 - packet.injected
                    self.ledger.latencies.append(latency)
                    self.ledger.latency_of[packet.shard] = latency
                    self.ledger.hops.append(packet.hops)
                else:
                    self.ledger.expired += 1
                inbox.popleft()
                occupancy[bot] -= 1
                served += 1
        for bot, packet in arrivals:
            self.inboxes[bot].append(packet)
        self.check(tick)

    def check(self, tick: int) -> None:
        """Conservation and the watchdog; raise on any violation."""
        ledger = self.ledger
        accounted = ledger.delivered + ledger.dropped + ledger.expired + self.in_flight
        if accounted != ledger.injected:
            raise InvariantError(f"tick {tick}: injected {ledger.injected} != accounted "
                                f"{accounted}")
        for bot, inbox in enumerate(self.inboxes):
            if len(inbox) > self.capacity:
                raise InvariantError(f"tick {tick}: bot {bot} holds {len(inbox)} shards")
            for packet in inbox:
                if tick - packet.moved > self.max_wait:
                    raise InvariantError(f"tick {tick}: shard {packet.shard} waited "
                                        f"{tick - packet.moved} ticks at bot {bot} (deadlock?)")

    def drain(self, start: int, limit: int) -> int:
        """Step until no shard is in flight (at most ``limit`` ticks); return the last tick."""
        tick = start
        while self.in_flight and tick < start + limit:
            self.step(tick)
            tick += 1
        return tick


def mean_shortest_hops(tables: RoutingTables, vectors: Vectors, rng: np.random.Generator,
                       samples: int = 2000) -> float:
    """Mean hops from a random origin to a random shard's goal (for the throughput limit)."""
    mesh = tables.mesh
    total = 0
    for _ in range(samples):
        origin = int(rng.integers(0, mesh.size))
        goal = best_known(tables, vectors[int(rng.integers(0, len(vectors)))], origin)
        total += int(mesh.hops[origin, goal])
    return total / samples
