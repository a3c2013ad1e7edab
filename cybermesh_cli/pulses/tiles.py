"""Pulses on tiles: the neural CA under an adapter replaces the base rule on some bots' tiles.

Each pulsed tile is stepped with a one-cell halo of its real neighbours, so its edges see the
world around them and the work grows with the pulsed tiles, not with the torus.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cybermesh_cli.pulses.adapters import PulseEngine
from cybermesh_cli.substrate.detect import window
from cybermesh_cli.topology import Tiling


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


def pulse_tiles(before: NDArray[np.uint8], after: NDArray[np.uint8], engine: PulseEngine,
                tiling: Tiling, adapter: str, bots: Sequence[int]) -> None:
    """Overwrite ``bots``' tiles of ``after`` (stepped from ``before``) with the adapted CA's."""
    if not bots:
        return
    tile = tiling.tile
    haloed = np.stack([window(before, top - 1, left - 1, tile + 2, tile + 2)
                       for top, left in map(tiling.origin, bots)])
    stepped = engine.apply(haloed, adapter)[:, 1:-1, 1:-1]
    for bot, cells in zip(bots, stepped, strict=True):
        after[tiling.slices(bot)] = cells
