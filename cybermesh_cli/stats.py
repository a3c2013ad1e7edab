"""Intervals for measured proportions and percentiles for latency budgets."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np


def wilson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion: inside [0, 1] even at 0 or n successes."""
    from scipy.stats import norm

    if trials == 0:
        return math.nan, math.nan
    z = float(norm.ppf((1 + confidence) / 2))
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (
        1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def percentile_ms(seconds: Sequence[float], percentile: float) -> float:
    """Return the given percentile of timing samples (seconds), in milliseconds.

    Latency budgets are judged on a high percentile over many samples, not on the maximum: one
    sample delayed by another process on a shared machine says nothing about the code.
    """
    return 1000 * float(np.percentile(np.asarray(seconds, float), percentile))


def machine_load() -> dict[str, float]:
    """Return the load a wall-clock figure was measured under: 1-minute load average, CPUs."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    return {"load_1min": round(load, 2), "cpus": float(os.cpu_count() or 1)}
