"""Glider lifetimes under noise: the measurement itself, on arms whose answer is known."""

import numpy as np

from cybermesh_cli.pulses.persistence import (
    Noise,
    glider_worlds,
    kernel_stepper,
    measure_lifetimes,
    neighbourhood,
    relative_gain,
)
from cybermesh_cli.substrate.detect import detect
from cybermesh_cli.substrate.rules import CONWAY


def test_worlds_hold_one_glider_each():
    worlds = glider_worlds(40, 24, CONWAY, np.random.default_rng(0))
    for world in worlds:
        (found,) = detect(world)
        assert found.apgcode == "xq4_153"


def test_known_arms_get_known_lifetimes():
    rng = np.random.default_rng(1)
    worlds = glider_worlds(30, 24, CONWAY, rng)
    kernel = kernel_stepper(CONWAY)
    result = measure_lifetimes(
        worlds, {"kernel": kernel, "blank": np.zeros_like}, kernel, Noise("flip", 0.0),
        ticks=50, grace=4, rng=rng)
    assert (result.by_arm["kernel"] == 50).all()  # no noise: never lost (censored)
    assert (result.by_arm["blank"] == 1).all()  # wrong from tick 1 for 4 ticks: lost at 1


def test_noise_shortens_lifetimes_and_both_arms_see_the_same_noise():
    rng = np.random.default_rng(2)
    worlds = glider_worlds(200, 24, CONWAY, rng)
    kernel = kernel_stepper(CONWAY)
    result = measure_lifetimes(worlds, {"a": kernel, "b": kernel}, kernel,
                               Noise("flip", 0.01), ticks=200, grace=4, rng=rng)
    assert np.array_equal(result.by_arm["a"], result.by_arm["b"])
    assert 1 <= result.by_arm["a"].mean() < 50


def test_gain_and_its_interval_cover_the_true_gain():
    rng = np.random.default_rng(3)
    base, pulsed = rng.geometric(0.2, 2000), rng.geometric(0.1, 2000)  # means 5 and 10
    gain, low, high = relative_gain(base, pulsed, 0.95, np.random.default_rng(0))
    assert low < 1.0 < high and 0.7 < low < gain < high < 1.3
    narrow = relative_gain(base, pulsed, 0.5, np.random.default_rng(0))
    assert low < narrow[1] < narrow[2] < high


def test_dust_only_adds_cells_and_the_window_wraps():
    cells = np.zeros((1, 5, 5), np.uint8)
    cells[0, 0, 0] = 1
    hits = np.zeros((1, 5, 5), bool)
    hits[0, 0, 0] = hits[0, 2, 2] = True
    assert Noise("dust", 0.1).apply(cells, hits).sum() == 2
    assert Noise("flip", 0.1).apply(cells, hits).sum() == 1
    window = neighbourhood(cells)[0]
    assert window.sum() == 9 and window[4, 4] and window[1, 1]
