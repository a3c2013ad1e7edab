"""Routing shards with local knowledge only.

Protocol: every bot starts knowing its own key. In each gossip round, every bot sends its table
(known bots, their keys and hop counts) to its neighbours, and keeps for each bot the shortest
route it has heard of, with the neighbour it heard it from as next hop (distance-vector
routing; with ``fewest_tiles``, of equally short routes the one whose carriers cross fewest
tiles). After ``horizon`` rounds a bot knows the keys within ``horizon`` hops. A shard at a
bot goes toward the known key most similar to it (cosine), one hop at a time; it is delivered
where the bot's own key is the best it knows. The oracle target (argmax over all keys) is used
only to score. Shards never revisit a bot; they are dropped when every route is visited, and
expire after ``max_hops`` hops.

Below the mesh's diameter a bot may be the best it knows while a better key lies beyond its
horizon. With a :class:`Confidence`, a shard carries the keys it has seen on its way (the tables
of the bots it passed) and is delivered at the best of them only when it is confident: its
similarity there reaches ``accept``, or leads the runner-up by ``margin``. Otherwise it explores,
one hop to the neighbour whose table shows it the most bots it has not seen, and then heads for
the best it has seen (bot numbers are grid positions, so any bot it heard of can be stepped
toward). It is delivered unconfident when nothing is left to see or its hops run out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba as nb
import numpy as np
from numpy.typing import NDArray

from cybermesh_cli.topology import Mesh

Vectors = NDArray[np.float32]


@dataclass(frozen=True)
class Route:
    """What happened to one shard: outcome (delivered, dropped, expired), path, reason."""

    outcome: str
    path: tuple[int, ...]
    reason: str = ""

    @property
    def hops(self) -> int:
        """Hops taken."""
        return len(self.path) - 1

    @property
    def at(self) -> int:
        """The bot where the shard ended."""
        return self.path[-1]


@dataclass
class RoutingTables:
    """Per bot: known bot -> (hops, next hop), built by gossip."""

    mesh: Mesh
    keys: Vectors
    horizon: int
    fewest_tiles: bool = False  # among equally short routes keep the one crossing fewest tiles
    tables: list[dict[int, tuple[int, int]]] = field(default_factory=list)
    messages: int = 0
    # Every table as arrays: bot b knows targets[offsets[b]:offsets[b + 1]], hops away.
    offsets: NDArray[np.int64] = field(init=False, repr=False, compare=False)
    targets: NDArray[np.int64] = field(init=False, repr=False, compare=False)
    hops: NDArray[np.int64] = field(init=False, repr=False, compare=False)

    def known(self, bot: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Return the bots ``bot`` knows and their hop counts, as arrays (views)."""
        lo, hi = self.offsets[bot], self.offsets[bot + 1]
        return self.targets[lo:hi], self.hops[lo:hi]

    def __post_init__(self) -> None:
        """Run the gossip rounds."""
        self.tables = [{bot: (0, bot)} for bot in range(self.mesh.size)]
        if self.fewest_tiles:
            self._gossip_fewest_tiles()
        else:
            for _ in range(self.horizon):
                heard = [dict(t) for t in self.tables]
                for bot in range(self.mesh.size):
                    for neighbour in self.mesh.neighbours[bot]:
                        self.messages += len(self.tables[neighbour])
                        for target, (hops, _) in self.tables[neighbour].items():
                            known = heard[bot].get(target)
                            if known is None or hops + 1 < known[0]:
                                heard[bot][target] = (hops + 1, neighbour)
                self.tables = heard
        sizes = np.fromiter((len(t) for t in self.tables), np.int64, len(self.tables))
        self.offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        total = int(self.offsets[-1])
        self.targets = np.fromiter((b for t in self.tables for b in t), np.int64, total)
        self.hops = np.fromiter((h for t in self.tables for h, _ in t.values()), np.int64, total)

    def _gossip_fewest_tiles(self) -> None:
        """Gossip as :meth:`__post_init__`, each route also costed in tiles (rows plus columns).

        On an 8-neighbour mesh many next hops are equally short in hops, and the first in
        neighbour order often zig-zags diagonally: a carrier crossing two tiles where one would
        do. Routes are compared by (hops, tiles), so the horizon and the hop counts stay as
        they were and every route is a straightest of the shortest.
        """
        tiles = [{bot: 0} for bot in range(self.mesh.size)]
        for _ in range(self.horizon):
            heard = [dict(t) for t in self.tables]
            heard_tiles = [dict(t) for t in tiles]
            for bot in range(self.mesh.size):
                for neighbour in self.mesh.neighbours[bot]:
                    step = self.mesh.tiles_between(bot, neighbour)
                    self.messages += len(self.tables[neighbour])
                    for target, (hops, _) in self.tables[neighbour].items():
                        cost = (hops + 1, tiles[neighbour][target] + step)
                        known = heard[bot].get(target)
                        if known is None or cost < (known[0], heard_tiles[bot][target]):
                            heard[bot][target] = (hops + 1, neighbour)
                            heard_tiles[bot][target] = cost[1]
            self.tables, tiles = heard, heard_tiles


