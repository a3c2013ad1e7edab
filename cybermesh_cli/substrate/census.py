"""A soup census as Catagolue takes one: random 16x16 soups run to stabilisation on the plane.

Each soup (density 1/2) sits at the centre of a torus wide enough that nothing it emits wraps
around before it settles, which stands in for the infinite plane. It runs until its population
repeats (period up to 30 over 60 generations) or ``max_gens`` pass. Every cluster left is split
into independent objects by the detector (`detect.py`, `separate.py`: clusters that repeat only
together are joined first) and tallied by apgcode.

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
from cybermesh_cli.substrate.detect import detect
from cybermesh_cli.substrate.grid import Grid
from cybermesh_cli.substrate.rules import CONWAY, Rule

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


def haul(census: Census, rule: Rule, root: str, version: str) -> str:
    """Write the census as apgsearch's haul text: a header, then each apgcode and its count.

    Catagolue reads a haul as ``@RULE``, ``@SYMMETRY`` (C1: 16x16 soups at density 1/2, as
    here), ``@NUM_SOUPS``, ``@NUM_OBJECTS`` and the ``@CENSUS TABLE``, most common first.
    Objects this tool could not name are left out of the table (``@NUM_OBJECTS`` counts what
    the table holds); the soups are this tool's own, so no sample soup ids are given.
    """
    table = sorted(((code, n) for code, n in census.counts.items() if code != "unknown"),
                   key=lambda item: (-item[1], item[0]))
    rule_name = rule.name.lower().replace("/", "")
    return "\n".join([f"@VERSION cybermesh-{version}", f"@ROOT {root}", f"@RULE {rule_name}",
                      "@SYMMETRY C1", f"@NUM_SOUPS {census.soups}",
                      f"@NUM_OBJECTS {sum(n for _, n in table)}", "", "@CENSUS TABLE",
                      *(f"{code} {n}" for code, n in table), ""])


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
    for found in detect(grid.cells, torus=True, separate_unknown=True, rule=rule):
        census.counts[found.apgcode] += 1  # the detector's separation: one answer a phase


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
