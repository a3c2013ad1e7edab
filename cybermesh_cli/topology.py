"""The mesh of bots and their tiles: R x C bots on a grid (a torus by default), 4- or 8-neighbours.

Every layer that places something on the mesh (shards, pulses, energy trails) asks this module
where a bot's tile is, which bot owns a point, and how far two bots are apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

_OFFSETS = {
    4: ((-1, 0), (0, -1), (0, 1), (1, 0)),
    8: ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)),
}


@dataclass(frozen=True)
class Mesh:
    """Bots numbered row-major: bot ``r * cols + c`` sits at row r, column c."""

    rows: int
    cols: int
    neighbourhood: int = 4
    torus: bool = True

    @property
    def size(self) -> int:
        """Number of bots."""
        return self.rows * self.cols

    def position(self, bot: int) -> tuple[int, int]:
        """(row, column) of a bot."""
        return divmod(bot, self.cols)

    def bot_at(self, row: int, col: int) -> int:
        """Return the bot at (row, column), wrapping on a torus."""
        return (row % self.rows) * self.cols + col % self.cols

    @cached_property
    def neighbours(self) -> tuple[tuple[int, ...], ...]:
        """Each bot's neighbours, in a fixed order (no duplicates, never itself)."""
        result = []
        for bot in range(self.size):
            r, c = self.position(bot)
            found: list[int] = []
            for dr, dc in _OFFSETS[self.neighbourhood]:
                nr, nc = r + dr, c + dc
                if not self.torus and not (0 <= nr < self.rows and 0 <= nc < self.cols):
                    continue
                other = self.bot_at(nr, nc)
                if other != bot and other not in found:
                    found.append(other)
            result.append(tuple(found))
        return tuple(result)

    def distance(self, a: int | NDArray[np.int64], b: int | NDArray[np.int64]
                 ) -> NDArray[np.int64]:
        """Shortest hop count between bots (elementwise): Chebyshev for 8, Manhattan for 4."""
        ra, ca = np.divmod(np.asarray(a, np.int64), self.cols)
        rb, cb = np.divmod(np.asarray(b, np.int64), self.cols)
        dr, dc = np.abs(ra - rb), np.abs(ca - cb)
        if self.torus:
            dr, dc = np.minimum(dr, self.rows - dr), np.minimum(dc, self.cols - dc)
        result: NDArray[np.int64] = np.maximum(dr, dc) if self.neighbourhood == 8 else dr + dc
        return result

    def hops_between(self, a: int, b: int) -> int:
        """Do :meth:`distance` for two bots, in plain Python (hot paths call it per shard)."""
        (ra, ca), (rb, cb) = divmod(a, self.cols), divmod(b, self.cols)
        dr, dc = abs(ra - rb), abs(ca - cb)
        if self.torus:
            dr, dc = min(dr, self.rows - dr), min(dc, self.cols - dc)
        return max(dr, dc) if self.neighbourhood == 8 else dr + dc

    def tiles_between(self, a: int, b: int) -> int:
        """Return the fewest tiles a carrier enters from bot ``a`` to ``b``: rows plus columns.

        A glider crossing diagonally enters a side tile on its way (it passes a tile corner
        exactly only by chance), so a diagonal step costs two tiles, as two orthogonal ones do.
        """
        (ra, ca), (rb, cb) = divmod(a, self.cols), divmod(b, self.cols)
        dr, dc = abs(ra - rb), abs(ca - cb)
        if self.torus:
            dr, dc = min(dr, self.rows - dr), min(dc, self.cols - dc)
        return dr + dc

    @cached_property
    def hops(self) -> NDArray[np.int64]:
        """Shortest hop counts between every pair of bots (size x size: small meshes only)."""
        bots = np.arange(self.size)
        return self.distance(bots[:, None], bots[None, :])


@dataclass(frozen=True)
class Tiling:
    """A mesh whose every bot owns a ``tile`` x ``tile`` square of one shared torus of cells."""

    mesh: Mesh
    tile: int

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) of the torus in cells."""
        return self.mesh.rows * self.tile, self.mesh.cols * self.tile

    def origin(self, bot: int) -> tuple[int, int]:
        """(top, left) cell of a bot's tile."""
        row, col = self.mesh.position(bot)
        return row * self.tile, col * self.tile

    def slices(self, bot: int) -> tuple[slice, slice]:
        """Index a cell array with this to get a bot's tile."""
        top, left = self.origin(bot)
        return slice(top, top + self.tile), slice(left, left + self.tile)

    def centre(self, bot: int) -> tuple[float, float]:
        """(y, x) of a bot's tile centre."""
        top, left = self.origin(bot)
        return top + self.tile / 2, left + self.tile / 2

    def bot_of(self, point: tuple[float, float]) -> int:
        """Return the bot whose tile holds a (y, x) position (wrapped)."""
        return self.mesh.bot_at(int(point[0] // self.tile), int(point[1] // self.tile))

    def direction(self, a: int, b: int) -> tuple[int, int]:
        """Return the unit step (dy, dx) from bot a toward bot b, the short way round the torus."""
        mesh = self.mesh
        (ra, ca), (rb, cb) = mesh.position(a), mesh.position(b)
        dr = (rb - ra + mesh.rows // 2) % mesh.rows - mesh.rows // 2
        dc = (cb - ca + mesh.cols // 2) % mesh.cols - mesh.cols // 2
        return (dr > 0) - (dr < 0), (dc > 0) - (dc < 0)

    def mask(self, bots: list[int] | tuple[int, ...]) -> NDArray[np.bool_]:
        """Cells that belong to ``bots``' tiles."""
        mask = np.zeros(self.shape, bool)
        for bot in bots:
            mask[self.slices(bot)] = True
        return mask