def oracle_targets(keys: Vectors, shards: Vectors) -> NDArray[np.int64]:
    """Argmax cosine over all keys, for scoring only."""
    return np.asarray(np.argmax(shards @ keys.T, axis=1), np.int64)


@dataclass(frozen=True)
class Confidence:
    """When a shard at the best bot it has seen is delivered rather than sent exploring."""

    accept: float  # a similarity at least this high is delivered
    margin: float  # as is a lead of at least this much over the runner-up seen


def route(tables: RoutingTables, vector: Vectors, origin: int, max_hops: int,
          confidence: Confidence | None = None) -> Route:
    """Move one shard from ``origin`` until it is delivered, dropped or expired."""
    if confidence is not None:
        return _explore(tables, vector, origin, max_hops, confidence)
    similarity = tables.keys @ vector
    path = [origin]
    visited = {origin}
    bot = origin
    while True:
        table = tables.tables[bot]
        ranked = sorted(table, key=lambda t: (-similarity[t], table[t][0], t))
        if ranked[0] == bot:
            return Route("delivered", tuple(path))
        step = next((table[t][1] for t in ranked if t != bot and table[t][1] not in visited),
                    None)
        if step is None:
            return Route("dropped", tuple(path), "every route leads to a visited bot")
        if len(path) - 1 >= max_hops:
            return Route("expired", tuple(path), f"ttl of {max_hops} hops reached")
        path.append(step)
        visited.add(step)
        bot = step


def _explore(tables: RoutingTables, vector: Vectors, origin: int, max_hops: int,
             confidence: Confidence) -> Route:
    """Route carrying the keys seen so far; explore where the best seen is not convincing."""
    similarity = tables.keys @ vector
    mesh = tables.mesh
    path = [origin]
    seen: set[int] = set()
    bot = origin
    while True:
        seen.update(tables.tables[bot])
        ranked = sorted(seen, key=lambda t: (-similarity[t], mesh.hops[bot, t], t))
        if ranked[0] == bot:
            lead = similarity[bot] - similarity[ranked[1]] if len(ranked) > 1 else np.inf
            sure = similarity[bot] >= confidence.accept or lead >= confidence.margin
            fresh = {n: len(tables.tables[n].keys() - seen) for n in mesh.neighbours[bot]
                     if n not in path}
            if sure or len(seen) == mesh.size or not any(fresh.values()):
                return Route("delivered", tuple(path))
            step = max(fresh, key=lambda n: (fresh[n], similarity[n], -n))
        else:
            step = min(mesh.neighbours[bot], key=lambda n: (mesh.hops[n, ranked[0]], n))
        if len(path) - 1 >= max_hops:
            return Route("expired", tuple(path), f"ttl of {max_hops} hops reached")
        path.append(step)
        bot = step


def best_known(tables: RoutingTables, vector: Vectors, bot: int) -> int:
    """Return the bot whose key, among those ``bot`` knows, is most like ``vector``."""
    return best_known_among(tables, tables.keys @ vector, bot)


def best_known_among(tables: RoutingTables, similarity: NDArray[np.float32], bot: int) -> int:
    """Do :func:`best_known` given the vector's similarity to every key.

    Most similar known key first, then fewest hops, then lowest bot number.
    """
    targets, hops = tables.known(bot)
    return int(_best_among(targets, hops, similarity[targets]))


def best_known_for(tables: RoutingTables, vector: Vectors, bot: int) -> int:
    """Do :func:`best_known`, computing similarity only to the keys ``bot`` knows."""
    targets, hops = tables.known(bot)
    return _best_by_dots(tables.keys, targets, hops, vector)


@nb.njit(cache=True)
def _best_by_dots(keys: Vectors, targets: NDArray[np.int64], hops: NDArray[np.int64],
                  vector: Vectors) -> int:
    """:func:`_best_among` over :func:`_dots`, in one call from Python (one a hop)."""
    return _best_among(targets, hops, _dots(keys, targets, vector))


@nb.njit(cache=True, fastmath=True)
def _dot(keys: Vectors, row: int, vector: Vectors) -> np.float32:
    """``keys[row] @ vector``, the sum vectorised (the one definition every caller shares)."""
    total = np.float32(0)
    for d in range(len(vector)):
        total += keys[row, d] * vector[d]
    return total


@nb.njit(cache=True)
def _dots(keys: Vectors, rows: NDArray[np.int64], vector: Vectors) -> Vectors:
    """``keys[rows] @ vector`` without the copy."""
    out = np.empty(len(rows), np.float32)
    for k in range(len(rows)):
        out[k] = _dot(keys, rows[k], vector)
    return out


