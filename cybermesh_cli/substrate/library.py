"""The object library: every phase and orientation of the periodic patterns in a folder.

Each RLE file is simulated until its shape recurs (its period and displacement); patterns that
never recur in isolation (guns, methuselahs) are not objects and are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from cybermesh_cli.paths import EXPERIMENTS_DIR
from cybermesh_cli.substrate.grid import Grid
from cybermesh_cli.substrate.rle import read_rle
from cybermesh_cli.substrate.shapes import (
    Cells,
    apgcode,
    linking_radius,
    orientation_matrices,
    orientations,
    shape_key,
    trim,
)

PATTERNS_DIR = EXPERIMENTS_DIR / "patterns"
MAX_PERIOD = 60
_COMPASS = {(-1, 0): "N", (-1, 1): "NE", (0, 1): "E", (1, 1): "SE", (1, 0): "S",
            (1, -1): "SW", (0, -1): "W", (-1, -1): "NW"}


@dataclass(frozen=True)
class ObjectForm:
    """One phase of one object in one orientation, as the detector sees it."""

    name: str
    apgcode: str
    kind: str  # still, oscillator or spaceship
    period: int
    phase: int
    orientation: int
    velocity: tuple[float, float]  # cells per generation, (dy, dx), y down
    cells: Cells

    @property
    def heading(self) -> str | None:
        """Compass heading of a spaceship (N is up), None for a stationary object."""
        dy, dx = self.velocity
        if dy == 0 and dx == 0:
            return None
        return _COMPASS[(int(np.sign(dy)), int(np.sign(dx)))]


@dataclass(frozen=True)
class Library:
    """Every known form, looked up by the exact shape of a trimmed cluster."""

    forms: dict[bytes, ObjectForm]
    objects: dict[str, list[ObjectForm]]  # name -> its forms, phase-major
    linking_radius: int  # the largest gap inside any form (pentadecathlon phases: 7)
    max_population: int  # live cells of the largest form

    def lookup(self, cells: Cells) -> ObjectForm | None:
        """Return the form with exactly this (trimmed) shape, if any."""
        return self.forms.get(shape_key(cells))


def _evolve(cells: Cells) -> tuple[list[Cells], list[tuple[int, int]], int, tuple[int, int]]:
    """Phases, their offsets, the period and the displacement per period (or period 0)."""
    height, width = cells.shape
    margin = 2 * MAX_PERIOD
    grid = Grid(np.pad(cells, margin), torus=False)
    phases: list[Cells] = []
    offsets: list[tuple[int, int]] = []
    for _ in range(MAX_PERIOD + 1):
        now = grid.cells
        rows, cols = np.flatnonzero(now.any(axis=1)), np.flatnonzero(now.any(axis=0))
        if rows.size == 0:
            return [], [], 0, (0, 0)
        shape, origin = trim(now), (int(rows[0]), int(cols[0]))
        if phases and shape.shape == phases[0].shape and np.array_equal(shape, phases[0]):
            move = (origin[0] - offsets[0][0], origin[1] - offsets[0][1])
            return phases, offsets, len(phases), move
        phases.append(shape)
        offsets.append(origin)
        grid.step(1)
    return [], [], 0, (0, 0)


def build_library(folder: Path = PATTERNS_DIR) -> Library:
    """Build the library from every ``*.rle`` file in ``folder``."""
    forms: dict[bytes, ObjectForm] = {}
    objects: dict[str, list[ObjectForm]] = {}
    mats = orientation_matrices()
    for path in sorted(folder.glob("*.rle")):
        phases, _, period, move = _evolve(trim(read_rle(path).cells))
        if not period:
            continue
        code = apgcode(phases, period, move != (0, 0))
        kind = "spaceship" if move != (0, 0) else ("still" if period == 1 else "oscillator")
        name = path.stem
        objects[name] = []
        for phase, cells in enumerate(phases):
            for index, image in enumerate(orientations(cells)):
                dy, dx = mats[index] @ np.array(move)
                form = ObjectForm(name, code, kind, period, phase, index,
                                  (float(dy) / period, float(dx) / period), image)
                objects[name].append(form)
                forms.setdefault(shape_key(image), form)
    radius = max((linking_radius(f.cells) for f in forms.values()), default=1)
    population = max((int(f.cells.sum()) for f in forms.values()), default=0)
    return Library(forms=forms, objects=objects, linking_radius=radius,
                   max_population=population)


@cache
def default_library() -> Library:
    """Return the library of experiments/patterns, built once per process."""
    return build_library()
