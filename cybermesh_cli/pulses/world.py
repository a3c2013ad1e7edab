"""The substrate under pulses: one tile per bot; a pulse runs an adapter on its tiles for a while.

The whole world steps with the Numba kernel; on tiles being pulsed, the cells come instead from
the neural CA under the pulse's adapter (run on the whole torus, so tile edges see their real
neighbours). When a pulse ends, its tiles are back on the base rule the next tick.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cybermesh_cli.pulses.adapters import PulseEngine
from cybermesh_cli.shards.mesh import Mesh
from cybermesh_cli.substrate.grid import Grid


@dataclass(frozen=True)
class Pulse:
    """Adapter ``adapter`` on ``bot``'s tile for ticks ``start`` (inclusive) to ``end``."""

    bot: int
    adapter: str
    start: int
    end: int

    def active(self, tick: int) -> bool:
        """Whether the pulse shapes the step that produces ``tick``."""
        return self.start <= tick < self.end


class PulsedWorld:
    """A torus of ``mesh.rows * tile`` x ``mesh.cols * tile`` cells."""

    def __init__(self, cells: NDArray[np.uint8], mesh: Mesh, tile: int,
                 engine: PulseEngine) -> None:
        """Start from ``cells``; the base rule is the engine's CA's rule."""
        self.mesh = mesh
        self.tile = tile
        self.engine = engine
        self.grid = Grid(cells, engine.base.rule, torus=True)

    def tile_mask(self, bots: Sequence[int]) -> NDArray[np.bool_]:
        """Cells that belong to ``bots``' tiles."""
        mask = np.zeros((self.grid.height, self.grid.width), bool)
        for bot in bots:
            row, col = self.mesh.position(bot)
            mask[row * self.tile:(row + 1) * self.tile, col * self.tile:(col + 1) * self.tile] = 1
        return mask

    def step(self, pulses: Mapping[str, Sequence[int]]) -> None:
        """One generation; ``pulses`` maps an adapter to the bots whose tiles it runs on."""
        before = self.grid.cells
        self.grid.step(1)
        if not any(pulses.values()):
            return
        after = self.grid.cells
        for adapter, bots in pulses.items():
            if bots:
                mask = self.tile_mask(bots)
                after[mask] = self.engine.apply(before[None], adapter)[0][mask]
        self.grid.cells = after
