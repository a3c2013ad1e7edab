"""Perturbation of the substrate: independent per-cell, per-tick noise."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

NOISE_MODES = ("flip", "dust")  # flip: any cell toggles; dust: dead cells turn alive


@dataclass(frozen=True)
class Noise:
    """Independent per-cell, per-tick noise at ``rate``."""

    mode: str
    rate: float

    def mask(self, rng: np.random.Generator, shape: tuple[int, ...]) -> NDArray[np.bool_]:
        """Which cells the noise hits this tick."""
        hits: NDArray[np.bool_] = rng.random(shape) < self.rate
        return hits

    def apply(self, cells: NDArray[np.uint8], hits: NDArray[np.bool_]) -> NDArray[np.uint8]:
        """Perturbed copy of ``cells``."""
        if self.mode == "flip":
            return cells ^ hits.astype(np.uint8)
        return cells | hits.astype(np.uint8)
