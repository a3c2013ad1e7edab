"""Phase 5, load: K shards in flight at once, and an overload burst.

For each K, ``trials`` times: K shards are injected at tick 0 at random bots and the runtime
(`shards/runtime.py`) runs until none is in flight. Measured: drops, latency percentiles in
ticks, throughput (delivered per tick over the makespan) against the theoretical limit
(bots x service rate / (mean hops + 1): one service per hop plus one to deliver), and each K
once more with real concurrency (asyncio tasks and queues) for wall-clock figures. Then an
overload burst beyond capacity, followed by one probe shard a tick: recovery is the first tick
after the burst from which every probe's latency stays within ``recovery_factor`` x the
single-shard p95 (normal latency).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file

from cybermesh_cli.events import Event
from cybermesh_cli.phases.base import PhaseResult, RunContext
from cybermesh_cli.phases.embedding import VECTORS_FILE, embed_corpus
from cybermesh_cli.shards.embedders import Vectors
from cybermesh_cli.topology import Mesh
from cybermesh_cli.shards.routing import RoutingTables
from cybermesh_cli.shards.runtime import Runtime, mean_shortest_hops, run_wall_clock
from cybermesh_cli.seeds import Seeds
from cybermesh_cli.spec import Spec

SECTION = "phase_5_load_test"


def _wall_clock_k(block: Mapping[str, Any], keys: Vectors, vectors: Vectors,
                  rng: np.random.Generator, k: int) -> dict[str, Any]:
    """Run K shards once in the asyncio mode: latencies in ms, shards per second."""
    runtime = _runtime(block, keys, vectors, rng)
    size = runtime.tables.mesh.size
    shards = [(i, int(rng.integers(0, len(vectors))), int(rng.integers(0, size)))
              for i in range(k)]
    result = run_wall_clock(runtime, shards, block["wall_clock_service_ms"] / 1000)
    latencies = np.array(result.latencies_s or [0.0]) * 1000
    return {"k": k, "delivered": result.delivered, "dropped": result.dropped,
            "latency_p50_ms": round(float(np.percentile(latencies, 50)), 2),
            "latency_p95_ms": round(float(np.percentile(latencies, 95)), 2),
            "shards_per_s": round(result.delivered / result.seconds, 1)}


def _runtime(block: Mapping[str, Any], keys: Vectors, vectors: Vectors,
             rng: np.random.Generator) -> Runtime:
    mesh = Mesh(block["mesh"]["rows"], block["mesh"]["cols"])
    placement = rng.permutation(len(keys))[:mesh.size]
    tables = RoutingTables(mesh, keys[placement], block["routing"]["horizon"])
    bots = block["bots"]
    return Runtime(tables, vectors, bots["inbox_capacity"], bots["service_rate"],
                   block["routing"]["max_hops"], bots["max_wait"], bots["patience"])


def _inject_random(runtime: Runtime, rng: np.random.Generator, tick: int, shard: int) -> bool:
    return runtime.inject(tick, shard, int(rng.integers(0, len(runtime.vectors))),
                          int(rng.integers(0, runtime.tables.mesh.size)))


def load_events(block: Mapping[str, Any], keys: Vectors, vectors: Vectors,
                seeds: Seeds) -> Iterator[Event]:
    """Every K's trials, then the overload burst, as summary events."""
    rng = seeds.rng()
    for tick, k in enumerate(block["ks"]):
        latencies: list[int] = []
        drops = delivered = expired = makespan = 0
        for _ in range(block["trials"]):
            runtime = _runtime(block, keys, vectors, rng)
            for shard in range(k):
                _inject_random(runtime, rng, 0, shard)
            makespan += runtime.drain(0, block["max_ticks"])
            latencies += runtime.ledger.latencies
            drops += runtime.ledger.dropped
            delivered += runtime.ledger.delivered
            expired += runtime.ledger.expired
        yield Event(tick, "load.k", {
            "k": k, "trials": block["trials"], "delivered": delivered, "dropped": drops,
            "expired": expired, "latency_p50": float(np.percentile(latencies, 50)),
            "latency_p95": float(np.percentile(latencies, 95)),
            "latency_max": int(max(latencies)), "throughput": delivered / max(makespan, 1)})
    yield _overload(block, keys, vectors, rng, len(block["ks"]))


