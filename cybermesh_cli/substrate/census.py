"""A soup census as Catagolue takes one: random 16x16 soups run to stabilisation on the plane.

Each soup (density 1/2) sits at the centre of a torus wide enough that nothing it emits wraps
around before it settles, which stands in for the infinite plane. It runs until its population
repeats (period up to 30 over 60 generations) or ``max_gens`` pass. Every cluster left is split
into independent objects (`separate.py`) and tallied by apgcode.

Reference frequencies relative to the block: Catagolue, Adam P. Goucher's census of B3/S23 16x16
soups (symmetry C1), https://catagolue.hatsya.com/census/b3s23/C1, as tabulated in this
project's reference notes (shared/reference/soup-census.md); ship, tub and pond from TOLLCASS
(N. Johnston, LifeWiki "The Online Life-Like CA Soup Search"), 20x20 soups.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from cybermesh_cli.seeds import Seeds
from cybermesh_cli.substrate.detect import _split
from cybermesh_cli.substrate.grid import Grid
from cybermesh_cli.substrate.rules import CONWAY, Rule
from cybermesh_cli.substrate.separate import separate

SOUP = 16
DENSITY = 0.5
SIDE = 1536  # torus side: a glider (c/4) needs 3000 generations to cross half of it
CHUNK = 250
WINDOW = 60  # generations whose populations must repeat
MAX_SETTLE_PERIOD = 30

REFERENCE = {  # counts relative to the block
    "xs4_33": 1.0, "xp2_7": 0.93, "xs6_696": 0.53, "xq4_153": 0.29, "xs7_2596": 0.16,
    "xs5_253": 0.14, "xs6_356": 0.098, "xs4_252": 0.032,
}
NAMES = {"xs4_33": "block", "xp2_7": "blinker", "xs6_696": "beehive", "xq4_153": "glider",
         "xs7_2596": "loaf", "xs5_253": "boat", "xs6_356": "ship", "xs4_252": "tub"}


@dataclass
class Census:
    """Tallies over many soups."""

    soups: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    unsettled: int = 0  # soups still changing at max_gens
    generations: int = 0
    seconds: float = 0.0

    @property
    def objects(self) -> int:
        """Objects tallied, unknowns included."""
        return sum(self.counts.values())

    def relative(self, code: str) -> float:
        """Count of ``code`` relative to the block's."""
        return self.counts[code] / max(self.counts["xs4_33"], 1)

    def comparison(self) -> list[dict[str, object]]:
        """Each reference object: our frequency, Catagolue's, and the relative difference."""
        rows = []
        for code, expected in REFERENCE.items():
            ours = self.relative(code)
            rows.append({"apgcode": code, "name": NAMES[code], "count": self.counts[code],
                         "relative": round(ours, 4), "reference": expected,
                         "difference": round(ours / expected - 1, 4)})
        return rows


def settle(grid: Grid, max_gens: int) -> tuple[int, bool]:
    """Run until the population repeats; return the generations run and whether it settled."""
    gens = 0
    while gens < max_gens:
        grid.step(CHUNK)
        gens += CHUNK
        history = []
        for _ in range(WINDOW):
            grid.step(1)
            history.append(grid.population)
        gens += WINDOW
        if any(history[p:] == history[:-p] for p in range(1, MAX_SETTLE_PERIOD + 1)):
            return gens, True
    return gens, False


def census_soup(soup: np.ndarray, rule: Rule, max_gens: int, census: Census) -> None:
    """Run one soup to stabilisation and tally what it leaves."""
    world = np.zeros((SIDE, SIDE), np.uint8)
    start = (SIDE - SOUP) // 2
    world[start:start + SOUP, start:start + SOUP] = soup
    grid = Grid(world, rule, torus=True)
    gens, settled = settle(grid, max_gens)
    census.generations += gens
    census.unsettled += not settled
    for ys, xs in _split(grid.cells, True, 2):
        box = np.zeros((int(ys.max() - ys.min()) + 1, int(xs.max() - xs.min()) + 1), np.uint8)
        box[ys - ys.min(), xs - xs.min()] = 1
        for part in separate(box, rule):
            census.counts[part.apgcode] += 1


def soup_census(soups: int, seed: int, rule: Rule = CONWAY, max_gens: int = 20000,
                progress: Callable[[int], None] | None = None) -> Census:
    """Census ``soups`` random 16x16 soups (density 1/2) drawn from ``seed``'s ``soups`` child."""
    census = Census()
    rng = Seeds.of(seed).child("soups").rng()
    began = time.perf_counter()
    for index in range(soups):
        soup = (rng.random((SOUP, SOUP)) < DENSITY).astype(np.uint8)
        census_soup(soup, rule, max_gens, census)
        census.soups += 1
        if progress is not None:
            progress(index + 1)
    census.seconds = time.perf_counter() - began
    return census
