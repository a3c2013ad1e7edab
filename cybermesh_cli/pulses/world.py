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
        return tile_mask(self.mesh, self.tile, bots)

    def step(self, pulses: Mapping[str, Sequence[int]]) -> None:
        """One generation; ``pulses`` maps an adapter to the bots whose tiles it runs on."""
        before = self.grid.cells
        self.grid.step(1)
        apply_pulses(before, self.grid, self.engine, self.mesh, self.tile, pulses)


def tile_mask(mesh: Mesh, tile: int, bots: Sequence[int]) -> NDArray[np.bool_]:
    """Cells of a ``mesh.rows * tile`` x ``mesh.cols * tile`` world on ``bots``' tiles."""
    mask = np.zeros((mesh.rows * tile, mesh.cols * tile), bool)
    for bot in bots:
        row, col = mesh.position(bot)
        mask[row * tile:(row + 1) * tile, col * tile:(col + 1) * tile] = True
    return mask


def apply_pulses(before: NDArray[np.uint8], grid: Grid, engine: PulseEngine, mesh: Mesh,
                 tile: int, pulses: Mapping[str, Sequence[int]]) -> None:
    """Overwrite pulsed tiles of ``grid``, just stepped from ``before``, with the adapted CA's."""
    if not any(pulses.values()):
        return
    after = grid.cells
    for adapter, bots in pulses.items():
        if bots:
            mask = tile_mask(mesh, tile, bots)
            after[mask] = engine.apply(before[None], adapter)[0][mask]
    grid.cells = after
