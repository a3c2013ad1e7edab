"""The mesh as a memory: bots keep the shards delivered to them, and queries read them back.

Storage: each bot keeps at most ``capacity`` shards; when full, the oldest goes (first in,
first out), so a bot's memory is its most recent deliveries.

Recall: a query starts at a bot and carries what it has seen (the gossip tables of the bots it
passed, as a routed shard does). At each bot it picks, among the bots it knows and has not
probed, the one whose key is most like the query, and steps one hop toward it (bot numbers are
grid positions); at that bot it probes: the bot answers with its ``k`` stored shards most like
the query. It stops after ``probe`` probes, when it knows no bot left to probe, or when its
hops run out, and the answers are merged into the ``k`` best. Seen this way the mesh is an
inverted-file index whose centroids are the bots' keys: IVF-flat at ``nprobe = probe`` runs
the same search with a global view of the centroids and no hops.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cybermesh_cli.shards.embedders import Vectors
from cybermesh_cli.shards.routing import RoutingTables


class Memory:
    """What each bot keeps: entry numbers (rows of a vector table), oldest first."""

    def __init__(self, bots: int, capacity: int) -> None:
        """Give ``bots`` bots an empty memory of ``capacity`` entries each."""
        self.capacity = capacity
        self.held: list[deque[int]] = [deque() for _ in range(bots)]
        self.stored = 0
        self.evicted = 0

    def store(self, bot: int, entry: int) -> int | None:
        """Keep ``entry`` at ``bot``; return the entry evicted to make room, if any."""
        held = self.held[bot]
        held.append(entry)
        self.stored += 1
        if len(held) > self.capacity:
            self.evicted += 1
            return held.popleft()
        return None

    def entries(self, bot: int) -> list[int]:
        """Entries ``bot`` holds, oldest first."""
        return list(self.held[bot])

    def __len__(self) -> int:
        """Entries held by all bots."""
        return sum(len(h) for h in self.held)

    def owners(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Every held entry and the bot that holds it, as two arrays (bot order, oldest first)."""
        bots = [bot for bot, held in enumerate(self.held) for _ in held]
        entries = [entry for held in self.held for entry in held]
        return np.array(entries, np.int64), np.array(bots, np.int64)

    @classmethod
    def from_owners(cls, bots: int, capacity: int, entries: NDArray[np.int64],
                    owners: NDArray[np.int64]) -> Memory:
        """Rebuild a memory saved with :meth:`owners`."""
        memory = cls(bots, capacity)
        for entry, bot in zip(entries.tolist(), owners.tolist(), strict=True):
            memory.store(bot, entry)
        memory.stored = memory.evicted = 0
        return memory


@dataclass(frozen=True)
class Hit:
    """One stored shard returned by a query, and where the query found it."""

    entry: int
    bot: int
    similarity: float
    hops: int  # hops the query had walked when it probed this bot


@dataclass(frozen=True)
class Recall:
    """A query's result: the merged hits, the bots it walked through and those it probed."""

    hits: tuple[Hit, ...]
    path: tuple[int, ...]
    probed: tuple[int, ...]
    answers: tuple[Hit, ...] = ()  # every probed bot's own k best, before the merge

    def answer(self, bot: int) -> list[int]:
        """Return the entries ``bot`` answered with, best first."""
        return [h.entry for h in self.answers if h.bot == bot]

    @property
    def hops(self) -> int:
        """Hops walked."""
        return len(self.path) - 1

    @property
    def visited(self) -> int:
        """Distinct bots the query passed through."""
        return len(set(self.path))


def recall(tables: RoutingTables, memory: Memory, vectors: Vectors, query: Vectors,
           origin: int, k: int, probe: int, max_hops: int) -> Recall:
    """Route ``query`` from ``origin``, probing up to ``probe`` bots best by key."""
    mesh = tables.mesh
    similarity = tables.keys @ query
    seen: set[int] = set()
    probed: list[int] = []
    answers: list[Hit] = []
    path = [origin]
    bot = origin
    while len(probed) < probe:
        seen.update(tables.tables[bot])
        left = seen.difference(probed)
        if not left:
            break
        target = max(left, key=lambda t: (similarity[t], -mesh.hops[bot, t], -t))
        if target == bot:
            answers += _answer(memory, vectors, query, bot, k, len(path) - 1)
            probed.append(bot)
            continue
        if len(path) - 1 >= max_hops:
            break
        bot = min(mesh.neighbours[bot], key=lambda n: (mesh.hops[n, target], n))
        path.append(bot)
    best = sorted(answers, key=lambda h: (-h.similarity, h.entry))[:k]
    return Recall(tuple(best), tuple(path), tuple(probed), tuple(answers))


def _answer(memory: Memory, vectors: Vectors, query: Vectors, bot: int, k: int,
            hops: int) -> list[Hit]:
    """Answer as ``bot``: its ``k`` stored shards most like the query."""
    entries = np.array(memory.entries(bot), np.int64)
    if not len(entries):
        return []
    scores = vectors[entries] @ query
    order = np.lexsort((entries, -scores))[:k]
    return [Hit(int(entries[i]), bot, float(scores[i]), hops) for i in order]


def exact_knn(vectors: Vectors, held: NDArray[np.int64], query: Vectors, k: int
              ) -> NDArray[np.int64]:
    """Return the ``k`` held entries most like ``query``, over everything stored."""
    scores = vectors[held] @ query
    return held[np.lexsort((held, -scores))[:k]]
