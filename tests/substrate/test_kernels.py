"""The Numba kernels against the independent numpy reference: many rules, sizes, boundaries."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cybermesh_cli.errors import InputError
from cybermesh_cli.substrate import kernels
from cybermesh_cli.substrate.grid import Grid
from cybermesh_cli.substrate.rules import CONWAY, parse_rule
from tests.reference import reference_step

RULES = ["B3/S23", "B36/S23", "B2/S", "B3678/S34678", "B1357/S1357", "B368/S245", "B0/S8",
         "B012345678/S012345678"]


@settings(max_examples=120, deadline=None)
@given(
    height=st.integers(1, 70),
    width=st.integers(1, 150),
    rule=st.sampled_from(RULES),
    torus=st.booleans(),
    gens=st.integers(1, 6),
    density=st.floats(0.05, 0.95),
    seed=st.integers(0, 2**32 - 1),
)
def test_kernel_matches_reference(height, width, rule, torus, gens, density, seed):
    cells = (np.random.default_rng(seed).random((height, width)) < density).astype(np.uint8)
    parsed = parse_rule(rule)
    grid = Grid(cells, parsed, torus=torus)
    grid.step(gens)
    expected = reference_step(cells, parsed.birth, parsed.survive, torus, gens)
    np.testing.assert_array_equal(grid.cells, expected)
    assert grid.population == int(expected.sum())


@pytest.mark.parametrize("torus", [True, False])
@pytest.mark.parametrize("rule", ["B3/S23", "B36/S23"])
def test_threaded_halo_path_matches_reference(torus, rule):
    cells = (np.random.default_rng(7).random((96, 512)) < 0.4).astype(np.uint8)
    parsed = parse_rule(rule)
    grid = Grid(cells, parsed, torus=torus, threads=2)
    assert grid.threads == 2
    grid.step(150)  # crosses two 64-generation halo rounds
    np.testing.assert_array_equal(grid.cells, reference_step(cells, parsed.birth,
                                                             parsed.survive, torus, 150))


def test_pack_round_trip_and_zero_padding():
    cells = (np.random.default_rng(1).random((9, 130)) < 0.5).astype(np.uint8)
    packed = kernels.pack(cells)
    assert packed.shape == (3, 9)
    assert not (packed[2] >> np.uint64(2)).any()  # bits beyond the width stay zero
    np.testing.assert_array_equal(kernels.unpack(packed, 130), cells)


def test_glider_returns_shifted_after_four_generations():
    grid = Grid.empty(20, 20)
    cells = grid.cells
    cells[1, 2] = cells[2, 3] = cells[3, 1] = cells[3, 2] = cells[3, 3] = 1
    grid.cells = cells
    grid.step(4)
    np.testing.assert_array_equal(grid.cells, np.roll(cells, (1, 1), axis=(0, 1)))
    assert grid.generation == 4


@pytest.mark.parametrize(
    ("text", "name"),
    [("B3/S23", "B3/S23"), ("b36s23", "B36/S23"), ("23/3", "B3/S23"), ("B2/S", "B2/S"),
     (" B3/S012345678 ", "B3/S012345678")],
)
def test_rule_strings(text, name):
    assert parse_rule(text).name == name


@pytest.mark.parametrize("text", ["B9/S23", "B3/S23/G", "lifeish", "B33/S2", "", "S23/B3x"])
def test_malformed_rules_are_one_line_errors(text):
    with pytest.raises(InputError, match="rule"):
        parse_rule(text)


def test_conway_constant():
    assert parse_rule("B3/S23") == CONWAY and CONWAY.name == "B3/S23"
