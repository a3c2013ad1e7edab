"""The shard layer: shards ride spaceships from bot to bot, routed with local knowledge only.

Shards are injected at random bots in waves; each bot routes with its gossip table and launches
a carrier toward the next hop: a glider for a diagonal hop, a lightweight spaceship for an
orthogonal one. A carrier that enters another bot's tile makes its shards hop; a shard stays
aboard while the carrier still heads closer to its goal, is caught by the bot otherwise, and is
delivered where its bot's key is the best it knows. A lost carrier (died, collided) hands its
shards to the bot that held them last, which launches again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cybermesh_cli.errors import InputError
from cybermesh_cli.events import Event
from cybermesh_cli.shards.carriers import Carrier, Tracker, carrier_form, flight, lane_clear
from cybermesh_cli.shards.embedders import Vectors
from cybermesh_cli.shards.routing import RoutingTables, best_known_among
from cybermesh_cli.substrate.rules import Rule
from cybermesh_cli.substrate.shapes import Cells
from cybermesh_cli.topology import Tiling
from cybermesh_cli.world.config import ShardConfig
from cybermesh_cli.world.state import ShardState

LANE_WAIT_TILES = 4  # ticks a bot waits for a clear lane, in tiles: a glider's tile crossing
KEY_JITTER = 0.5  # bots sharing a topic: key = normalise(topic key + 0.5 * random unit vector)
MAX_BOTS_PER_TOPIC = 256


@dataclass(frozen=True)
class Ride:
    """A carrier that had shards aboard when it was tracked this tick, or was lost with them."""

    carrier: Carrier
    riders: int
    lost: bool


def bot_keys(topic_keys: Vectors, bots: int, layout: np.random.Generator,
             jitter: np.random.Generator) -> tuple[Vectors, NDArray[np.int64]]:
    """Give every bot a key and a topic: one topic each while they last, then several a topic.

    Bots that share a topic get distinct keys: the topic's key plus a random direction, so a
    mesh of any size fits a corpus of a few dozen topics.
    """
    topics = len(topic_keys)
    if bots <= topics:
        placement = layout.permutation(topics)[:bots]
        return topic_keys[placement], placement.astype(np.int64)
    if bots > topics * MAX_BOTS_PER_TOPIC:
        raise InputError(f"corpus: {topics} topics cannot fill {bots} bots (at most "
                         f"{MAX_BOTS_PER_TOPIC} bots a topic: {topics * MAX_BOTS_PER_TOPIC})")
    placement = layout.permutation(np.resize(np.arange(topics), bots))
    noise = jitter.standard_normal((bots, topic_keys.shape[1])).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    keys = topic_keys[placement] + np.float32(KEY_JITTER) * noise
    keys /= np.linalg.norm(keys, axis=1, keepdims=True)
    return keys.astype(np.float32), placement.astype(np.int64)


class ShardLayer:
    """Bots' keys and routing tables, the carriers in flight, and the shards they carry."""

    def __init__(self, config: ShardConfig, tiling: Tiling, rule: Rule, keys: Vectors,
                 vectors: Vectors, rng: np.random.Generator) -> None:
        """Build the routing tables by gossip; ``rng`` draws injections."""
        self.config = config
        self.tiling = tiling
        self.mesh = tiling.mesh
        self.keys = keys
        self.vectors = vectors
        self.rng = rng
        self.tables = RoutingTables(self.mesh, keys, config.horizon)
        self.tracker = Tracker(tiling.shape, rule)
        self.shards: list[ShardState] = []  # in flight
        self.finished: list[ShardState] = []  # delivered or dropped during the last tick
        self.rides: list[Ride] = []  # carriers with riders during the last tick
        self.injected = 0
        self._similarity: dict[int, NDArray[np.float32]] = {}  # text -> cosine to every key
        self._goals: dict[tuple[int, int], int] = {}  # (text, bot) -> best key that bot knows
        self._blocked: dict[tuple[int, tuple[int, int]], int] = {}  # lane blocked since

    def rekey(self, keys: Vectors) -> None:
        """Give the bots new keys and gossip them again (routing caches are dropped)."""
        self.keys = keys
        self.tables = RoutingTables(self.mesh, keys, self.config.horizon)
        self._similarity.clear()
        self._goals.clear()

    def similarity(self, text: int) -> NDArray[np.float32]:
        """Cosine of shard text ``text`` to every bot's key (computed once)."""
        if text not in self._similarity:
            self._similarity[text] = self.keys @ self.vectors[text]
        return self._similarity[text]

    def inject(self, tick: int, count: int) -> list[Event]:
        """Inject ``count`` new shards at random bots."""
        events = []
        for index in self.rng.integers(0, len(self.vectors), count).tolist():
            origin = int(self.rng.integers(0, self.mesh.size))
            hint = int(np.argmax(self.similarity(index)))
            shard = ShardState(self.injected, index, origin, hint, origin, tick)
            self.injected += 1
            self.shards.append(shard)
            events.append(Event(tick, "shard.injected", {"shard": shard.id, "text": index,
                                                         "bot": origin}))
        return events

    def advance(self, tick: int, cells: Cells) -> tuple[list[Event], bool]:
        """Track, hop, hand over, catch, launch; return the events and whether cells changed."""
        events: list[Event] = []
        lost = self.tracker.update(cells)
        by_id = {s.id: s for s in self.shards}
        self.rides = []
        for carrier in self.tracker.carriers.values():
            # riders caught and then delivered or dropped are no longer in flight
            carrier.shards = [i for i in carrier.shards
                              if i in by_id and by_id[i].carrier == carrier.id]
            if carrier.shards:
                riders = [by_id[i] for i in carrier.shards]
                self.rides.append(Ride(carrier, len(riders), not carrier.alive))
                if carrier.alive:
                    self._ride(carrier, riders, tick, events)
        for carrier in lost:
            self._hand_over(carrier, by_id, tick, events)
        changed = self._absorb_idle(cells, by_id)
        for shard in self.shards:
            if shard.status == "held" and shard.carrier is None:
                self._arrive(shard, tick, None, events)
        launched = self._launch(tick, cells)
        events += launched
        self.finished = [s for s in self.shards if s.status in ("delivered", "dropped")]
        self.shards = [s for s in self.shards if s.status not in ("delivered", "dropped")]
        return events, changed or bool(launched)

    def _goal(self, shard: ShardState) -> int:
        key = (shard.text_index, shard.bot)
        if key not in self._goals:
            self._goals[key] = best_known_among(self.tables, self.similarity(shard.text_index),
                                                shard.bot)
        return self._goals[key]

    def _arrive(self, shard: ShardState, tick: int, carrier: Carrier | None,
                events: list[Event]) -> None:
        """Decide at the shard's bot: deliver, stay aboard, or be caught and held."""
        goal = self._goal(shard)
        if goal == shard.bot:
            shard.status, shard.carrier = "delivered", None
            events.append(Event(tick, "shard.delivered", {"shard": shard.id, "bot": shard.bot,
                                                          "oracle": shard.goal_hint}))
            return
        if carrier is not None and carrier.alive:
            step = (int(np.sign(carrier.velocity[0])), int(np.sign(carrier.velocity[1])))
            r, c = self.mesh.position(shard.bot)
            ahead = self.mesh.bot_at(r + step[0], c + step[1])
            if self.mesh.distance(ahead, goal) < self.mesh.distance(shard.bot, goal):
                return  # the carrier still heads closer: stay aboard
        if shard.carrier is not None:
            events.append(Event(tick, "shard.caught", {"shard": shard.id, "bot": shard.bot}))
        shard.status, shard.carrier = "held", None

    def _launch(self, tick: int, cells: Cells) -> list[Event]:
        """Each bot sends its held shards toward their next hops, one carrier per direction."""
        groups: dict[tuple[int, tuple[int, int]], list[ShardState]] = {}
        for shard in self.shards:
            if shard.status == "held":
                next_bot = self.tables.tables[shard.bot][self._goal(shard)][1]
                direction = self.tiling.direction(shard.bot, next_bot)
                groups.setdefault((shard.bot, direction), []).append(shard)
        events = []
        for (bot, step), riders in sorted(groups.items()):
            carrier = self._place_carrier(bot, step, tick, cells)
            if carrier is None:
                continue  # every launch spot is busy: try again next tick
            for shard in riders:
                shard.status, shard.carrier = "aboard", carrier.id
                carrier.shards.append(shard.id)
            events.append(Event(tick, "carrier.launched", {
                "carrier": carrier.id, "apgcode": carrier.apgcode, "bot": bot,
                "heading": list(step), "at": [round(v, 3) for v in carrier.centroid],
                "shards": [s.id for s in riders]}))
        return events

    def _place_carrier(self, bot: int, step: tuple[int, int], tick: int,
                       cells: Cells) -> Carrier | None:
        """Launch near the tile's exit edge; slide along it until a spot is free.

        A spot whose lane (one tile of the ship's flight) is clear of live cells comes first.
        With none clear the bot waits, up to the time a glider takes to cross a tile, then
        launches at the first free spot (a still life in the lane never clears).
        """
        form = carrier_form(step)
        h, w = form.cells.shape
        tile = self.tiling.tile
        row_top, col_left = self.tiling.origin(bot)
        spots = []
        for shift in (0, -4, 4, -6, 6):
            top = row_top + _edge(step[0], h, tile) + (shift if step[0] == 0 else 0)
            left = col_left + _edge(step[1], w, tile) + (shift if step[1] == 0 else 0)
            if step[0] and step[1]:  # diagonal: slide along the row edge instead
                left += shift // 2
                top -= shift // 2 * step[0] * step[1]
            spots.append((top, left))
        ride = flight(form, self.tracker.rule)
        clear = [s for s in spots if lane_clear(cells, form, ride, *s, tile)]
        if clear:
            self._blocked.pop((bot, step), None)
        elif tick - self._blocked.setdefault((bot, step), tick) < LANE_WAIT_TILES * tile:
            return None  # a passing ship or an oscillator may clear the lane: wait a while
        for top, left in clear + [s for s in spots if s not in clear]:
            carrier = self.tracker.launch(cells, form, top, left, tick)
            if carrier is not None:
                return carrier
        return None

    def _ride(self, carrier: Carrier, riders: list[ShardState], tick: int,
              events: list[Event]) -> None:
        """Hop a live carrier's riders if it changed tiles."""
        where = self.tiling.bot_of(carrier.centroid)
        for shard in riders:
            shard.trajectory.append((tick, where))
            if where != shard.bot:
                events.append(Event(tick, "shard.hop", {"shard": shard.id, "carrier": carrier.id,
                                                        "from": shard.bot, "to": where}))
                shard.bot = where
                self._arrive(shard, tick, carrier, events)

    def _hand_over(self, carrier: Carrier, by_id: dict[int, ShardState], tick: int,
                   events: list[Event]) -> None:
        """Give a lost carrier's riders to the bot that held them last (or drop them)."""
        for shard in (by_id[i] for i in carrier.shards):
            shard.losses += 1
            shard.carrier = None
            if shard.losses > self.config.max_relaunches:
                shard.status = "dropped"
                events.append(Event(tick, "shard.dropped", {
                    "shard": shard.id, "bot": shard.bot, "reason": "too many carriers lost"}))
            else:
                shard.status = "held"
                events.append(Event(tick, "shard.handed", {
                    "shard": shard.id, "carrier": carrier.id, "bot": shard.bot,
                    "reason": "carrier lost (died or collided)"}))
        carrier.shards = []

    def _absorb_idle(self, cells: Cells, by_id: dict[int, ShardState]) -> bool:
        """Bots eat carriers with no riders left, so spent spaceships do not litter the torus."""
        changed = False
        for carrier in self.tracker.carriers.values():
            if carrier.alive and not any(i in by_id and by_id[i].carrier == carrier.id
                                         for i in carrier.shards):
                self.tracker.absorb(cells, carrier)
                changed = True
        self.tracker.carriers = {i: c for i, c in self.tracker.carriers.items() if c.alive}
        return changed


def _edge(step: int, size: int, tile: int) -> int:
    """Offset in a tile for a carrier of ``size`` cells heading ``step`` (-1, 0, 1)."""
    if step > 0:
        return tile - size - 2
    if step < 0:
        return 2
    return (tile - size) // 2


def trajectory_hops(shard: ShardState) -> int:
    """Hops recomputed from a shard's trajectory: changes of bot while it rode carriers."""
    hops, bot = 0, shard.origin
    for _, where in shard.trajectory:
        if where != bot:
            hops, bot = hops + 1, where
    return hops
