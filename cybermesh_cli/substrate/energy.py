"""The energy field: one float per cell; live cells deposit, every cell decays.

Each tick ``E <- decay * E + deposit * alive``, then optional diffusion (each cell moves a
fraction of its difference from the mean of its four neighbours). ``decay = 0.5 ** (1 /
half_life)``, so without deposits the field halves every ``half_life`` ticks.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numpy.typing import NDArray

Field = NDArray[np.float32]


def decay_factor(half_life: float) -> float:
    """Per-tick decay that halves the field every ``half_life`` ticks."""
    return float(0.5 ** (1.0 / half_life))


@nb.njit(cache=True)
def _update(energy: Field, cells: NDArray[np.uint8], decay: np.float32,
            deposit: np.float32, diffusion: np.float32, torus: bool, scratch: Field) -> None:
    height, width = energy.shape
    for y in range(height):
        for x in range(width):
            energy[y, x] = decay * energy[y, x] + deposit * cells[y, x]
    if diffusion == 0:
        return
    for y in range(height):
        for x in range(width):
            total = np.float32(0.0)
            for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                ny, nx = y + dy, x + dx
                if torus:
                    total += energy[ny % height, nx % width]
                elif 0 <= ny < height and 0 <= nx < width:
                    total += energy[ny, nx]
            scratch[y, x] = energy[y, x] + diffusion * (total / 4 - energy[y, x])
    energy[:, :] = scratch


class EnergyField:
    """The decaying energy field over a grid of the same shape."""

    def __init__(self, shape: tuple[int, int], half_life: float, deposit: float = 1.0,
                 diffusion: float = 0.0, torus: bool = True) -> None:
        """Start at zero; ``diffusion`` in [0, 1) is the fraction exchanged per tick."""
        self.values: Field = np.zeros(shape, np.float32)
        self.half_life = half_life
        self.decay = np.float32(decay_factor(half_life))
        self.deposit = np.float32(deposit)
        self.diffusion = np.float32(diffusion)
        self.torus = torus
        self._scratch: Field = np.zeros(shape, np.float32)

    def update(self, cells: NDArray[np.uint8]) -> None:
        """One tick: decay, deposit where ``cells`` is alive, diffuse."""
        _update(self.values, cells, self.decay, self.deposit, self.diffusion, self.torus,
                self._scratch)

    @property
    def total(self) -> float:
        """Sum of the field."""
        return float(self.values.sum(dtype=np.float64))
