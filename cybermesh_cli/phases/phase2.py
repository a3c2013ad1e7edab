"""Phase 2, shard routing with embeddings.

Bots get topic keys (topics placed at random on the mesh); shards are the topics' shard texts,
which never built a key. Measured: single-hop delivery (origin adjacent to the bot of the
shard text's own topic, on 5x5: a text more like another topic's key is a miss), multi-hop
delivery and path stretch on 3x3 and 5x5 at gossip horizons below each mesh's diameter
(``phase2.horizons``; full knowledge would make them right by construction), a sweep of
every horizon up to the diameter on both meshes, embedding latency per batch, and a stress
loop whose resident-memory slope tells a leak. Every hop is an event; the vectors are stored
with the run (safetensors), so replay re-routes without an embedder.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from safetensors.numpy import load_file

from cybermesh_cli.events import Event
from cybermesh_cli.phases.base import PhaseResult, RunContext
from cybermesh_cli.phases.embedding import VECTORS_FILE, embed_corpus
from cybermesh_cli.shards.bench import bench_embedder
from cybermesh_cli.seeds import Seeds
from cybermesh_cli.shards.embedders import Vectors
from cybermesh_cli.shards.layout import place_topics
from cybermesh_cli.shards.routing import Confidence, RoutingTables, oracle_targets, route
from cybermesh_cli.spec import Spec
from cybermesh_cli.stats import machine_load, wilson
from cybermesh_cli.topology import Mesh

SECTION = "phase_2_shard_routing"


@dataclass(frozen=True)
class Trial:
    """One routing experiment: a mesh, and whether origins sit next to the target."""

    name: str
    side: int
    adjacent: bool


TRIALS = (Trial("multi_hop_3x3", 3, False), Trial("single_hop", 5, True),
          Trial("multi_hop_5x5", 5, False))


def _confidence(routing: Mapping[str, Any]) -> Confidence | None:
    """Return the delivery confidence a routing block asks for, if any."""
    return Confidence(routing["accept"], routing["margin"]) if "accept" in routing else None


TableBuilder = Callable[[Mesh, Vectors, int], RoutingTables]


def _trial_events(block: Mapping[str, Any], keys: Vectors, shards: Vectors,
                  labels: np.ndarray[Any, Any], seeds: Seeds,
                  results: dict[str, list[dict[str, Any]]] | None = None,
                  trials: Sequence[Trial] = TRIALS,
                  build_tables: TableBuilder = RoutingTables) -> Iterator[Event]:
    """Route every trial's shards, yielding hop and outcome events (one tick per shard).

    Multi-hop targets are the oracle (the best key of the mesh); the single-hop target is the
    bot holding the shard text's own topic, next to the origin, so a shard whose text is more
    like another key is a miss. Each trial draws its placement and origins from its own child
    of ``seeds``; ``build_tables`` builds the gossip tables (a test corrupts them).
    """
    routing = block["routing"]
    confidence = _confidence(routing)
    tick = 0
    for trial in trials:
        trial_seeds = seeds.child(trial.name)
        rng = trial_seeds.child("origins").rng()
        mesh = Mesh(trial.side, trial.side, routing["neighbourhood"], routing["torus"])
        topics = place_topics(mesh, keys, trial_seeds, routing.get("layout") == "semantic")
        tables = build_tables(mesh, keys[topics], block["horizons"].get(trial.name, 1))
        chosen = np.flatnonzero(np.isin(labels, topics))
        if trial.adjacent:  # the bot of the text's topic
            bot_of_topic = {int(t): bot for bot, t in enumerate(topics.tolist())}
            targets = np.array([bot_of_topic[int(labels[s])] for s in chosen], np.int64)
        else:
            targets = oracle_targets(keys[topics], shards[chosen])
        for shard, target in zip(chosen.tolist(), targets.tolist(), strict=True):
            if trial.adjacent:
                origin = int(rng.choice(mesh.neighbours[target]))
            else:
                origin = int(rng.choice([b for b in range(mesh.size) if b != target]))
            result = route(tables, shards[shard], origin, routing["max_hops"], confidence)
            for hop, (a, b) in enumerate(zip(result.path, result.path[1:], strict=False)):
                yield Event(tick, "shard.hop", {"trial": trial.name, "shard": shard,
                                                  "hop": hop + 1, "from": a, "to": b})
            outcome = {"trial": trial.name, "shard": shard, "outcome": result.outcome,
                       "at": result.at, "target": target, "origin": origin,
                       "hops": result.hops, "shortest": int(mesh.hops[origin, target]),
                       "reason": result.reason}
            yield Event(tick, "shard.end", outcome)
            if results is not None:
                results.setdefault(trial.name, []).append(outcome)
            tick += 1


def _summary(outcomes: list[dict[str, Any]]) -> dict[str, float]:
    hit = [o for o in outcomes if o["outcome"] == "delivered" and o["at"] == o["target"]]
    low, high = wilson(len(hit), len(outcomes))
    return {
        "shards": len(outcomes),
        "success_rate": len(hit) / max(len(outcomes), 1),
        "success_low": round(low, 4), "success_high": round(high, 4),
        "path_stretch": float(np.mean([o["hops"] / o["shortest"] for o in hit])) if hit else 0.0,
        "max_hops": max((o["hops"] for o in outcomes), default=0),
        "mean_hops": float(np.mean([o["hops"] for o in outcomes])) if outcomes else 0.0,
        **{f"outcome_{k}": v for k, v in Counter(o["outcome"] for o in outcomes).items()},
    }


def horizon_sweep(block: Mapping[str, Any], keys: Vectors, shards: Vectors,
                  labels: np.ndarray[Any, Any], seeds: Seeds) -> list[dict[str, Any]]:
    """Multi-hop success (Wilson interval), stretch and gossip messages at every horizon.

    On 3x3 and 5x5, from horizon 1 to the mesh's diameter (full knowledge); each horizon
    draws its own placements and origins.
    """
    rows: list[dict[str, Any]] = []
    routing = block["routing"]
    for side in (3, 5):
        mesh = Mesh(side, side, routing["neighbourhood"], routing["torus"])
        diameter = int(mesh.hops.max())
        name = f"multi_hop_{side}x{side}"
        for horizon in range(1, diameter + 1):
            swept = {**block, "horizons": {name: horizon}}
            results: dict[str, list[dict[str, Any]]] = {}
            for _ in _trial_events(swept, keys, shards, labels, seeds.child(f"horizon-{horizon}"),
                                   results, [Trial(name, side, False)]):
                pass
            summary = _summary(results[name])
            rows.append({"mesh": f"{side}x{side}", "horizon": horizon,
                         "full_knowledge": horizon == diameter,
                         **{k: round(float(summary[k]), 4) for k in
                            ("success_rate", "success_low", "success_high", "path_stretch",
                             "mean_hops")},
                         "gossip_messages": RoutingTables(mesh, keys[:mesh.size],
                                                          horizon).messages})
    return rows


def stress(block: Mapping[str, Any], keys: Vectors, shards: Vectors, ctx: RunContext,
           seeds: Seeds) -> dict[str, Any]:
    """Route shards on 5x5 for ``stress.minutes``, sampling resident memory."""
    config = block["stress"]
    rng = seeds.rng()
    mesh = Mesh(5, 5, block["routing"]["neighbourhood"], block["routing"]["torus"])
    process = psutil.Process()
    deadline = time.monotonic() + 60 * float(config["minutes"])
    samples: list[tuple[float, float]] = []
    routed = 0
    start = time.monotonic()
    next_sample = start
    while time.monotonic() < deadline:
        topics = rng.permutation(len(keys))[:mesh.size]  # a fresh table a round: churn
        tables = RoutingTables(mesh, keys[topics], block["horizons"]["multi_hop_5x5"])
        for shard in rng.integers(0, len(shards), 200):
            route(tables, shards[shard], int(rng.integers(0, mesh.size)),
                  block["routing"]["max_hops"], _confidence(block["routing"]))
            routed += 1
        if time.monotonic() >= next_sample:
            rss = process.memory_info().rss / 2**20
            samples.append((time.monotonic() - start, rss))
            ctx.events.emit("stress.sample", ctx.tick, {"routed": routed, "rss_mb": round(rss, 2)})
            next_sample += float(config["sample_seconds"])
    settled = samples[len(samples) // 3:] if len(samples) >= 6 else samples
    slope = 0.0
    if len(settled) >= 2:
        t, rss = np.array(settled).T
        slope = float(np.polyfit(t / 60, rss, 1)[0]) if np.ptp(t) > 0 else 0.0
    return {"minutes": config["minutes"], "routed": routed, "samples": len(samples),
            "rss_first_mb": round(samples[0][1], 1) if samples else 0.0,
            "rss_last_mb": round(samples[-1][1], 1) if samples else 0.0,
            "slope_mb_per_min": slope}


class Phase2:
    """Driver for experiments/phase2.yaml."""

    phase = 2
    replayed_types = ("shard.hop", "shard.end")
    logged_types = {"stress.sample": ("routed", "rss_mb")}  # logged, not re-simulated

    def run(self, ctx: RunContext) -> PhaseResult:
        """Embed, route every trial (logging each hop), sweep, time, stress."""
        block = ctx.spec.block("phase2")
        began = time.perf_counter()
        corpus = embed_corpus(ctx, block)
        embed_seconds = time.perf_counter() - began
        keys, shards, labels = corpus.keys, corpus.shards, corpus.labels
        results: dict[str, list[dict[str, Any]]] = {}
        total = sum(len(np.flatnonzero(np.isin(labels, np.arange(t.side**2))))
                    for t in TRIALS)
        ticks = ctx.ticks(total, "routing shards")
        for event in _trial_events(block, keys, shards, labels, ctx.seeds.child("trials"), results):
            if event.type == "shard.end":
                next(ticks, None)
            ctx.events.write([event])
        for _ in ticks:
            pass
        summaries = {name: _summary(outcomes) for name, outcomes in results.items()}
        (latency,) = bench_embedder(corpus.embedder, (block["latency"]["batch_size"],),
                                    block["latency"]["batches"])
        sweep = horizon_sweep(block, keys, shards, labels, ctx.seeds.child("sweep"))
        strained = stress(block, keys, shards, ctx, ctx.seeds.child("stress"))
        agreement = float(np.mean(oracle_targets(keys, shards) == labels))
        return PhaseResult(
            measured={
                f"{SECTION}.single_hop.success_rate": summaries["single_hop"]["success_rate"],
                f"{SECTION}.single_hop.max_hops": summaries["single_hop"]["max_hops"],
                f"{SECTION}.multi_hop_3x3.success_rate":
                    summaries["multi_hop_3x3"]["success_rate"],
                f"{SECTION}.multi_hop_3x3.path_stretch":
                    summaries["multi_hop_3x3"]["path_stretch"],
                f"{SECTION}.multi_hop_5x5.success_rate":
                    summaries["multi_hop_5x5"]["success_rate"],
                f"{SECTION}.multi_hop_5x5.path_stretch":
                    summaries["multi_hop_5x5"]["path_stretch"],
                f"{SECTION}.embedding.max_latency_ms": latency.p95_ms,
                f"{SECTION}.stress.max_memory_slope_mb_per_min": strained["slope_mb_per_min"],
            },
            figures={"embedder": ctx.manifest_notes["embedder"], "trials": summaries,
                     "horizons": dict(block["horizons"]),
                     "horizon_sweep": sweep, "embedding_latency": asdict(latency),
                     "embedding_load": machine_load(),
                     "embedding_seconds_all": round(embed_seconds, 3),
                     "oracle_agrees_with_topic": round(agreement, 4), "stress": strained},
        )

    def resimulate(
        self, spec: Spec, events: Sequence[Mapping[str, Any]], run_dir: Path
    ) -> Iterator[Event]:
        """Re-route every shard from the stored vectors (no embedder)."""
        stored = load_file(str(run_dir / VECTORS_FILE))
        return _trial_events(spec.block("phase2"), stored["keys"], stored["shards"],
                             stored["labels"], Seeds.of(spec.seed).child("trials"))

    def state_bytes(self, spec: Spec) -> int | None:
        """Routing keeps no grid."""
        return None


DRIVER = Phase2()
