"""The shard layer: shards ride spaceships from bot to bot, routed with local knowledge only.

Shards are injected at random bots in waves; each bot routes with its gossip table and launches
a carrier toward the next hop: a glider for a diagonal hop, a lightweight spaceship for an
orthogonal one. A carrier that enters another bot's tile makes its shards hop; a shard stays
aboard while the carrier still heads closer to its goal (without ``stay_aboard``, only until
the tile it was sent to), is caught by the bot otherwise, and is delivered where its bot's key
is the best it knows. A lost carrier (died, collided) hands its shards to the bot that held
them last, which launches again.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray

from cybermesh_cli.errors import InputError
from cybermesh_cli.events import Event
from cybermesh_cli.shards import kernels
from cybermesh_cli.shards.carriers import Carrier, Tracker, carrier_form, flight
from cybermesh_cli.shards.embedders import Vectors
from cybermesh_cli.shards.landmarks import Landmarks
from cybermesh_cli.shards.routing import RoutingTables, SimilarityMemo
from cybermesh_cli.substrate.grid import Grid
from cybermesh_cli.substrate.rules import Rule
from cybermesh_cli.topology import Tiling
from cybermesh_cli.world.config import ShardConfig
from cybermesh_cli.world.state import ShardState

LANE_WAIT_TILES = 4  # ticks a bot waits for a clear lane, in tiles: a glider's tile crossing
CLEAR_SPOT_TILES = 2 * LANE_WAIT_TILES  # clear_spots: a bot blocked this long clears a spot
KEY_JITTER = 0.5  # bots sharing a topic: key = normalise(topic key + 0.5 * random unit vector)
MAX_BOTS_PER_TOPIC = 256
WRECKAGE = 11  # cells a side a bot erases around a lost carrier's last position
ORACLE_BLOCK = 256  # texts compared with every key at once
ORACLE_KEYS = 4096  # keys a product covers: a 256 x 4,096 block (4 MB) stays in cache
SIMILARITY_BYTES = 64 << 20  # texts' similarities kept for routing, stamps beside (2,048 at 64x64)


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


def most_similar(vectors: Vectors, keys: Vectors) -> NDArray[np.int64]:
    """Return, for each vector, the row of the key most like it (the first of equals).

    ``argmax(vectors @ keys.T)`` a slice of :data:`ORACLE_KEYS` keys at a time: the product of
    a block of texts and 65,536 keys would be a 64 MB matrix, written and read back from memory.
    """
    best = np.full(len(vectors), -np.inf, np.float32)
    rows = np.zeros(len(vectors), np.int64)
    block = np.empty((len(vectors), min(ORACLE_KEYS, len(keys))), np.float32)
    picked = np.arange(len(vectors))
    for start in range(0, len(keys), ORACLE_KEYS):
        part = np.matmul(vectors, keys[start:start + ORACLE_KEYS].T,
                         out=block[:, :min(ORACLE_KEYS, len(keys) - start)])
        first = np.argmax(part, axis=1)
        top = part[picked, first]
        better = top > best
        best[better], rows[better] = top[better], first[better] + start
    return rows


class ShardLayer:
    """Bots' keys and routing tables, the carriers in flight, and the shards they carry.

    A tick's work is proportional to what happens in it: carriers are tracked in one compiled
    pass, only carriers that changed tiles are looked at in Python, held shards wait in groups
    (one a bot and heading) and all groups try to launch in one compiled pass.
    """

    def __init__(self, config: ShardConfig, tiling: Tiling, rule: Rule, keys: Vectors,
                 vectors: Vectors, rng: np.random.Generator,
                 pool: NDArray[np.int64] | None = None) -> None:
        """Build the routing tables by gossip; ``rng`` draws injections from ``pool``.

        ``pool``: the texts shards are drawn from (None: every text of ``vectors``).
        """
        self.config = config
        self.tiling = tiling
        self.mesh = tiling.mesh
        self.keys = keys
        self.vectors = vectors
        self.rng = rng
        self.pool = pool
        self.tables = RoutingTables(self.mesh, keys, config.horizon, config.fewest_tiles)
        self._similarity = SimilarityMemo(self.tables, vectors, SIMILARITY_BYTES)
        self.landmarks = Landmarks.build(self.mesh, keys, config.landmarks) \
            if config.landmarks else None
        self._blocks: dict[int, int] = {}  # text -> the landmark block most like it
        self._candidates: dict[int, list[int]] = {}  # text -> the blocks it visits, in order
        self.tracker = Tracker(tiling.shape, rule)
        self.in_flight: dict[int, ShardState] = {}  # by id, in id order
        self.finished: list[ShardState] = []  # delivered or dropped during the last tick
        self.injected = 0
        self._oracles: dict[int, int] = {}  # text -> the bot of the most similar key of all
        self._goals: dict[tuple[int, int], int] = {}  # (text, bot) -> best key that bot knows
        self._waiting: dict[int, list[ShardState]] = {}  # bot * 9 + heading -> held shards
        self._new: list[ShardState] = []  # held since the last launch: may be delivered
        self._blocked = np.full((self.mesh.size, 9), kernels.EMPTY, np.int64)  # lane since
        self._blockers = np.full((self.mesh.size, 9, len(_launch_forms(
            rule, tiling.tile, config.lanes).spots[0])), kernels.EMPTY, np.int8)  # run a spot
        self._rides: tuple[list[Carrier], NDArray[np.int64], NDArray[np.bool_]] = (
            [], np.zeros(0, np.int64), np.zeros(0, np.bool_))

    @property
    def shards(self) -> list[ShardState]:
        """Shards in flight, in id order."""
        return list(self.in_flight.values())

    @property
    def rides(self) -> list[Ride]:
        """Carriers that had shards aboard when they were tracked during the last tick."""
        carriers, riders, lost = self._rides
        return [Ride(c, n, gone) for c, n, gone in zip(carriers, riders.tolist(), lost.tolist(),
                                                         strict=True) if n]

    def rekey(self, keys: Vectors) -> None:
        """Give the bots new keys and gossip them again (routing caches are dropped)."""
        self.keys = keys
        self.tables = RoutingTables(self.mesh, keys, self.config.horizon,
                                    self.config.fewest_tiles)
        self._similarity = SimilarityMemo(self.tables, self.vectors, SIMILARITY_BYTES)
        self.landmarks = Landmarks.build(self.mesh, keys, self.config.landmarks) \
            if self.config.landmarks else None
        self._blocks.clear()
        self._candidates.clear()
        for shard in self.in_flight.values():
            shard.best, shard.best_similarity = -1, float("-inf")
        self._oracles.clear()
        self._goals.clear()
        self._new += [s for group in self._waiting.values() for s in group]
        self._waiting.clear()

    def oracles(self, texts: list[int]) -> list[int]:
        """Return the bot whose key is most like each text, of all bots (scoring, never routing).

        Texts not seen before are compared with every key in blocks (one matrix product a
        block), and the answers kept: the cost is a text's, once, not a shard's.
        """
        new = sorted(set(texts).difference(self._oracles))
        for start in range(0, len(new), ORACLE_BLOCK):
            block = new[start:start + ORACLE_BLOCK]
            best = most_similar(self.vectors[block], self.keys)
            self._oracles.update(zip(block, best.tolist(), strict=True))
        return [self._oracles[t] for t in texts]

    def inject(self, tick: int, count: int) -> list[Event]:
        """Inject ``count`` new shards at random bots."""
        events = []
        if self.pool is None:
            texts = self.rng.integers(0, len(self.vectors), count).tolist()
        else:
            texts = self.pool[self.rng.integers(0, len(self.pool), count)].tolist()
        origins = [int(self.rng.integers(0, self.mesh.size)) for _ in texts]
        for index, origin, hint in zip(texts, origins, self.oracles(texts), strict=True):
            shard = ShardState(self.injected, index, origin, hint, origin, tick)
            self.injected += 1
            self.in_flight[shard.id] = shard
            self._new.append(shard)
            events.append(Event(tick, "shard.injected", {"shard": shard.id, "text": index,
                                                         "bot": origin}))
        return events

    def advance(self, tick: int, grid: Grid) -> list[Event]:
        """Track, hop, hand over, catch, launch; edit ``grid`` in place; return the events."""
        events: list[Event] = []
        self.finished = []
        tracker = self.tracker
        lost = tracker.update(grid)
        rows, data, count = tracker.rows, tracker.data, len(tracker.rows)
        self._rides = (rows[:count], data.riders[:count].copy(), ~data.alive[:count])
        where = self._bots_at(data.centroid[:count])
        moved = data.alive[:count] & (data.riders[:count] > 0) & (where != data.bot[:count])
        moving = np.flatnonzero(moved).tolist()
        entered = where[moving].tolist()
        self._prefetch_goals(
            [(self.in_flight[i].text_index, bot) for row, bot in zip(moving, entered, strict=True)
             for i in rows[row].shards] + [(s.text_index, s.bot) for s in self._new])
        for row, bot in zip(moving, entered, strict=True):
            self._ride(rows[row], bot, tick, events)
        for carrier in lost:
            self._hand_over(carrier, tick, events)
            if self.config.clear_wreckage:
                y, x = carrier.centroid
                kernels.erase(grid.words, grid.height, grid.width, round(y) - WRECKAGE // 2,
                              round(x) - WRECKAGE // 2, WRECKAGE, WRECKAGE)
        for row in np.flatnonzero(data.alive[:count] & (data.riders[:count] == 0)).tolist():
            tracker.absorb(grid, rows[row])  # bots eat spent carriers: no litter on the torus
        tracker.purge()
        self._new.sort(key=lambda s: s.id)
        for shard in self._new:
            self._arrive(shard, tick, None, events)
            if shard.status == "held":
                self._wait(shard)
        self._new = []
        events += self._launch(tick, grid)
        self.finished.sort(key=lambda s: s.id)
        return events

    def _bots_at(self, points: NDArray[np.float64]) -> NDArray[np.int64]:
        """Return the bot whose tile holds each (y, x) point (:meth:`Tiling.bot_of`, vectorised)."""
        cells = (points // self.tiling.tile).astype(np.int64)
        bots: NDArray[np.int64] = (cells[:, 0] % self.mesh.rows) * self.mesh.cols + \
            cells[:, 1] % self.mesh.cols
        return bots

    def _goal(self, shard: ShardState) -> int:
        """Return the bot a shard heads for.

        With landmarks: its block's nearest bot while that is beyond the horizon; then (and
        without landmarks) the best key its bot knows. The shard remembers the switch. With
        candidates, :meth:`_visiting_goal` decides.
        """
        if self.config.candidates:
            return self._visiting_goal(shard)
        if self.landmarks is not None and not shard.local:
            text = shard.text_index
            if text not in self._blocks:
                self._blocks[text] = self.landmarks.best(self.vectors[text])
            near = self.landmarks.nearest(shard.bot, self._blocks[text])
            if self.mesh.hops_between(shard.bot, near) > self.config.horizon:
                return near
            shard.local = True
        return self._best_known(shard.text_index, shard.bot)

    def _visiting_goal(self, shard: ShardState) -> int:
        """Visit the centres of the candidate blocks, then go to the best key seen on the way.

        At every bot the shard compares the best key that bot knows with the best it carries.
        Visits end when the carried key's similarity reaches ``accept`` or every candidate
        block's centre has been reached; the shard is delivered at its best key's bot.
        """
        text, landmarks = shard.text_index, self.landmarks
        known = self._best_known(text, shard.bot)
        if landmarks is None:  # the config refuses candidates without landmarks
            return known
        similarity = float(self.keys[known] @ self.vectors[text])
        if similarity > shard.best_similarity:
            shard.best, shard.best_similarity = known, similarity
        if text not in self._candidates:
            self._candidates[text] = landmarks.ranked(self.vectors[text], self.config.candidates)
        blocks = self._candidates[text]
        while not shard.local:
            if shard.best_similarity >= self.config.accept or shard.visited == len(blocks):
                shard.local = True
                break
            centre = landmarks.centre(blocks[shard.visited])
            if centre != shard.bot:
                return centre
            shard.visited += 1
        return shard.best

    def _best_known(self, text: int, bot: int) -> int:
        """Return the bot of the key most like ``text`` among those ``bot`` knows (cached)."""
        key = (text, bot)
        if key not in self._goals:
            self._goals[key] = self._similarity.best_known([text], [bot])[0]
        return self._goals[key]

    def _prefetch_goals(self, pairs: list[tuple[int, int]]) -> None:
        """Answer :meth:`_best_known` for the (text, bot) pairs this tick will ask, in one call."""
        wanted = [p for p in dict.fromkeys(pairs) if p not in self._goals]
        if wanted:
            texts, bots = (list(column) for column in zip(*wanted, strict=True))
            self._goals.update(zip(wanted, self._similarity.best_known(texts, bots),
                                   strict=True))

    def _finish(self, shard: ShardState, status: str) -> None:
        shard.status = status
        del self.in_flight[shard.id]
        self.finished.append(shard)

    def _arrive(self, shard: ShardState, tick: int, carrier: Carrier | None,
                events: list[Event]) -> None:
        """Decide at the shard's bot: deliver, stay aboard, or be caught and held."""
        goal = self._goal(shard)
        if goal != shard.bot and carrier is not None and self._stays_aboard(shard, carrier, goal):
            return
        if carrier is not None:
            shard.leave(tick)
            carrier.shards.remove(shard.id)
            carrier.data.riders[carrier.row] -= 1
        if goal == shard.bot:
            self._finish(shard, "delivered")
            events.append(Event(tick, "shard.delivered", {"shard": shard.id, "bot": shard.bot,
                                                          "oracle": shard.goal_hint}))
            return
        if carrier is not None:
            events.append(Event(tick, "shard.caught", {"shard": shard.id, "bot": shard.bot}))
            self._new.append(shard)
        shard.status = "held"

    def _stays_aboard(self, shard: ShardState, carrier: Carrier, goal: int) -> bool:
        """Say whether a shard rides on from the tile it entered (``goal`` is elsewhere).

        It stays while the carrier still heads closer to its goal; without ``stay_aboard``,
        only while it crosses a side tile of its sender on the way to the tile it was sent to
        (a glider sent diagonally passes one near the corner).
        """
        if self.config.stay_aboard:
            r, c = self.mesh.position(shard.bot)
            ahead = self.mesh.bot_at(r + carrier.step[0], c + carrier.step[1])
            return self.mesh.hops_between(ahead, goal) < self.mesh.hops_between(shard.bot, goal)
        r, c = self.mesh.position(shard.sender)
        toward = self.mesh.bot_at(r + carrier.step[0], c + carrier.step[1])
        return shard.bot != toward and shard.bot in self.mesh.neighbours[shard.sender]

    def _wait(self, shard: ShardState) -> None:
        """Queue a held shard with the others its bot sends the same way (in id order)."""
        goal, table = self._goal(shard), self.tables.tables[shard.bot]
        heading = _heading(self.tiling.direction(shard.bot, table[goal][1] if goal in table
                                                 else goal))
        group = self._waiting.setdefault(shard.bot * len(HEADINGS) + heading, [])
        if group and group[-1].id > shard.id:
            bisect.insort(group, shard, key=lambda s: s.id)
        else:
            group.append(shard)

    def _launch(self, tick: int, grid: Grid) -> list[Event]:
        """Every bot sends its held shards toward their next hops, one carrier per heading.

        A spot near the tile's exit edge whose lane (one tile of the ship's flight) is clear
        of live cells comes first. With none clear the bot waits, up to the time a glider takes
        to cross a tile, then launches at the first free spot (a still life in the lane never
        clears). With ``clear_spots``, a bot with no free spot for twice that long erases its
        first spot and launches there. :func:`kernels.launch` does this for every group, in
        (bot, heading) order.
        """
        if not self._waiting:
            return []
        order = np.sort(np.fromiter(self._waiting, np.int64, len(self._waiting)))
        forms = _launch_forms(self.tracker.rule, self.tiling.tile, self.config.lanes)
        clear_after = CLEAR_SPOT_TILES * self.tiling.tile if self.config.clear_spots else 0
        chosen = kernels.launch(grid.words, grid.height, grid.width, order, self.mesh.cols,
                                self.tiling.tile, forms.spots, forms.shapes, forms.dims,
                                forms.lanes, self._blocked, self._blockers, tick,
                                LANE_WAIT_TILES * self.tiling.tile, clear_after)
        tile, cols, spots = self.tiling.tile, self.mesh.cols, forms.spots.tolist()
        went = np.flatnonzero(chosen >= 0)
        launches = list(zip(order[went].tolist(), chosen[went].tolist(), strict=True))
        ships, tops, lefts, bots = [], [], [], []
        for key, spot in launches:
            bot, heading = divmod(key, len(HEADINGS))
            top, left = spots[heading][spot]
            ships.append(carrier_form(HEADINGS[heading]))
            tops.append(bot // cols * tile + top)
            lefts.append(bot % cols * tile + left)
            bots.append(bot)
        events = []
        for (key, _), bot, carrier in zip(launches, bots, self.tracker.add_many(
                ships, tops, lefts, tick, bots), strict=True):
            riders = self._waiting.pop(key)
            for shard in riders:
                shard.board(carrier.id, tick)
                carrier.shards.append(shard.id)
            carrier.data.riders[carrier.row] = len(riders)
            events.append(Event(tick, "carrier.launched", {
                "carrier": carrier.id, "apgcode": carrier.apgcode, "bot": bot,
                "heading": list(carrier.step), "at": [round(v, 3) for v in carrier.centroid],
                "shards": [s.id for s in riders]}))
        return events

    def _ride(self, carrier: Carrier, where: int, tick: int, events: list[Event]) -> None:
        """Hop a live carrier's riders into the tile it entered."""
        carrier.data.bot[carrier.row] = where
        for shard in [self.in_flight[i] for i in carrier.shards]:
            events.append(Event(tick, "shard.hop", {"shard": shard.id, "carrier": carrier.id,
                                                    "from": shard.bot, "to": where}))
            shard.hop(where, tick)
            self._arrive(shard, tick, carrier, events)

    def _hand_over(self, carrier: Carrier, tick: int, events: list[Event]) -> None:
        """Give a lost carrier's riders to the bot that held them last (or drop them)."""
        for shard in [self.in_flight[i] for i in carrier.shards]:
            shard.losses += 1
            shard.leave(tick - 1)
            if shard.losses > self.config.max_relaunches:
                self._finish(shard, "dropped")
                events.append(Event(tick, "shard.dropped", {
                    "shard": shard.id, "bot": shard.bot, "reason": "too many carriers lost"}))
            else:
                shard.status = "held"
                self._new.append(shard)
                events.append(Event(tick, "shard.handed", {
                    "shard": shard.id, "carrier": carrier.id, "bot": shard.bot,
                    "reason": "carrier lost (died or collided)"}))
        carrier.shards = []
        carrier.data.riders[carrier.row] = 0


HEADINGS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1))  # index: (dy+1)*3 + dx+1
SPOT_SHIFTS = (0, -4, 4, -6, 6)  # launch spots slide along the exit edge, nearest first
# Keeping right, the spots on the right of the heading only, far enough off the tile's middle
# that no cell of a lane is in the opposite stream's lane: lightweight spaceships 3-4 cells off
# the middle row, gliders 3-4 cells off the diagonal (a glider moves half its shift each way).
KEEP_RIGHT_SHIFTS = {False: (4, 3), True: (6, 8)}  # by diagonal heading


