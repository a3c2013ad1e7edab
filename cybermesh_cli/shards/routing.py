"""Routing shards with local knowledge only.

Protocol: every bot starts knowing its own key. In each gossip round, every bot sends its table
(known bots, their keys and hop counts) to its neighbours, and keeps for each bot the shortest
route it has heard of, with the neighbour it heard it from as next hop (distance-vector
routing). After ``horizon`` rounds a bot knows the keys within ``horizon`` hops. A shard at a
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
    tables: list[dict[int, tuple[int, int]]] = field(default_factory=list)
    messages: int = 0
    _known: dict[int, tuple[NDArray[np.int64], NDArray[np.int64]]] = field(
        default_factory=dict, repr=False)

    def known(self, bot: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Return the bots ``bot`` knows and their hop counts, as arrays (built once a bot)."""
        if bot not in self._known:
            table = self.tables[bot]
            self._known[bot] = (np.fromiter(table, np.int64, len(table)),
                                np.fromiter((h for h, _ in table.values()), np.int64, len(table)))
        return self._known[bot]

    def __post_init__(self) -> None:
        """Run the gossip rounds."""
        self.tables = [{bot: (0, bot)} for bot in range(self.mesh.size)]
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
    return int(_best_among(targets, hops, _dots(tables.keys, targets, vector)))


@nb.njit(cache=True, fastmath=True)
def _dots(keys: Vectors, rows: NDArray[np.int64], vector: Vectors) -> Vectors:
    """``keys[rows] @ vector`` without the copy (the sums vectorised, as BLAS does)."""
    out = np.empty(len(rows), np.float32)
    for k in range(len(rows)):
        total = np.float32(0)
        for d in range(len(vector)):
            total += keys[rows[k], d] * vector[d]
        out[k] = total
    return out


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
