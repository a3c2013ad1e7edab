"""The shard layer's compiled passes against their Python references, on busy random tori."""

import numpy as np
import pytest

from cybermesh_cli.shards import kernels
from cybermesh_cli.shards.carriers import (Tracker, carrier_form, carrier_successors, flight,
                                           lane_clear, place)
from cybermesh_cli.shards.routing import RoutingTables, best_known_among
from cybermesh_cli.substrate.detect import window
from cybermesh_cli.substrate.grid import Grid
from cybermesh_cli.substrate.rules import CONWAY
from cybermesh_cli.topology import Mesh

DIRECTIONS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]


def _soup(rng: np.random.Generator, shape: tuple[int, int], density: float) -> Grid:
    """Return a torus with soup patches that have run a while: debris, blinkers, gliders."""
    cells = np.zeros(shape, np.uint8)
    for _ in range(shape[0] * shape[1] // 600):
        y, x = (int(v) for v in rng.integers(0, shape, 2))
        rows = np.arange(y, y + 10) % shape[0]
        cols = np.arange(x, x + 10) % shape[1]
        cells[np.ix_(rows, cols)] = rng.random((10, 10)) < density
    grid = Grid(cells)
    grid.step(int(rng.integers(5, 60)))
    return grid


def _twin_trackers(rng: np.random.Generator, shape: tuple[int, int]
                   ) -> tuple[Grid, Tracker, Tracker]:
    """Return a soup torus with up to 40 carriers launched, and two trackers of the same ones."""
    grid = _soup(rng, shape, 0.3)
    first, second = Tracker(shape, CONWAY), Tracker(shape, CONWAY)
    for _ in range(40):
        form = carrier_form(DIRECTIONS[int(rng.integers(0, 8))])
        top, left = (int(v) for v in rng.integers(0, shape, 2))
        if first.launch(grid, form, top, left, 0) is not None:
            second.add(form, top, left, 0)
    return grid, first, second


@pytest.mark.parametrize("shape", [(80, 80), (96, 130), (40, 64)])
def test_compiled_tracking_equals_the_reference_tick_by_tick(shape):
    """Carriers flying through debris: every column and every loss the same, 120 ticks."""
    rng = np.random.default_rng(11)
    for trial in range(4):
        grid, compiled, reference = _twin_trackers(rng, shape)
        assert len(compiled.rows) > 5, trial
        for tick in range(120):
            grid.step(1)
            lost = [c.id for c in compiled.update(grid)]
            assert lost == [c.id for c in reference.update(grid, compiled=False)], (trial, tick)
            n = len(compiled.rows)
            for name in ("centroid", "alive", "unseen", "age", "bbox"):
                assert np.array_equal(getattr(compiled.data, name)[:n],
                                      getattr(reference.data, name)[:n]), (trial, tick, name)
        assert not compiled.data.alive[:len(compiled.rows)].all(), "no carrier was ever lost"


def test_the_successor_fast_path_answers_as_the_full_search():
    """The tracker's fast path answers as clustering the whole window, tick by tick.

    A carrier seen last tick is first looked for as its shape one generation on; columns and
    losses must be those of a tracker that always takes the long way.
    """
    rng = np.random.default_rng(14)
    table = carrier_successors(CONWAY)
    assert (table.index >= 0).all()  # every glider and LWSS phase steps to another one
    for trial in range(3):
        grid, fast, full = _twin_trackers(rng, (90, 110))
        remembered = 0
        for tick in range(100):
            grid.step(1)
            remembered += int(np.count_nonzero(fast.data.shape[:len(fast.rows)] >= 0))
            full.data.shape[:] = -1  # no shape remembered: every carrier takes the long way
            lost = [c.id for c in fast.update(grid)]
            assert lost == [c.id for c in full.update(grid)], (trial, tick)
            for name in ("centroid", "alive", "unseen", "age", "bbox"):
                assert np.array_equal(getattr(fast.data, name), getattr(full.data, name)), \
                    (trial, tick, name)
        assert remembered > 300, trial  # the fast path had carriers to answer for


def test_compiled_lanes_and_placement_equal_the_reference():
    rng = np.random.default_rng(12)
    blocked = placed = 0
    for trial in range(300):
        shape = (int(rng.integers(40, 120)), int(rng.integers(40, 200)))
        grid = _soup(rng, shape, float(rng.uniform(0.05, 0.4)))
        step = DIRECTIONS[trial % 8]
        form = carrier_form(step)
        ride = flight(form, CONWAY)
        top, left = (int(v) for v in rng.integers(-20, 220, 2))
        distance = int(rng.integers(4, 33))
        cells = grid.cells
        clear = lane_clear(cells, form, ride, top, left, distance)
        runs = ride.lane(distance)
        assert kernels.lane_clear(grid.words, grid.height, grid.width, top, left,
                                  runs) == clear, trial
        first = kernels.lane_blocker(grid.words, grid.height, grid.width, top, left, runs,
                                     kernels.EMPTY)
        for hint in range(len(runs)):  # a remembered run, right or stale, gives the same answer
            blocker = kernels.lane_blocker(grid.words, grid.height, grid.width, top, left,
                                           runs, hint)
            assert (blocker == kernels.EMPTY) == clear, (trial, hint)
            assert blocker in (hint, first), (trial, hint)
        blocked += not clear
        expected = cells.copy()
        fits = place(expected, form, top, left)
        assert kernels.place(grid.words, grid.height, grid.width, form.cells, top, left) == fits
        assert np.array_equal(grid.cells, expected), trial
        placed += fits
    assert 50 < blocked < 250 and 50 < placed < 250  # both answers were exercised


def test_packed_windows_and_erasing_equal_the_unpacked_torus():
    rng = np.random.default_rng(13)
    for trial in range(200):
        shape = (int(rng.integers(8, 90)), int(rng.integers(8, 200)))
        grid = Grid((rng.random(shape) < 0.5).astype(np.uint8))
        top, left = (int(v) for v in rng.integers(-300, 300, 2))
        rows, cols = int(rng.integers(1, 20)), int(rng.integers(1, 65))
        cells = grid.cells
        expected = window(cells, top, left, rows, cols) if rows <= shape[0] and cols <= shape[1] \
            else cells[np.ix_(np.arange(top, top + rows) % shape[0],
                              np.arange(left, left + cols) % shape[1])]
        assert np.array_equal(kernels.window(grid.words, *shape, top, left, rows, cols),
                              expected), trial
        kernels.erase(grid.words, *shape, top, left, min(rows, shape[0]), min(cols, shape[1]))
        cells[np.ix_(np.arange(top, top + min(rows, shape[0])) % shape[0],
                     np.arange(left, left + min(cols, shape[1])) % shape[1])] = 0
        assert np.array_equal(grid.cells, cells), trial


@pytest.mark.parametrize("neighbourhood,torus", [(8, True), (4, True), (8, False), (4, False)])
def test_scalar_hop_distance_equals_the_vectorised_one(neighbourhood, torus):
    mesh = Mesh(7, 9, neighbourhood=neighbourhood, torus=torus)
    bots = np.arange(mesh.size)
    expected = mesh.distance(bots[:, None], bots[None, :])
    assert [[mesh.hops_between(a, b) for b in range(mesh.size)] for a in range(mesh.size)] == \
        expected.tolist()


def test_best_known_key_breaks_ties_by_hops_then_bot_number():
    """The compiled choice against a lexsort of (similarity, hops, bot), ties included."""
    rng = np.random.default_rng(14)
    mesh = Mesh(9, 9, neighbourhood=8)
    keys = rng.standard_normal((mesh.size, 8)).astype(np.float32)
    tables = RoutingTables(mesh, keys, 3)
    ties = 0
    for _ in range(300):
        similarity = rng.integers(0, 4, mesh.size).astype(np.float32)  # many exact ties
        for bot in rng.integers(0, mesh.size, 5).tolist():
            targets, hops = tables.known(bot)
            order = np.lexsort((targets, hops, -similarity[targets]))
            ties += int(np.sum(similarity[targets] == similarity[targets].max())) > 1
            assert best_known_among(tables, similarity, bot) == targets[order[0]]
    assert ties > 100