def _heading(step: tuple[int, int]) -> int:
    return (step[0] + 1) * 3 + step[1] + 1


@dataclass(frozen=True)
class LaunchForms:
    """Per heading: the carrier's cells, launch spots in a tile, and lane (for the kernels)."""

    shapes: NDArray[np.uint8]  # (9, rows, cols), padded
    dims: NDArray[np.int64]  # (9, 2): each shape's height and width
    spots: NDArray[np.int64]  # (9, 5, 2): (top, left) from the tile's origin
    lanes: NDArray[np.int64]  # (9, runs, 3): see :meth:`Flight.lane` (padded with empty runs)


@cache
def _launch_forms(rule: Rule, tile: int, traffic: str = "shared") -> LaunchForms:
    """Carriers, launch spots and lanes a heading; ``traffic``: "shared" or "keep_right"."""
    choices = len(SPOT_SHIFTS) if traffic == "shared" else len(KEEP_RIGHT_SHIFTS[False])
    shapes = np.zeros((len(HEADINGS), 8, 8), np.uint8)
    dims = np.zeros((len(HEADINGS), 2), np.int64)
    spots = np.zeros((len(HEADINGS), choices, 2), np.int64)
    runs: list[NDArray[np.int64]] = [np.zeros((0, 3), np.int64)] * len(HEADINGS)
    for heading, step in enumerate(HEADINGS):
        if step == (0, 0):
            continue
        form = carrier_form(step)
        h, w = form.cells.shape
        shapes[heading, :h, :w], dims[heading] = form.cells, (h, w)
        base = _spot(step, h, w, tile, 0)
        for index, shift in enumerate(SPOT_SHIFTS if traffic == "shared"
                                      else KEEP_RIGHT_SHIFTS[bool(step[0] and step[1])]):
            spot = _spot(step, h, w, tile, shift)
            if traffic == "keep_right" and _rightward(step, base, spot) < 0:
                spot = _spot(step, h, w, tile, -shift)
            spots[heading, index] = spot
        runs[heading] = flight(form, rule).lane(tile)
    lanes = np.zeros((len(HEADINGS), max(len(r) for r in runs), 3), np.int64)
    for heading, lane in enumerate(runs):
        lanes[heading, :len(lane)] = lane
    return LaunchForms(shapes, dims, spots, lanes)


def _spot(step: tuple[int, int], h: int, w: int, tile: int, shift: int) -> tuple[int, int]:
    """Top-left of a launch spot: at the exit edge, slid ``shift`` cells along it."""
    top = _edge(step[0], h, tile) + (shift if step[0] == 0 else 0)
    left = _edge(step[1], w, tile) + (shift if step[1] == 0 else 0)
    if step[0] and step[1]:  # diagonal: slide along the row edge instead
        left += shift // 2
        top -= shift // 2 * step[0] * step[1]
    return top, left


def _rightward(step: tuple[int, int], base: tuple[int, int], spot: tuple[int, int]) -> int:
    """How far ``spot`` lies right of ``base`` for a ship heading ``step`` (y grows down)."""
    return (spot[0] - base[0]) * step[1] - (spot[1] - base[1]) * step[0]


def _edge(step: int, size: int, tile: int) -> int:
    """Offset in a tile for a carrier of ``size`` cells heading ``step`` (-1, 0, 1)."""
    if step > 0:
        return tile - size - 2
    if step < 0:
        return 2
    return (tile - size) // 2
