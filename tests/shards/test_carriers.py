"""Carriers: the right spaceship per direction, tracking, coasting, loss, absorption."""

import numpy as np
import pytest

from cybermesh_cli.errors import InputError
from cybermesh_cli.shards.carriers import COAST, Tracker, carrier_form, flight, torus_distance
from cybermesh_cli.substrate.detect import detect, detect_window
from cybermesh_cli.substrate.grid import Grid
from cybermesh_cli.substrate.rules import CONWAY, parse_rule

DIRECTIONS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_each_direction_gets_a_spaceship_that_moves_that_way(direction):
    form = carrier_form(direction)
    assert form.name == ("glider" if all(direction) else "lwss")
    assert (int(np.sign(form.velocity[0])), int(np.sign(form.velocity[1]))) == direction


def _world_with(direction, top=36, left=36):
    grid = Grid(np.zeros((80, 80), np.uint8))
    tracker = Tracker((80, 80), CONWAY)
    carrier = tracker.launch(grid, carrier_form(direction), top, left, 0)
    return grid, tracker, carrier


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_tracker_follows_a_free_carrier_exactly(direction):
    grid, tracker, carrier = _world_with(direction)
    start = carrier.true_centroid()
    for _ in range(40):
        grid.step(1)
        assert tracker.update(grid) == []
        assert carrier.intact(grid)
        assert torus_distance(carrier.centroid, carrier.true_centroid(), (80, 80)) < 1e-9
    speed = 0.25 if all(direction) else 0.5
    moved = torus_distance(carrier.centroid, start, (80, 80))
    assert moved == pytest.approx(40 * speed * np.hypot(*direction), abs=1.0)


def test_a_carrier_that_hits_a_block_is_lost_after_coasting():
    grid, tracker, carrier = _world_with((0, 1), top=38, left=20)
    cells = grid.cells
    cells[38:40, 40:42] = 1  # a block in the lightweight spaceship's path
    grid.cells = cells
    lost_at = None
    for tick in range(80):
        grid.step(1)
        if tracker.update(grid):
            lost_at = tick
            break
    assert lost_at is not None and not carrier.alive
    assert not carrier.intact(grid)
    assert carrier.unseen == COAST + 1


def test_launch_refuses_a_busy_spot_and_absorb_erases():
    grid, tracker, carrier = _world_with((1, 1))
    assert tracker.launch(grid, carrier_form((1, 1)), 37, 37, 0) is None
    grid.step(4)
    tracker.update(grid)
    tracker.absorb(grid, carrier)
    assert grid.population == 0 and not carrier.alive


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_the_ghost_is_the_spaceship_alone_on_an_empty_torus(direction):
    form = carrier_form(direction)
    ghost = Grid(np.zeros((24, 20), np.uint8))
    cells = ghost.cells
    cells[21:21 + form.cells.shape[0], 17:17 + form.cells.shape[1]] = 0
    top, left = 21, 17  # close to the corner: the ghost wraps
    rows = np.arange(top, top + form.cells.shape[0]) % 24
    cols = np.arange(left, left + form.cells.shape[1]) % 20
    cells[np.ix_(rows, cols)] = form.cells
    ghost.cells = cells
    tracker = Tracker((24, 20), CONWAY)
    carrier = tracker.launch(Grid(np.zeros((24, 20), np.uint8)), form, top, left, 0)
    for age in range(1, 50):
        ghost.step(1)
        carrier.age = age
        assert carrier.intact(ghost), age
        drawn = np.zeros((24, 20), np.uint8)
        shape, y, x = carrier.ghost()
        drawn[np.ix_(np.arange(y, y + shape.shape[0]) % 24,
                     np.arange(x, x + shape.shape[1]) % 20)] = shape
        assert np.array_equal(drawn, ghost.cells), age


def test_a_rule_under_which_the_carrier_is_no_spaceship_is_refused():
    with pytest.raises(InputError, match="not a spaceship"):
        flight(carrier_form((1, 0)), parse_rule("B3/S"))


def test_window_detection_finds_exactly_what_full_detection_finds_inside_it():
    rng = np.random.default_rng(5)
    for trial in range(60):
        cells = (rng.random((64, 64)) < 0.3).astype(np.uint8)
        grid = Grid(cells)
        grid.step(int(rng.integers(20, 200)))
        cells = grid.cells
        top, left = (int(v) for v in rng.integers(-20, 70, 2))
        size = 33
        populations = frozenset(range(1, 40))
        found = {(d.apgcode, d.bbox, tuple(np.round(d.centroid, 9))) for d in
                 detect_window(cells, top, left, size, populations)}
        inside = set()
        for d in detect(cells):
            rows = {(d.bbox[0] + i - top) % 64 for i in range(d.bbox[2])}
            cols = {(d.bbox[1] + j - left) % 64 for j in range(d.bbox[3])}
            if d.population in populations and min(rows) >= 2 and max(rows) < size - 2 \
                    and min(cols) >= 2 and max(cols) < size - 2 and d.apgcode != "unknown":
                inside.add((d.apgcode, d.bbox, tuple(np.round(d.centroid, 9))))
        assert {f for f in found if f[0] != "unknown"} == inside, trial
