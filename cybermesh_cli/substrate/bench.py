"""Substrate benchmark: cell updates per second of the kernels against a numpy baseline.

The baseline is the sum of eight ``np.roll``s on uint8, timed in the same run. Every figure is
the median of several repeats.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cybermesh_cli.seeds import Seeds
from cybermesh_cli.substrate.grid import Grid
from cybermesh_cli.substrate.rules import Rule, parse_rule


def numpy_roll_step(cells: NDArray[np.uint8], rule: Rule) -> NDArray[np.uint8]:
    """One generation on a torus, the textbook numpy way: eight rolls, then the rule's tests.

    For B3/S23 this is ``(count == 3) | (alive & (count == 2))`` in effect.
    """
    count = np.zeros_like(cells)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                count += np.roll(np.roll(cells, dy, 0), dx, 1)
    alive = cells == 1
    born = np.zeros_like(alive)
    kept = np.zeros_like(alive)
    for n in range(9):
        if rule.birth >> n & 1:
            born |= count == n
        if rule.survive >> n & 1:
            kept |= count == n
    stepped: NDArray[np.uint8] = ((born & ~alive) | (kept & alive)).astype(np.uint8)
    return stepped


@dataclass(frozen=True)
class BenchRow:
    """One measured configuration."""

    implementation: str
    rule: str
    size: int
    threads: int
    gens_per_call: int
    cell_updates_per_s: float
    us_per_gen: float
    ratio_to_numpy: float


def _median_seconds(call: Callable[[], object], repeats: int) -> float:
    call()  # warm up (and compile)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _gens_for(cells: int, rate: float, seconds: float) -> int:
    return max(1, int(seconds * rate / cells))


def _numpy_row(soup: NDArray[np.uint8], rule: Rule, repeats: int, seconds: float) -> BenchRow:
    cells = soup.size
    gens = _gens_for(cells, 1e9, seconds)
    state = {"cells": soup}

    def call() -> None:
        for _ in range(gens):
            state["cells"] = numpy_roll_step(state["cells"], rule)

    rate = gens * cells / _median_seconds(call, repeats)
    return BenchRow("numpy", rule.name, soup.shape[0], 1, gens, rate, 1e6 * cells / rate, 1.0)


def _kernel_rows(soup: NDArray[np.uint8], rule: Rule, threads: int, base: float,
                 repeats: int, seconds: float) -> list[BenchRow]:
    rows: list[BenchRow] = []
    cells, size = soup.size, soup.shape[0]
    grid = Grid(soup, rule, threads=threads)
    if grid.threads != threads:
        return rows
    gens = _gens_for(cells, 5e10 * threads, seconds)
    rate = gens * cells / _median_seconds(lambda: grid.step(gens), repeats)
    rows.append(BenchRow("numba", rule.name, size, threads, gens, rate, 1e6 * cells / rate,
                         rate / base))
    if size <= 128 and threads == 1:  # per-call overhead: one generation a call
        calls = 2000

        def single() -> None:
            for _ in range(calls):
                grid.step(1)

        per_call = _median_seconds(single, repeats) / calls
        rows.append(BenchRow("numba 1/call", rule.name, size, 1, 1, cells / per_call,
                             1e6 * per_call, cells / per_call / base))
    return rows


def bench_substrate(
    sizes: Iterable[int] = (80, 1024, 4096),
    rules: Iterable[str] = ("B3/S23",),
    repeats: int = 5,
    seconds: float = 0.2,
    threads: int = 2,
    seed: int = 0,
) -> list[BenchRow]:
    """Time numpy, the serial kernel and the threaded kernel on random soups."""
    rows: list[BenchRow] = []
    rng = Seeds.of(seed).child("soups").rng()
    for rule_text in rules:
        rule = parse_rule(rule_text)
        for size in sizes:
            soup = (rng.random((size, size)) < 0.35).astype(np.uint8)
            baseline = _numpy_row(soup, rule, repeats, seconds)
            rows.append(baseline)
            for n in sorted({1, threads}):
                rows += _kernel_rows(soup, rule, n, baseline.cell_updates_per_s, repeats,
                                     seconds)
    return rows


def rows_to_json(rows: list[BenchRow]) -> list[dict[str, Any]]:
    """Rows as JSON objects."""
    return [asdict(r) for r in rows]
