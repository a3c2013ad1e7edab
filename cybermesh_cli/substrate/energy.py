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


class Trails:
    """Delivery trails: a field of one energy cell a bot, halving every ``half_life`` ticks.

    The decay is lazy: values are kept divided by the decay since a reference tick, so a tick
    costs nothing and every bot's value carries the same factor; comparing them needs no
    arithmetic at all. ``E <- decay * E`` each tick, as the tier-1 field does, exactly up to
    rounding.
    """

    RENORMALISE = 1e100  # fold the common factor back in before it overflows

    def __init__(self, cells: int, half_life: float, gradient: float) -> None:
        """Start with no trails on ``cells`` cells (one a bot)."""
        self.gradient = gradient
        self.decay = decay_factor(half_life)
        self.scaled = np.zeros(cells)  # energy / decay ** (now - base)
        self._elapsed = 0  # ticks since the reference tick

    @property
    def energy(self) -> NDArray[np.float64]:
        """Each bot's energy now (a copy)."""
        values: NDArray[np.float64] = self.scaled * self.decay ** self._elapsed
        return values

    def set_energy(self, values: NDArray[np.float64]) -> None:
        """Replace every bot's energy."""
        self.scaled = np.asarray(values, np.float64).copy()
        self._elapsed = 0

    def tick(self) -> None:
        """Decay one tick."""
        self._elapsed += 1
        if self.decay ** -self._elapsed > self.RENORMALISE:
            self.set_energy(self.energy)

    def deposit(self, path: list[int]) -> None:
        """Lay a trail that rises toward the path's last bot (the destination)."""
        amount = self.decay ** -self._elapsed
        for bot in reversed(path):
            self.scaled[bot] += amount
            amount *= self.gradient
