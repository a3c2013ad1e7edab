"""How long a glider persists under noise, with and without a pulse, on the same noise.

Each trial is one glider (random orientation, phase and place) alone on a small torus. Every
tick the noise perturbs every trial, then each arm steps: the base arm with the Numba kernel, a
pulsed arm with the neural CA under an adapter. A clean copy stepped by the kernel is the
reference. A trial is lost at the first tick of ``grace`` consecutive ticks on which the arm's
cells differ from the reference's in the glider's neighbourhood (its live cells and their
eight neighbours); its lifetime is that tick, or ``ticks`` if it never is (censored).
Both arms see exactly the same noise masks (common random numbers), so the comparison is
paired trial by trial.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cybermesh_cli.substrate import kernels
from cybermesh_cli.substrate.library import PATTERNS_DIR
from cybermesh_cli.substrate.noise import Noise
from cybermesh_cli.substrate.rle import read_rle
from cybermesh_cli.substrate.rules import Rule
from cybermesh_cli.substrate.shapes import orientations

Batch = NDArray[np.uint8]  # (trials, H, W) cells of 0/1
Stepper = Callable[[Batch], Batch]


def kernel_stepper(rule: Rule) -> Stepper:
    """Step each trial once with the Numba kernel (on its own torus)."""
    run = kernels.stepper(rule.birth, rule.survive)

    def step(batch: Batch) -> Batch:
        out = np.empty_like(batch)
        for index, cells in enumerate(batch):
            a = kernels.pack(cells)
            b = np.empty_like(a)
            out[index] = kernels.unpack(b if run(a, b, 1, cells.shape[1], True, True) else a,
                                        cells.shape[1])
        return out

    return step


def glider_worlds(count: int, size: int, rule: Rule, rng: np.random.Generator) -> Batch:
    """Make ``count`` tori of side ``size``, each holding one randomly placed glider."""
    glider = read_rle(PATTERNS_DIR / "glider.rle").cells
    forms = orientations(glider)
    step = kernel_stepper(rule)
    worlds = np.zeros((count, size, size), np.uint8)
    for index in range(count):
        form = forms[rng.integers(len(forms))]
        worlds[index, : form.shape[0], : form.shape[1]] = form
        for _ in range(int(rng.integers(4))):
            worlds[index:index + 1] = step(worlds[index:index + 1])
        shift = rng.integers(0, size, 2)
        worlds[index] = np.roll(worlds[index], tuple(shift), axis=(0, 1))
    return worlds


def neighbourhood(cells: Batch) -> NDArray[np.bool_]:
    """Live cells and their eight neighbours, on each trial's torus."""
    out = np.zeros(cells.shape, bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            out |= np.roll(cells, (dy, dx), axis=(1, 2)).astype(bool)
    return out


@dataclass
class Lifetimes:
    """Per-arm lifetimes in ticks (censored trials hold ``ticks``), and how many were censored."""

    ticks: int
    by_arm: dict[str, NDArray[np.int64]]


def measure_lifetimes(
    initial: Batch,
    arms: Mapping[str, Stepper],
    reference: Stepper,
    noise: Noise,
    ticks: int,
    grace: int,
    rng: np.random.Generator,
    on_tick: Callable[[], None] | None = None,
) -> Lifetimes:
    """Run every arm from ``initial`` under the same noise; see the module docstring."""
    trials = initial.shape[0]
    states = {arm: initial.copy() for arm in arms}
    lifetime = {arm: np.full(trials, ticks, np.int64) for arm in arms}
    bad_run = {arm: np.zeros(trials, np.int64) for arm in arms}
    clean = initial.copy()
    for tick in range(1, ticks + 1):
        alive = {arm: np.flatnonzero(lifetime[arm] == ticks) for arm in arms}
        if all(len(a) == 0 for a in alive.values()):
            break
        hits = noise.mask(rng, initial.shape)
        clean = reference(clean)
        window = neighbourhood(clean)
        for arm, step in arms.items():
            live = alive[arm]
            if len(live) == 0:
                continue
            states[arm][live] = step(noise.apply(states[arm][live], hits[live]))
            differs = ((states[arm][live] != clean[live]) & window[live]).any(axis=(1, 2))
            bad_run[arm][live] = np.where(differs, bad_run[arm][live] + 1, 0)
            lost = live[bad_run[arm][live] >= grace]
            lifetime[arm][lost] = tick - grace + 1
        if on_tick is not None:
            on_tick()
    return Lifetimes(ticks, lifetime)


def relative_gain(
    base: NDArray[np.int64], pulsed: NDArray[np.int64], confidence: float,
    rng: np.random.Generator,
) -> tuple[float, float, float]:
    """mean(pulsed) / mean(base) - 1, with a paired bootstrap (BCa) confidence interval."""
    from scipy.stats import bootstrap

    def gain(b: NDArray[np.float64], p: NDArray[np.float64], axis: int) -> NDArray[np.float64]:
        ratio: NDArray[np.float64] = p.mean(axis=axis) / b.mean(axis=axis) - 1.0
        return ratio

    result = bootstrap((base.astype(float), pulsed.astype(float)), gain, paired=True,
                       confidence_level=confidence, n_resamples=4000,
                       rng=rng)
    point = float(pulsed.mean() / base.mean() - 1.0)
    return point, float(result.confidence_interval.low), float(result.confidence_interval.high)
