"""Detection and the object library: apgcodes, every phase and orientation, unknowns, energy."""

import numpy as np
import pytest

from cybermesh_cli.substrate.detect import detect
from cybermesh_cli.substrate.energy import EnergyField, decay_factor
from cybermesh_cli.substrate.grid import Grid
from cybermesh_cli.substrate.library import default_library
from cybermesh_cli.substrate.rle import read_rle
from tests.conftest import REPO

# Catagolue's published apgcodes for the library's objects.
CATAGOLUE = {
    "block": "xs4_33", "beehive": "xs6_696", "loaf": "xs7_2596", "boat": "xs5_253",
    "ship": "xs6_356", "tub": "xs4_252", "pond": "xs8_6996", "blinker": "xp2_7",
    "toad": "xp2_7e", "beacon": "xp2_318c", "pentadecathlon": "xp15_4r4z4r4",
    "glider": "xq4_153", "lwss": "xq4_6frc", "mwss": "xq4_27dee6", "hwss": "xq4_27deee6",
}
SPEEDS = {"glider": 0.25, "lwss": 0.5, "mwss": 0.5, "hwss": 0.5}


def test_apgcodes_match_catagolue():
    library = default_library()
    for name, code in CATAGOLUE.items():
        assert library.objects[name][0].apgcode == code
    assert library.objects["pulsar"][0].apgcode.startswith("xp3_")


def test_guns_and_methuselahs_are_not_objects():
    assert "gosper_glider_gun" not in default_library().objects
    assert "r_pentomino" not in default_library().objects


@pytest.mark.parametrize("name", sorted(CATAGOLUE) + ["pulsar"])
def test_every_phase_and_orientation_is_recognised_anywhere(name):
    rng = np.random.default_rng(len(name))
    for form in default_library().objects[name]:
        grid = np.zeros((40, 48), np.uint8)
        y, x = rng.integers(0, 40), rng.integers(0, 48)  # may straddle the torus seam
        ys, xs = np.nonzero(form.cells)
        grid[(ys + y) % 40, (xs + x) % 48] = 1
        (found,) = detect(grid)
        assert (found.name, found.velocity) == (name, form.velocity)
        assert found.population == len(ys)
        expected = ((ys + y).mean() % 40, (xs + x).mean() % 48)
        assert np.allclose(found.centroid, expected)


def test_spaceships_move_as_detected():
    for name, speed in SPEEDS.items():
        forms = default_library().objects[name]
        assert {max(abs(v) for v in f.velocity) for f in forms} == {speed}
        assert len({f.heading for f in forms}) == 4


def test_unknown_clusters_stay_unknown():
    grid = np.zeros((30, 30), np.uint8)
    grid[5:8, 5:8] = read_rle(REPO / "experiments/patterns/r_pentomino.rle").cells
    grid[20:22, 20:23] = 1  # a 2x3 block of six cells: not a still life
    found = detect(grid)
    assert [d.apgcode for d in found] == ["unknown", "unknown"]
    assert [d.population for d in found] == [5, 6]


def test_gosper_gun_emits_a_glider_every_30_generations():
    gun = read_rle(REPO / "experiments/patterns/gosper_glider_gun.rle").cells
    grid = Grid(np.pad(gun, ((1, 120), (1, 120))), torus=False)
    grid.step(120)
    gliders = [d for d in detect(grid.cells, torus=False) if d.name == "glider"]
    assert len(gliders) == 4 and {d.heading for d in gliders} == {"SE"}


def test_energy_decays_with_the_analytic_half_life():
    assert decay_factor(10) ** 10 == pytest.approx(0.5)
    field = EnergyField((16, 16), half_life=8, deposit=2.0)
    alive = np.ones((16, 16), np.uint8)
    field.update(alive)
    assert field.total == pytest.approx(2.0 * 256)
    empty = np.zeros_like(alive)
    for _ in range(24):
        field.update(empty)
    assert field.total == pytest.approx(2.0 * 256 * 0.5**3, rel=1e-5)


def test_diffusion_spreads_and_conserves_on_a_torus():
    field = EnergyField((9, 9), half_life=1e12, deposit=1.0, diffusion=0.5)
    seed = np.zeros((9, 9), np.uint8)
    seed[4, 4] = 1
    field.update(seed)
    for _ in range(5):
        field.update(np.zeros_like(seed))
    assert field.total == pytest.approx(1.0, rel=1e-5)
    assert field.values[4, 4] < 0.5 and field.values[4, 5] > 0


@pytest.mark.parametrize("torus", [True, False])
def test_neighbour_groups_are_the_same_from_all_pairs_or_row_by_row(torus, monkeypatch):
    """Past ALL_PAIRS clusters, gaps are computed as groups reach them: the same groups."""
    from cybermesh_cli.substrate import detect as module

    cells = (np.random.default_rng(3).random((200, 300)) < 0.02).astype(np.uint8)
    clusters = module._split(cells, torus, module.CLUSTER_RADIUS)
    monkeypatch.setattr(module._Boxes, "ALL_PAIRS", len(clusters))
    at_once = module._Boxes(clusters, cells.shape, torus)
    monkeypatch.setattr(module._Boxes, "ALL_PAIRS", 0)
    by_row = module._Boxes(clusters, cells.shape, torus)
    assert at_once.all is not None and by_row.all is None and len(clusters) > 500
    compared = 0
    for seed in range(len(clusters)):
        for radius in (3, 16):
            a, b = at_once.group(seed, radius), by_row.group(seed, radius)
            assert (a is None) == (b is None)
            if a is not None:
                assert a[0] == b[0] and np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])
                compared += len(a[0]) > 1
    assert compared > 100