class SimilarityMemo:
    """:func:`best_known_for` that computes each (text, key) similarity once.

    A shard's next bot knows mostly the keys its last bot knew (72 of 81 with 8 neighbours
    and a horizon of 4), and reading the keys, not comparing them, is what a decision costs on
    a large mesh. Each text gets a row of similarities in a bounded block, rows reused oldest
    first; a row is emptied by a new stamp (what was computed under an older one is stale), so
    reuse costs nothing even where the rows are long. Answers are those of
    :func:`best_known_for`, bit for bit: each similarity is the same :func:`_dot`.
    """

    def __init__(self, tables: RoutingTables, vectors: Vectors, budget_bytes: int) -> None:
        """Keep at most ``budget_bytes`` of similarities (at least one text's)."""
        self.tables, self.vectors = tables, vectors
        rows = min(len(vectors), max(1, budget_bytes // (8 * tables.mesh.size)))
        # Written now, not left to the first touch: page faults on new texts' rows cost more
        # than the similarities saved (64x64: decisions 0.8 ms a tick that way, 0.3-0.5 this).
        self._rows = np.full((rows, tables.mesh.size), 0, np.float32)
        self._stamps = np.full((rows, tables.mesh.size), 0, np.int32)  # a value's row stamp
        self._stamp = np.zeros(rows, np.int32)  # each row's stamp now
        self._owner = [-1] * rows  # the text each row holds
        self._slot: dict[int, int] = {}  # text -> its row
        self._next = 0  # the row the next new text takes

    def best_known(self, texts: list[int], bots: list[int]) -> list[int]:
        """Return, for each (text, bot), the bot of the key most like it that ``bot`` knows.

        One compiled call for all pairs, but for a batch of more new texts than rows: its
        pairs go in parts, so no row is reused while a pair still needs it.
        """
        answers: list[int] = []
        start, used, slots = 0, set[int](), list[int]()  # the part not yet run: texts, rows
        for index, text in enumerate(texts):
            slot = self._slot.get(text)
            if slot is None:
                if self._owner[self._next] in used:
                    answers += self._run(texts[start:index], bots[start:index], slots)
                    start, used, slots = index, set(), []
                slot = self._take(text)
            used.add(text)
            slots.append(slot)
        return answers + self._run(texts[start:], bots[start:], slots)

    def _take(self, text: int) -> int:
        """Give ``text`` the oldest row (stamped anew), forgetting the text that held it."""
        slot, self._next = self._next, (self._next + 1) % len(self._rows)
        self._slot.pop(self._owner[slot], None)
        self._owner[slot], self._slot[text] = text, slot
        self._stamp[slot] += 1
        return slot

    def _run(self, texts: list[int], bots: list[int], slots: list[int]) -> list[int]:
        tables = self.tables
        goals = _best_many(tables.keys, tables.offsets, tables.targets, tables.hops,
                           self.vectors, np.array(texts, np.int64), np.array(bots, np.int64),
                           np.array(slots, np.int64), self._rows, self._stamps, self._stamp)
        answers: list[int] = goals.tolist()
        return answers


@nb.njit(cache=True)
def _best_many(keys: Vectors, offsets: NDArray[np.int64], targets: NDArray[np.int64],
               hops: NDArray[np.int64], vectors: Vectors, texts: NDArray[np.int64],
               bots: NDArray[np.int64], slots: NDArray[np.int64], memo: Vectors,
               stamps: NDArray[np.int32], stamp: NDArray[np.int32]) -> NDArray[np.int64]:
    """:func:`_best_by_memo` for each (text, bot), the text's similarities in its slot's row."""
    out = np.empty(len(texts), np.int64)
    for i in range(len(texts)):
        lo, hi = offsets[bots[i]], offsets[bots[i] + 1]
        slot = slots[i]
        out[i] = _best_by_memo(keys, targets[lo:hi], hops[lo:hi], vectors[texts[i]],
                               memo[slot], stamps[slot], stamp[slot])
    return out


@nb.njit(cache=True)
def _best_by_memo(keys: Vectors, targets: NDArray[np.int64], hops: NDArray[np.int64],
                  vector: Vectors, memo: Vectors, stamps: NDArray[np.int32], stamp: int) -> int:
    """:func:`_best_by_dots`, reading each similarity stamped ``stamp`` or computing it."""
    similarity = np.empty(len(targets), np.float32)
    for k in range(len(targets)):
        target = targets[k]
        if stamps[target] != stamp:
            memo[target], stamps[target] = _dot(keys, target, vector), stamp
        similarity[k] = memo[target]
    return _best_among(targets, hops, similarity)


@nb.njit(cache=True)
def _best_among(targets: NDArray[np.int64], hops: NDArray[np.int64],
                similarity: NDArray[np.float32]) -> int:
    """Most similar of ``targets`` (``similarity`` to each), then fewest ``hops``, then lowest."""
    best = 0
    for k in range(1, len(targets)):
        s, b = similarity[k], similarity[best]
        if s > b or s == b and (hops[k] < hops[best] or hops[k] == hops[best]
                                and targets[k] < targets[best]):
            best = k
    return int(targets[best])
