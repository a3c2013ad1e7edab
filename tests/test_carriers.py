"""Carriers: the right spaceship per direction, tracking, coasting, loss, absorption."""

import numpy as np
import pytest

from cybermesh_cli.shards.carriers import COAST, Tracker, carrier_form, torus_distance
from cybermesh_cli.substrate.detect import detect
from cybermesh_cli.substrate.grid import Grid

DIRECTIONS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_each_direction_gets_a_spaceship_that_moves_that_way(direction):
    form = carrier_form(direction)
    assert form.name == ("glider" if all(direction) else "lwss")
    assert (int(np.sign(form.velocity[0])), int(np.sign(form.velocity[1]))) == direction


def _world_with(direction, top=36, left=36):
    grid = Grid(np.zeros((80, 80), np.uint8))
    tracker = Tracker((80, 80))
    cells = grid.cells
    carrier = tracker.launch(cells, carrier_form(direction), top, left, 0, grid)
    grid.cells = cells
    return grid, tracker, carrier


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_tracker_follows_a_free_carrier_exactly(direction):
    grid, tracker, carrier = _world_with(direction)
    start = carrier.true_centroid()
    for _ in range(40):
        grid.step(1)
        assert tracker.update(detect(grid.cells)) == []
        assert carrier.intact(grid.cells)
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
        if tracker.update(detect(grid.cells)):
            lost_at = tick
            break
    assert lost_at is not None and not carrier.alive
    assert not carrier.intact(grid.cells)
    assert carrier.unseen == COAST + 1


def test_launch_refuses_a_busy_spot_and_absorb_erases():
    grid, tracker, carrier = _world_with((1, 1))
    cells = grid.cells
    assert tracker.launch(cells, carrier_form((1, 1)), 37, 37, 0, grid) is None
    grid.step(4)
    tracker.update(detect(grid.cells))
    cells = grid.cells
    tracker.absorb(cells, carrier)
    assert cells.sum() == 0 and not carrier.alive
