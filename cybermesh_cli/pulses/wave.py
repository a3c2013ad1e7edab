"""The LoRA wave: an adapter cut into chunks that travel bot to bot across the mesh.

Store and forward: a bot that holds every chunk checks the reassembled bytes against the
source's digest, can pulse its own tile, and sends each neighbour up to ``link_capacity``
chunks it lacks per tick (lowest index first). All sends of a tick use the holdings at its
start, so the wave moves one hop per ``ceil(chunks / link_capacity)`` ticks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from cybermesh_cli.topology import Mesh


@dataclass(frozen=True)
class Chunk:
    """One piece of an adapter's weights file."""

    index: int
    data: bytes


def split(data: bytes, count: int) -> list[Chunk]:
    """Cut ``data`` into ``count`` chunks of near-equal size."""
    bounds = np.linspace(0, len(data), count + 1).astype(int)
    return [Chunk(i, data[bounds[i]:bounds[i + 1]]) for i in range(count)]


def digest(data: bytes) -> str:
    """Return the SHA-256 of ``data`` in hex; a bot trusts reassembled chunks only if it matches."""
    return hashlib.sha256(data).hexdigest()


def join(chunks: dict[int, Chunk], count: int, expected: str) -> bytes | None:
    """Reassemble, or None while chunks are missing or the digest does not match."""
    if len(chunks) < count:
        return None
    data = b"".join(chunks[i].data for i in range(count))
    return data if digest(data) == expected else None


@dataclass(frozen=True)
class WaveTick:
    """The front after one tick: bots complete (in completion order) and chunks per bot."""

    tick: int
    complete: tuple[int, ...]
    newly_complete: tuple[int, ...]
    chunks_held: tuple[int, ...]


def spread(mesh: Mesh, source: int, data: bytes, chunks: int, link_capacity: int,
           max_ticks: int) -> Iterator[WaveTick]:
    """Run the wave from ``source`` until every bot is complete or ``max_ticks`` pass."""
    pieces = split(data, chunks)
    expected = digest(data)
    held: list[dict[int, Chunk]] = [{} for _ in range(mesh.size)]
    held[source] = {c.index: c for c in pieces}
    complete = [source]
    yield WaveTick(0, (source,), (source,), tuple(len(h) for h in held))
    for tick in range(1, max_ticks + 1):
        if len(complete) == mesh.size:
            return
        sends: list[tuple[int, Chunk]] = []
        for bot in complete:
            for neighbour in mesh.neighbours[bot]:
                missing = [c for i, c in sorted(held[bot].items()) if i not in held[neighbour]]
                sends += [(neighbour, c) for c in missing[:link_capacity]]
        for neighbour, chunk in sends:
            held[neighbour][chunk.index] = chunk
        fresh = [bot for bot in range(mesh.size)
                 if bot not in complete and join(held[bot], chunks, expected) is not None]
        complete += fresh
        yield WaveTick(tick, tuple(complete), tuple(fresh), tuple(len(h) for h in held))


def front_speed(mesh: Mesh, source: int, completed_at: dict[int, int]) -> float:
    """Hops per tick: the inverse slope of completion tick against hop distance (least squares)."""
    hops = np.array([mesh.hops[source, bot] for bot in completed_at], float)
    ticks = np.array(list(completed_at.values()), float)
    if np.ptp(hops) == 0:
        return 0.0
    slope = np.polyfit(hops, ticks, 1)[0]
    return float(1.0 / slope)