def _overload(block: Mapping[str, Any], keys: Vectors, vectors: Vectors,
              rng: np.random.Generator, tick: int) -> Event:
    """Burst ``factor`` x the total inbox capacity in, then one probe shard a tick."""
    burst = block["overload"]
    runtime = _runtime(block, keys, vectors, rng)
    total = burst["factor"] * runtime.tables.mesh.size * runtime.capacity
    shard = 0
    for t in range(burst["ticks"]):
        for _ in range(total // burst["ticks"]):
            _inject_random(runtime, rng, t, shard)
            shard += 1
        runtime.step(t)
    dropped_in_burst = runtime.ledger.dropped
    probes = []
    end = burst["ticks"] + burst["observe"]
    for t in range(burst["ticks"], end):
        probes.append(shard)
        _inject_random(runtime, rng, t, shard)
        shard += 1
        runtime.step(t)
    runtime.drain(end, block["max_ticks"])
    return Event(tick, "load.overload", {
        "burst_shards": total, "dropped_in_burst": dropped_in_burst,
        "injected": runtime.ledger.injected, "delivered": runtime.ledger.delivered,
        "dropped": runtime.ledger.dropped, "congested": runtime.ledger.congested,
        "expired": runtime.ledger.expired,
        "probe_latencies": [runtime.ledger.latency_of.get(p, -1) for p in probes]})


def recovery_ticks(probe_latencies: Sequence[int], normal: float) -> int | None:
    """First probe index from which every probe was delivered within ``normal`` ticks."""
    ok = [0 <= latency <= normal for latency in probe_latencies]
    for start in range(len(ok)):
        if all(ok[start:]):
            return start
    return None


class Phase5:
    """Driver for experiments/phase5.yaml."""

    phase = 5
    replayed_types = ("load.k", "load.overload")
    logged_types = {"load.wallclock": ("k", "delivered", "dropped", "latency_p50_ms",
                                       "latency_p95_ms", "shards_per_s")}  # not re-simulated

    def run(self, ctx: RunContext) -> PhaseResult:
        """Embed the corpus, run every K and the overload burst, judge against the limit."""
        block = ctx.spec.block("phase5")
        corpus = embed_corpus(ctx, block)
        results: list[dict[str, Any]] = []
        overload: dict[str, Any] = {}
        with ctx.progress("K shards in flight, then the burst", len(block["ks"]) + 1) as advance:
            for event in load_events(block, corpus.keys, corpus.shards, ctx.seeds.child("load")):
                ctx.events.write([event])
                ctx.events.flush()
                advance(1)
                if event.type == "load.k":
                    results.append(event.payload)
                else:
                    overload = event.payload
        wall_clock = self._wall_clock(ctx, block, corpus.keys, corpus.shards)
        probe_rng = ctx.seeds.child("limit").rng()
        sample = _runtime(block, corpus.keys, corpus.shards, probe_rng)
        hops = mean_shortest_hops(sample.tables, corpus.shards, probe_rng)
        bots = block["bots"]
        limit = sample.tables.mesh.size * bots["service_rate"] / (hops + 1)
        baseline = next(r for r in results if r["k"] == 1)
        single = baseline["latency_p50"]
        small = [r for r in results if r["k"] <= 16]
        normal = block["overload"]["recovery_factor"] * baseline["latency_p95"]
        recovered = recovery_ticks(overload["probe_latencies"], normal)
        return PhaseResult(
            measured={
                f"{SECTION}.concurrency.max_drops_k16": sum(r["dropped"] for r in small),
                f"{SECTION}.latency.max_p95_over_single_median":
                    max(r["latency_p95"] for r in small) / single,
                f"{SECTION}.throughput.max_limit_ratio":
                    max(r["throughput"] for r in results) / limit,
                f"{SECTION}.overload.max_recovery_ticks":
                    float(recovered if recovered is not None else 10**9),
            },
            figures={"by_k": results, "theoretical_limit_per_tick": round(limit, 3),
                     "mean_hops": round(hops, 3), "single_shard_median_ticks": single,
                     "overload": {k: v for k, v in overload.items() if k != "probe_latencies"},
                     "normal_latency_ticks": normal, "recovery_ticks": recovered,
                     "wall_clock": wall_clock},
            plots=_plots(ctx.dir, results, limit),
        )

    def _wall_clock(self, ctx: RunContext, block: Mapping[str, Any], keys: Vectors,
                    vectors: Vectors) -> list[dict[str, Any]]:
        """Each K once more with real concurrency (asyncio): latencies in ms, shards per s.

        Not replayed: wall-clock figures differ from run to run.
        """
        rng = ctx.seeds.child("wall_clock").rng()
        rows = []
        with ctx.progress("asyncio wall-clock mode", len(block["ks"])) as advance:
            for k in block["ks"]:
                row = _wall_clock_k(block, keys, vectors, rng, k)
                ctx.events.emit("load.wallclock", ctx.events.last_tick, row)
                rows.append(row)
                advance(1)
        return rows

    def resimulate(
        self, spec: Spec, events: Sequence[Mapping[str, Any]], run_dir: Path
    ) -> Iterator[Event]:
        """Re-run every trial from the seed and the stored vectors."""
        stored = load_file(str(run_dir / VECTORS_FILE))
        return load_events(spec.block("phase5"), stored["keys"], stored["shards"],
                           Seeds.of(spec.seed).child("load"))

    def state_bytes(self, spec: Spec) -> int | None:
        """Return None: the load test keeps no grid."""
        return None


def _plots(folder: Path, results: list[dict[str, Any]], limit: float) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = [r["k"] for r in results]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    for key, label in (("latency_p50", "p50"), ("latency_p95", "p95"), ("latency_max", "max")):
        left.plot(ks, [r[key] for r in results], marker="o", label=label)
    left.set(xscale="log", xlabel="K concurrent shards", ylabel="ticks", title="latency")
    left.legend()
    right.plot(ks, [r["throughput"] for r in results], marker="o", label="measured")
    right.axhline(limit, color="red", linestyle="--", label="theoretical limit")
    right.set(xscale="log", xlabel="K concurrent shards", ylabel="shards per tick",
              title="throughput")
    right.legend()
    figure.tight_layout()
    figure.savefig(folder / "load.png", dpi=100)
    plt.close(figure)
    return ["load.png"]


DRIVER = Phase5()
