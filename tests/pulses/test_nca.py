"""The neural CA against the Numba kernel, and what an adapter on it can express."""

from tests.conftest import needs

needs("ml")

import numpy as np
import pytest
import torch

from cybermesh_cli.pulses.nca import NeuralCA, next_state_table
from cybermesh_cli.pulses.training import attach_adapter, decisions, fit_decisions
from cybermesh_cli.substrate.grid import Grid
from cybermesh_cli.substrate.rules import parse_rule

RULES = ["B3/S23", "B36/S23", "B3678/S34678", "B2/S", "B0/S8", "B1357/S1357"]


@pytest.mark.parametrize("text", RULES)
def test_base_weights_compute_the_rule_exactly(text):
    rule = parse_rule(text)
    model = NeuralCA(rule)
    rng = np.random.default_rng(sum(map(ord, text)))
    for index in range(100):
        height, width = rng.integers(3, 48, 2)
        soup = (rng.random((height, width)) < rng.uniform(0.05, 0.95)).astype(np.uint8)
        state = torch.from_numpy(soup).float()[None, None]
        values = model(state)
        assert set(values.unique().tolist()) <= {0.0, 1.0}, "outputs must be exactly 0 or 1"
        grid = Grid(soup, rule, torus=True)
        grid.step(1)
        got = model.step(state)[0, 0].numpy().astype(np.uint8)
        assert np.array_equal(got, grid.cells), f"{text}: soup {index} differs from the kernel"


def test_perception_channels_are_the_nine_neighbours_on_a_torus():
    rng = np.random.default_rng(3)
    cells = rng.integers(0, 2, (7, 9)).astype(np.float32)
    channels = NeuralCA(parse_rule("B3/S23")).perceive(torch.from_numpy(cells)[None, None])[0]
    for k in range(9):
        dy, dx = k // 3 - 1, k % 3 - 1
        assert np.array_equal(channels[k].numpy(), np.roll(cells, (-dy, -dx), axis=(0, 1)))


def test_next_state_table_reads_birth_then_survival():
    table = next_state_table(parse_rule("B36/S23"))
    assert [a for a in range(18) if table[a]] == [3, 6, 9 + 2, 9 + 3]


def test_an_adapter_can_learn_a_rule_that_is_not_outer_totalistic():
    # "copy the north-west neighbour": the whole grid shifts down-right one cell a tick
    torch.manual_seed(0)
    model = attach_adapter(NeuralCA(parse_rule("B3/S23")), "shift", rank=9, alpha=9)
    north_west = torch.from_numpy((np.arange(512) & 1).astype(bool))
    fit_decisions(model, north_west, torch.full((512,), 1 / 512), steps=1500, lr=0.02)
    assert torch.equal(decisions(model), north_west)
    cells = (np.random.default_rng(1).random((1, 1, 12, 10)) < 0.4).astype(np.float32)
    with torch.no_grad():
        stepped = (model(torch.from_numpy(cells)) > 0.5).numpy()
    assert np.array_equal(stepped, np.roll(cells, (1, 1), axis=(2, 3)).astype(bool))
    with model.disable_adapter():
        assert not torch.equal(decisions(model), north_west)
