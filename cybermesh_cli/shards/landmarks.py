"""Landmarks: the mean key of every block of the mesh, known to every bot.

A bot's gossip table holds the keys within its horizon. Beyond it, when keys are laid out so
that alike keys sit near each other (``routing.layout: bisection``), the mean key of each
block of ``side`` x ``side`` bots says which region holds keys like a shard: a coarse map, as
in landmark routing (Tsuchiya, 1988) and the area summaries of hierarchical routing. A shard
heads for the block most like it until the block is within its bot's horizon, then climbs the
bots' tables as before.

With ``routing.candidates``, a shard instead visits the centres of the blocks most like it, in
turn, carrying the best key it has seen in the tables of the bots it passed, and stops when
that key is similar enough (``routing.accept``) or the candidates are spent; then it goes to
that key's bot and climbs the tables from there. One block's mean can hide its best key; the
best of a few blocks rarely does (docs/scale.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cybermesh_cli.topology import Mesh

Vectors = NDArray[np.float32]


@dataclass(frozen=True)
class Landmarks:
    """One normalised mean key a block, row-major over the blocks of a mesh."""

    mesh: Mesh
    side: int
    keys: Vectors

    @classmethod
    def build(cls, mesh: Mesh, keys: Vectors, side: int) -> Landmarks:
        """Average the keys of each ``side`` x ``side`` block (the blocks must tile the mesh)."""
        grid = keys.reshape(mesh.rows // side, side, mesh.cols // side, side, -1)
        means = grid.mean(axis=(1, 3)).reshape(-1, keys.shape[1])
        means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
        return cls(mesh, side, means.astype(np.float32))

    @property
    def count(self) -> int:
        """Blocks, each a summary every bot keeps."""
        return len(self.keys)

    def best(self, vector: Vectors) -> int:
        """Return the block whose mean key is most like ``vector``."""
        return int(np.argmax(self.keys @ vector))

    def ranked(self, vector: Vectors, count: int) -> list[int]:
        """Return the ``count`` blocks most like ``vector``, most like first."""
        return [int(block) for block in np.argsort(-(self.keys @ vector), kind="stable")[:count]]

    def centre(self, block: int) -> int:
        """Return the bot at the middle of ``block``: within side // 2 hops of all of it."""
        block_row, block_col = divmod(block, self.mesh.cols // self.side)
        return self.mesh.bot_at(block_row * self.side + self.side // 2,
                                block_col * self.side + self.side // 2)

    def nearest(self, bot: int, block: int) -> int:
        """Return the bot of ``block`` nearest to ``bot`` (the short way round a torus)."""
        row, col = self.mesh.position(bot)
        block_row, block_col = divmod(block, self.mesh.cols // self.side)
        return self.mesh.bot_at(
            _nearest(row, block_row * self.side, self.side, self.mesh.rows, self.mesh.torus),
            _nearest(col, block_col * self.side, self.side, self.mesh.cols, self.mesh.torus))


def _nearest(x: int, low: int, width: int, size: int, torus: bool) -> int:
    """Return the point of [low, low + width) nearest to x on a line or a ring of ``size``."""
    high = low + width - 1
    if low <= x <= high:
        return x
    if not torus:
        return min(max(x, low), high)
    return low if (low - x) % size <= (x - high) % size else high
