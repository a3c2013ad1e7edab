"""The mesh: R x C bots on a grid (a torus by default), 4- or 8-neighbourhood."""

from __future__ import annotations

from collections import deque
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

    @cached_property
    def hops(self) -> NDArray[np.int64]:
        """Shortest hop counts between every pair of bots (breadth-first search)."""
        table = np.full((self.size, self.size), -1, np.int64)
        for start in range(self.size):
            table[start, start] = 0
            queue = deque([start])
            while queue:
                bot = queue.popleft()
                for other in self.neighbours[bot]:
                    if table[start, other] < 0:
                        table[start, other] = table[start, bot] + 1
                        queue.append(other)
        return table
