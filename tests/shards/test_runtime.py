"""The concurrent shard runtime.

Conservation every tick, backpressure, admission drops, congestion drops that break waiting
cycles, TTL expiry, and the watchdog.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cybermesh_cli.topology import Mesh
from cybermesh_cli.shards.routing import RoutingTables
from cybermesh_cli.shards.runtime import InvariantError, Runtime


def _unit(rows):
    rows = np.asarray(rows, np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _runtime(capacity=4, rate=1, max_hops=16, patience=10, max_wait=100, side=5, seed=0):
    rng = np.random.default_rng(seed)
    keys = _unit(rng.normal(size=(side * side, 8)))
    tables = RoutingTables(Mesh(side, side), keys, horizon=side)
    shards = _unit(rng.normal(size=(200, 8)))
    return Runtime(tables, shards, capacity, rate, max_hops, max_wait, patience), rng


@settings(max_examples=40, deadline=None)
@given(k=st.integers(1, 300), capacity=st.integers(1, 6), rate=st.integers(1, 3),
       seed=st.integers(0, 1000))
def test_every_shard_is_accounted_for_at_every_tick(k, capacity, rate, seed):
    runtime, rng = _runtime(capacity, rate, seed=seed)
    for tick in range(4):  # a burst over four ticks; check() runs inside every step
        for shard in range(k // 4 + 1):
            runtime.inject(tick, tick * 1000 + shard, int(rng.integers(0, 200)),
                           int(rng.integers(0, 25)))
        runtime.step(tick)
    runtime.drain(4, 5000)
    ledger = runtime.ledger
    assert runtime.in_flight == 0
    assert ledger.injected == ledger.delivered + ledger.dropped + ledger.expired


def test_light_load_is_delivered_without_drops_and_alone_on_a_shortest_path():
    runtime, rng = _runtime(capacity=8, rate=2)
    for shard in range(10):
        assert runtime.inject(0, shard, shard, int(rng.integers(0, 25)))
    runtime.drain(0, 100)
    assert runtime.ledger.delivered == 10 and runtime.ledger.dropped == 0
    for shard in range(10):  # one at a time, nothing queues: latency = shortest hops + 1
        alone, _ = _runtime(capacity=8, rate=2)
        origin = shard % 25
        alone.inject(0, shard, shard, origin)
        alone.drain(0, 100)
        goal = alone.goal(shard, origin)
        assert alone.ledger.latency_of[shard] == alone.tables.mesh.hops[origin, goal] + 1


def test_admission_drops_only_when_the_origin_inbox_is_full():
    runtime, _ = _runtime(capacity=2)
    assert runtime.inject(0, 0, 0, 3) and runtime.inject(0, 1, 1, 3)
    assert not runtime.inject(0, 2, 2, 3)
    assert runtime.ledger.dropped == 1 and runtime.in_flight == 2


def test_ttl_expires_shards():
    runtime, _ = _runtime(max_hops=0)
    far = next(v for v in range(200) if runtime.goal(v, 0) != 0)
    runtime.inject(0, 0, far, 0)
    runtime.step(0)
    assert runtime.ledger.expired == 1


def test_watchdog_names_a_shard_that_waits_forever():
    runtime, _ = _runtime(patience=10**6, max_wait=3)
    far = next(v for v in range(200) if runtime.goal(v, 0) != 0)
    runtime.inject(0, 7, far, 0)
    runtime.service_rate = 0  # nobody serves: the shard can never move
    with pytest.raises(InvariantError, match="shard 7 waited 4 ticks at bot 0"):
        for tick in range(10):
            runtime.step(tick)


def test_wall_clock_mode_conserves_and_drops_only_under_overload():
    from cybermesh_cli.shards.runtime import run_wall_clock

    light, rng = _runtime(capacity=8, rate=2)
    shards = [(i, int(rng.integers(0, 200)), int(rng.integers(0, 25))) for i in range(16)]
    result = run_wall_clock(light, shards, service_s=0.001)
    assert (result.delivered, result.dropped) == (16, 0) and len(result.latencies_s) == 16
    heavy, rng = _runtime(capacity=2, rate=1, patience=3)
    shards = [(i, int(rng.integers(0, 200)), int(rng.integers(0, 25))) for i in range(300)]
    result = run_wall_clock(heavy, shards, service_s=0.001)
    assert result.dropped > 0
    assert result.delivered + result.dropped + result.expired == 300


def test_peak_memory_is_the_runs_own_not_its_parents():
    """``ru_maxrss`` survives exec: a run started by a big parent would report the parent."""
    import subprocess
    import sys

    held = bytearray(400 * 2**20)
    held[::4096] = b"\x01" * len(held[::4096])  # touch every page: 400 MiB resident here
    code = ("from cybermesh_cli.phases.base import peak_memory_mb; "
            "print(peak_memory_mb())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert float(done.stdout) < 200 < len(held) / 2**20
