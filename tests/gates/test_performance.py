"""Benchmarks for the perf gate; ratios against baselines timed in the same run.

Run as: pytest tests/gates/test_performance.py --benchmark-only --benchmark-json=logs/benchmark.json
"""

import json
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from cybermesh_cli.runs.events import EventLog, read_events
from cybermesh_cli.shards.carriers import Tracker, carrier_form
from cybermesh_cli.substrate.bench import numpy_roll_step
from cybermesh_cli.substrate.grid import Grid
from cybermesh_cli.substrate.rules import CONWAY

EVENTS = 5000
LOG_ROUNDS = 15  # ~10-20 ms each; with 7 one CI run's median of three fell to 1.42x
SETTLE_S = 30  # the longest wait for the machine to go quiet before timing
QUIET_PERCENT = 25  # CPU use (all cores) below which the machine counts as quiet


@pytest.fixture(scope="session", autouse=True)
def quiet_machine(request):
    """Wait (at most SETTLE_S) until the cores are quiet before anything is timed.

    The threaded kernel's ratio needs the second core, and processes the unit gate stopped may
    still be exiting when the perf gate starts (one CI run measured threads at 0.96x there).
    With benchmarks disabled (the unit gate, where the other worker keeps a core busy) nothing
    is timed, so nothing waits.
    """
    if request.config.getoption("benchmark_disable"):
        return
    deadline = time.monotonic() + SETTLE_S
    while psutil.cpu_percent(interval=0.5) > QUIET_PERCENT and time.monotonic() < deadline:
        pass
PAYLOADS = [{"bot": [i % 5, i // 5 % 5], "shard": f"s{i}", "hops": i % 7, "d": i / 7}
            for i in range(EVENTS)]


def _write_orjson(folder: Path, run: list[int]) -> Path:
    run[0] += 1
    path = folder / f"orjson-{run[0]}.jsonl"
    with EventLog(path) as log:
        log.emit("run.start", -1)
        for tick, payload in enumerate(PAYLOADS):
            log.emit("shard.hop", tick, payload)
    return path


def _write_stdlib(folder: Path, run: list[int]) -> Path:
    run[0] += 1
    path = folder / f"json-{run[0]}.jsonl"
    with path.open("x", encoding="utf-8") as handle:
        handle.write(json.dumps({"v": 1, "seq": 0, "tick": -1, "t": 0.0, "type": "run.start",
                                 "payload": {}}) + "\n")
        for tick, payload in enumerate(PAYLOADS):
            event = {"v": 1, "seq": tick + 1, "tick": tick, "t": 0.0, "type": "shard.hop",
                     "payload": payload}
            handle.write(json.dumps(event) + "\n")
    return path


@pytest.mark.performance
def test_event_log_orjson(benchmark, tmp_path):
    path = benchmark.pedantic(_write_orjson, args=(tmp_path, [0]), rounds=LOG_ROUNDS, iterations=1)
    assert len(read_events(path).events) == EVENTS + 1


@pytest.mark.performance
def test_event_log_stdlib_json(benchmark, tmp_path):
    path = benchmark.pedantic(_write_stdlib, args=(tmp_path, [0]), rounds=LOG_ROUNDS, iterations=1)
    assert len(read_events(path).events) == EVENTS + 1


GENS = 4
NUMBA_ROUNDS = 15  # ~50 ms each: a busy moment on the shared cores moves no median


def _soup(size):
    return (np.random.default_rng(size).random((size, size)) < 0.35).astype(np.uint8)


def _numpy_gens(cells):
    for _ in range(GENS):
        cells = numpy_roll_step(cells, CONWAY)
    return cells


@pytest.mark.performance
@pytest.mark.parametrize("size", [1024, 4096])
def test_life_numpy(benchmark, size):
    cells = benchmark.pedantic(_numpy_gens, args=(_soup(size),), rounds=3, iterations=1)
    grid = Grid(_soup(size))
    grid.step(GENS)
    np.testing.assert_array_equal(grid.cells, cells)


@pytest.mark.performance
@pytest.mark.parametrize("size", [1024, 4096])
def test_life_numba_serial(benchmark, size):
    grid = Grid(_soup(size), threads=1)
    grid.step(1)
    benchmark.pedantic(grid.step, args=(GENS * 64,), rounds=NUMBA_ROUNDS, iterations=1)
    benchmark.extra_info["gens_per_round"] = GENS * 64


@pytest.mark.performance
def test_life_numba_threads(benchmark):
    grid = Grid(_soup(4096), threads=2)
    assert grid.threads == 2
    grid.step(1)
    benchmark.pedantic(grid.step, args=(GENS * 64,), rounds=NUMBA_ROUNDS, iterations=1)


TRACK_TICKS = 20
TRACK_ROUNDS = 15
DIRECTIONS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]


def _flights():
    """Launch 625 carriers 40 cells apart on a 1024x1024 torus, every heading, soups between."""
    rng = np.random.default_rng(40)
    cells = np.zeros((1024, 1024), np.uint8)
    for y in range(25, 1000, 120):
        for x in range(25, 1000, 40):
            cells[y:y + 8, x:x + 8] = rng.random((8, 8)) < 0.35
    grid = Grid(cells, threads=1)
    tracker = Tracker(cells.shape, CONWAY)
    for k in range(625):
        row, col = divmod(k, 25)
        tracker.launch(grid, carrier_form(DIRECTIONS[k % 8]), 40 * row + 5, 40 * col + 5, 0)
    return (grid, tracker), {}


def _track(grid, tracker, remember=True):
    for _ in range(TRACK_TICKS):
        grid.step(1)
        if not remember:
            tracker.data.shape[:] = -1  # no shape remembered: the full window search
        tracker.update(grid)
    return tracker


@pytest.mark.performance
def test_tracking_successors(benchmark):
    tracker = benchmark.pedantic(_track, setup=_flights, rounds=TRACK_ROUNDS, iterations=1)
    assert len(tracker.rows) == 625 and tracker.data.alive[:625].mean() > 0.9


@pytest.mark.performance
def test_tracking_full_search(benchmark):
    tracker = benchmark.pedantic(lambda grid, tracker: _track(grid, tracker, remember=False),
                                 setup=_flights, rounds=TRACK_ROUNDS, iterations=1)
    assert len(tracker.rows) == 625 and tracker.data.alive[:625].mean() > 0.9
