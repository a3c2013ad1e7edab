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

    def next_hop(self, packet: Packet, bot: int) -> int:
        """Return where a shard at ``bot`` goes: ``bot`` to deliver, -1 to expire, else a hop."""
        goal = self.goal(packet.vector, bot)
        if goal == bot:
            return bot
        if packet.hops >= self.max_hops:
            return -1
        return self.tables.tables[bot][goal][1]

    def deliver(self, packet: Packet, latency_ticks: int | None) -> None:
        """Account one delivery (wall-clock runs keep their latencies in seconds apart)."""
        self.ledger.delivered += 1
        self.ledger.hops.append(packet.hops)
        if latency_ticks is not None:
            self.ledger.latencies.append(latency_ticks)
            self.ledger.latency_of[packet.shard] = latency_ticks

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
                next_bot = self.next_hop(packet, bot)
                if next_bot == bot:
                    self.deliver(packet, tick + 1 - packet.injected)
                elif next_bot < 0:
                    self.ledger.expired += 1
                else:
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


@dataclass(frozen=True)
class WallClockResult:
    """Latencies (seconds) and throughput of one real concurrent run."""

    delivered: int
    dropped: int
    expired: int
    latencies_s: list[float]
    seconds: float


class _AsyncMesh:
    """One asyncio task per bot and an ``asyncio.Queue`` of the inbox capacity per bot.

    A forward that cannot enter a full queue within ``patience`` service times is dropped
    (congestion), so no task waits forever.
    """

    def __init__(self, runtime: Runtime, service_s: float) -> None:
        import asyncio

        self.runtime = runtime
        self.service_s = service_s
        self.queues = [asyncio.Queue[tuple[Packet, float]](maxsize=runtime.capacity)
                       for _ in runtime.inboxes]
        self.latencies: list[float] = []
        self.outstanding = 0
        self.done = asyncio.Event()

    def finish(self) -> None:
        """One shard fewer to wait for."""
        self.outstanding -= 1
        if self.outstanding == 0:
            self.done.set()

    async def bot(self, index: int) -> None:
        """Serve bot ``index``'s queue forever (cancelled at the end of the run)."""
        import asyncio

        runtime, loop = self.runtime, asyncio.get_running_loop()
        while True:
            packet, since = await self.queues[index].get()
            await asyncio.sleep(self.service_s / runtime.service_rate)
            target = runtime.next_hop(packet, index)
            if target == index:
                runtime.deliver(packet, None)
                self.latencies.append(loop.time() - since)
            elif target < 0:
                runtime.ledger.expired += 1
            else:
                packet.hops += 1
                try:
                    await asyncio.wait_for(self.queues[target].put((packet, since)),
                                           runtime.patience * self.service_s)
                    continue
                except TimeoutError:
                    runtime.ledger.dropped += 1
                    runtime.ledger.congested += 1
            self.finish()

    async def run(self, shards: list[tuple[int, int, int]]) -> WallClockResult:
        """Inject every shard at once and wait until each is delivered, dropped or expired."""
        import asyncio
        import time

        loop = asyncio.get_running_loop()
        workers = [asyncio.create_task(self.bot(i)) for i in range(len(self.queues))]
        ledger = self.runtime.ledger
        self.outstanding = len(shards)
        start = time.perf_counter()
        for shard, vector, origin in shards:
            ledger.injected += 1
            try:
                self.queues[origin].put_nowait((Packet(shard, vector, 0), loop.time()))
            except asyncio.QueueFull:
                ledger.dropped += 1
                self.finish()
        if self.outstanding:
            await self.done.wait()
        seconds = time.perf_counter() - start
        for worker in workers:
            worker.cancel()
        return WallClockResult(ledger.delivered, ledger.dropped, ledger.expired,
                               self.latencies, seconds)


def run_wall_clock(runtime: Runtime, shards: list[tuple[int, int, int]],
                   service_s: float) -> WallClockResult:
    """Route ``(shard, vector, origin)`` triples with real concurrency (asyncio), in seconds."""
    import asyncio

    async def main() -> WallClockResult:
        return await _AsyncMesh(runtime, service_s).run(shards)

    return asyncio.run(main())
