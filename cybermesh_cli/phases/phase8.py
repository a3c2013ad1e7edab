"""Phase 8 (an extension): the mesh as a memory you can query, measured against vector indexes.

Held-out shard texts (a few a topic) become queries; the other texts, each with a few noisy
variants, are stored: routed from random bots over the gossip tables and kept where they are
delivered. The memory then settles (bots' keys move to the mean of what they hold, shards are
routed again; ``shards.memory``). Queries walk the mesh probing the bots best by key
(``shards.memory.recall``). Judged at the judged share of bots probed: recall@k against exact
k-nearest neighbours over everything stored (evicted shards are misses; a bootstrap interval
over the queries), the bots a query visits (its real cost), and the gap to FAISS IVF-flat
trained by its own k-means. Reported at every probe count: hops, bots visited and probed,
distance computations, recall on distinct texts, IVF-flat with the bots' keys as centroids,
HNSW at the efSearch of equal cost, exact search; then other gossip horizons and mesh sizes.
Every store, probe and query result is an event; the vectors are kept with the run, so replay
and ``cybermesh recall`` need no embedding of the corpus.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file

from cybermesh_cli.errors import InputError
from cybermesh_cli.events import Event
from cybermesh_cli.phases.base import PhaseResult, RunContext
from cybermesh_cli.phases.embedding import embed_corpus
from cybermesh_cli.seeds import Seeds
from cybermesh_cli.shards.embedders import Vectors
from cybermesh_cli.shards.memory import exact_knn
from cybermesh_cli.spec import Spec
from cybermesh_cli.world import World, WorldConfig
from cybermesh_cli.world.memory import MEMORY_FILE, MEMORY_META, MemoryLayer, save_memory
from cybermesh_cli.world.shards import ShardLayer
from cybermesh_cli.progress import waiting

SECTION = "phase_8_memory_recall"
PLOT = "recall.png"


@dataclass(frozen=True)
class Store:
    """What is stored (vectors and texts), the held-out queries, and the topics' keys."""

    vectors: Vectors
    texts: list[str]
    queries: Vectors
    query_texts: list[str]
    topic_keys: Vectors


def split_corpus(keys: Vectors, shards: Vectors, labels: np.ndarray[Any, Any],
                 texts: Sequence[str], block: Mapping[str, Any],
                 rng: np.random.Generator) -> Store:
    """Hold out texts a topic as queries; store the rest, each with noisy variants."""
    config = block["store"]
    held_out = np.sort(np.concatenate([
        rng.permutation(np.flatnonzero(labels == t))[:config["held_out_per_topic"]]
        for t in np.unique(labels)]))
    kept = np.setdiff1d(np.arange(len(shards)), held_out)
    parts, names = [shards[kept]], [texts[i] for i in kept]
    for variant in range(1, config["variants"] + 1):
        noise = rng.standard_normal(shards[kept].shape).astype(np.float32)
        noise /= np.linalg.norm(noise, axis=1, keepdims=True)
        moved = shards[kept] + np.float32(config["variant_noise"]) * noise
        parts.append(moved / np.linalg.norm(moved, axis=1, keepdims=True))
        names += [f"{texts[i]} (variant {variant})" for i in kept]
    return Store(np.concatenate(parts).astype(np.float32), names,
                 shards[held_out].astype(np.float32), [texts[i] for i in held_out],
                 keys.astype(np.float32))


def world_block(block: Mapping[str, Any], side: int | None = None,
                horizon: int | None = None) -> dict[str, Any]:
    """Return the spec's world block, at another mesh side or gossip horizon if given."""
    world = json.loads(json.dumps(block["world"]))
    if side is not None:
        world["mesh"].update(rows=side, cols=side)
    if horizon is not None:
        world["routing"]["horizon"] = horizon
    return dict(world)


def filled_world(block: Mapping[str, Any], store: Store, seeds: Seeds,
                 events: list[Event] | None = None, side: int | None = None,
                 horizon: int | None = None) -> World:
    """Build the world, store every vector from a random bot, and let the memory settle.

    The world draws from ``seeds``' ``world`` child, the stores' origins from ``stores``.
    """
    world = World(WorldConfig.from_block(world_block(block, side, horizon)),
                  seeds.child("world"), keys=store.topic_keys, vectors=store.vectors)
    rng = seeds.child("stores").rng()
    for entry in range(len(store.vectors)):
        event = world.remember(entry, int(rng.integers(0, world.mesh.size)))
        if events is not None:
            events.append(event)
    for _ in range(block["consolidation_rounds"]):
        event = world.consolidate()
        if events is not None:
            events.append(event)
    return world


def judged_probe(world: World, fraction: float) -> int:
    """Probe count judged: the given share of the bots, at least one."""
    return max(1, math.floor(fraction * world.mesh.size))


def query_events(world: World, store: Store, block: Mapping[str, Any], probes: Sequence[int],
                 seeds: Seeds) -> Iterator[Event]:
    """Run every query at every probe count, yielding probe and result events."""
    query = block["query"]
    rng = seeds.child("queries").rng()
    layer, shards = _layers(world)
    tick = 0
    for probe in probes:
        for index, vector in enumerate(store.queries):
            origin = int(rng.integers(0, world.mesh.size))
            found = world.recall(vector, origin, query["k"], probe, query["max_hops"])
            keys_seen = set().union(*(shards.tables.tables[b] for b in found.path))
            scanned = sum(len(layer.store.entries(b)) for b in found.probed)
            for bot in found.probed:
                yield Event(tick, "query.probe", {"query": index, "probe": probe, "bot": bot,
                                                  "answer": found.answer(bot)})
            yield Event(tick, "query.end", {
                "query": index, "probe": probe, "origin": origin, "hops": found.hops,
                "visited": found.visited, "probed": len(found.probed),
                "distances": len(keys_seen) + scanned,  # keys compared + entries scanned
                "hits": [h.entry for h in found.hits],
                "bots": [h.bot for h in found.hits]})
            tick += 1


def _layers(world: World) -> tuple[MemoryLayer, ShardLayer]:
    if world.memory is None or world.shards is None:
        raise InputError("phase8.world: the world needs shards and a memory block")
    return world.memory, world.shards


def _truth(world: World, store: Store, k: int) -> list[set[int]]:
    held, _ = _layers(world)[0].store.owners()
    return [set(exact_knn(store.vectors, held, q, k).tolist()) for q in store.queries]


def _recall(found: Sequence[Sequence[int]], truth: Sequence[set[int]], k: int) -> float:
    return float(np.mean(_per_query(found, truth, k)))


def _per_query(found: Sequence[Sequence[int]], truth: Sequence[set[int]], k: int) -> list[float]:
    return [len(set(f) & t) / k for f, t in zip(found, truth, strict=True)]


def recall_interval(per_query: Sequence[float], rng: np.random.Generator,
                    resamples: int = 4000) -> tuple[float, float]:
    """95% percentile-bootstrap interval of mean recall, resampling the queries."""
    values = np.asarray(per_query, float)
    means = rng.choice(values, (resamples, len(values)), replace=True).mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def distinct_recall(found: Sequence[Sequence[int]], truth: Sequence[Sequence[int]],
                    texts: int) -> float:
    """Recall over distinct texts: a variant counts as its text (entry modulo ``texts``)."""
    shares = []
    for hits, best in zip(found, truth, strict=True):
        wanted = {e % texts for e in best}
        shares.append(len({e % texts for e in hits} & wanted) / len(wanted))
    return float(np.mean(shares))


def hnsw_at_equal_cost(store: Store, m: int, k: int, truth: Sequence[set[int]],
                      distances: float) -> dict[str, Any]:
    """Return HNSW over everything stored at the efSearch whose cost matches the mesh's.

    Cost is distance computations a query: the mesh's ``distances`` (keys compared plus
    entries scanned) against FAISS's count; the whole curve over efSearch comes with it.
    """
    import faiss

    hnsw = faiss.IndexHNSWFlat(store.vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    hnsw.add(store.vectors)
    stats = getattr(faiss.cvar, "hnsw_stats")  # FAISS's type stubs omit it
    curve = []
    for ef in (4, 8, 16, 32, 64, 128, 256, 512):
        hnsw.hnsw.efSearch = ef
        stats.reset()
        _, found = hnsw.search(store.queries, k)
        curve.append({"ef_search": ef, "recall": round(_recall(found.tolist(), truth, k), 4),
                      "distances": round(stats.ndis / len(store.queries), 1)})
    matched = min(curve, key=lambda row: abs(row["distances"] - distances))
    return {**matched, "mesh_distances": round(distances, 1), "curve": curve}


def trained_ivf(store: Store, lists: int, k: int, probes: Sequence[int],
                truth: Sequence[set[int]], seed: int) -> list[dict[str, float]]:
    """FAISS IVF-flat trained by FAISS's own k-means (``lists`` lists) over everything stored."""
    import faiss

    dim = store.vectors.shape[1]
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
    ivf.cp.seed = seed
    ivf.train(store.vectors)
    ivf.add(store.vectors)
    rows = []
    for probe in probes:
        ivf.nprobe = probe
        _, found = ivf.search(store.queries, k)
        rows.append({"probe": probe, "recall": round(_recall(found.tolist(), truth, k), 4)})
    return rows


def _mesh_rows(ends: Sequence[Mapping[str, Any]], truth: Sequence[set[int]], k: int,
               probes: Sequence[int]) -> list[dict[str, float]]:
    rows = []
    for probe in probes:
        mine = [e for e in ends if e["probe"] == probe]
        rows.append({"probe": probe, "recall": round(_recall([e["hits"] for e in mine],
                                                              truth, k), 4),
                     "hops": round(float(np.mean([e["hops"] for e in mine])), 2),
                     "visited": round(float(np.mean([e["visited"] for e in mine])), 2),
                     "probed": round(float(np.mean([e["probed"] for e in mine])), 2)})
    return rows


def ivf_rows(world: World, store: Store, k: int, probes: Sequence[int],
             truth: Sequence[set[int]]) -> list[dict[str, float]]:
    """FAISS IVF-flat with the bots' keys as centroids: recall and queries/s at each nprobe."""
    import faiss

    memory, shards = _layers(world)
    held, _ = memory.store.owners()
    dim = store.vectors.shape[1]
    quantizer = faiss.IndexFlatIP(dim)
    quantizer.add(shards.keys)
    ivf = faiss.IndexIVFFlat(quantizer, dim, world.mesh.size, faiss.METRIC_INNER_PRODUCT)
    ivf.is_trained = True  # the centroids are the bots' keys, not trained by FAISS
    ivf.add_with_ids(store.vectors[held], held)
    rows = []
    for probe in probes:
        ivf.nprobe = probe
        began = time.perf_counter()
        _, found = ivf.search(store.queries, k)
        qps = len(store.queries) / (time.perf_counter() - began)
        rows.append({"probe": probe, "recall": round(_recall(found.tolist(), truth, k), 4),
                     "qps": round(qps, 1)})
    return rows


def indexes(world: World, store: Store, block: Mapping[str, Any], probes: Sequence[int],
            truth: Sequence[set[int]]) -> dict[str, Any]:
    """Exact search, IVF-flat on the bots' keys at every nprobe, and HNSW, on the same vectors."""
    import faiss

    k = block["query"]["k"]
    held, _ = _layers(world)[0].store.owners()
    stored, queries = store.vectors[held], store.queries
    began = time.perf_counter()
    scores = queries @ stored.T
    exact = [held[np.argsort(-row, kind="stable")[:k]].tolist() for row in scores]
    exact_qps = len(queries) / (time.perf_counter() - began)
    hnsw_config = block["hnsw"]
    hnsw = faiss.IndexHNSWFlat(stored.shape[1], hnsw_config["m"], faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efSearch = hnsw_config["ef_search"]
    hnsw.add(stored)
    began = time.perf_counter()
    _, found = hnsw.search(queries, k)
    hnsw_qps = len(queries) / (time.perf_counter() - began)
    hnsw_hits = [held[row[row >= 0]].tolist() for row in found]
    return {"exact": {"recall": round(_recall(exact, truth, k), 4), "qps": round(exact_qps, 1)},
            "ivf": ivf_rows(world, store, k, probes, truth),
            "hnsw": {"recall": round(_recall(hnsw_hits, truth, k), 4), "qps": round(hnsw_qps, 1),
                     **hnsw_config}}


def _at_fraction(block: Mapping[str, Any], store: Store, seeds: Seeds, side: int | None,
                 horizon: int | None) -> dict[str, Any]:
    """Mesh and IVF recall at the judged share of bots, for one mesh side and horizon."""
    world = filled_world(block, store, seeds, side=side, horizon=horizon)
    probe = judged_probe(world, block["judge_probe_fraction"])
    k = block["query"]["k"]
    truth = _truth(world, store, k)
    ends = [e.payload for e in query_events(world, store, block, [probe], seeds)
            if e.type == "query.end"]
    mesh = _mesh_rows(ends, truth, k, [probe])[0]
    ivf = ivf_rows(world, store, k, [probe], truth)
    return {"side": world.mesh.rows, "horizon": _layers(world)[1].tables.horizon,
            "bots": world.mesh.size, "probe": probe,
            "recall": mesh["recall"], "ivf_recall": ivf[0]["recall"],
            "hops": mesh["hops"], "visited": mesh["visited"]}


def tier3_effect(block: Mapping[str, Any], keys: Vectors, shards: Vectors, seeds: Seeds
                 ) -> list[dict[str, Any]]:
    """Measure whether pulsing helps the memory under noise: paired worlds, pulsed or not.

    The spec's phase-3 world with a memory and bit-flip noise; pulsed, every bot pulses its
    tile with the adapter for the whole run. Counts what reached a memory, was dropped, and
    was still in flight at the end. A stored shard is a vector in a bot's memory: noise on
    the cells cannot reach it, so the only losses to measure are those of carried shards.
    """
    from cybermesh_cli.paths import resource
    from cybermesh_cli.pulses.adapters import PulseEngine
    from cybermesh_cli.pulses.registry import Registry
    from cybermesh_cli.spec import load_spec

    config = block["tier3"]
    phase3 = load_spec(resource(config["world"])).block("phase3")
    noisy_block = {**phase3, "memory": {"capacity": 64},
                   "shards": {**phase3["shards"], "every": config["inject_every"]}}
    registry = Registry(resource(config["registry"]))
    rows = []
    for rate in config["noise_rates"]:
        for pulsed in (False, True):
            counts: dict[str, int] = {}
            for index in range(config["seeds"]):
                world_config = WorldConfig.from_block(noisy_block,
                                                      noise={"mode": "flip", "rate": rate})
                engine = PulseEngine.for_adapter(registry, config["adapter"], world_config.rule) \
                    if pulsed else None
                # pulsed and unpulsed worlds are paired: the same seeds, so the same noise
                world = World(world_config, seeds.child(f"rate-{rate:g}").child(f"world-{index}"),
                              keys=keys, vectors=shards, engine=engine)
                if world.pulses is not None:
                    for bot in range(world.mesh.size):
                        world.pulses.start(bot, config["adapter"], 0, config["ticks"])
                for event in world.run(config["ticks"]):
                    counts[event.type] = counts.get(event.type, 0) + 1
            injected = counts.get("shard.injected", 0)
            stored, dropped = counts.get("memory.stored", 0), counts.get("shard.dropped", 0)
            rows.append({"noise_rate": rate, "pulsed": pulsed, "worlds": config["seeds"],
                         "injected": injected, "stored": stored, "dropped": dropped,
                         "in_flight": injected - stored - dropped,
                         "carrier_losses": counts.get("shard.handed", 0)})
    return rows


class Phase8:
    """Driver for experiments/memory.yaml."""

    phase = 8
    replayed_types = ("memory.stored", "memory.consolidated", "query.probe", "query.end")
    logged_types = {  # logged, not re-simulated
        "shard.injected": ("shard", "text", "bot"), "shard.dropped": ("shard", "bot", "reason"),
        "shard.handed": ("shard", "carrier", "bot", "reason")}

    def run(self, ctx: RunContext) -> PhaseResult:
        """Embed, store, settle, query at every probe count, compare, sweep, plot."""
        block = ctx.spec.block("phase8")
        corpus = embed_corpus(ctx, block)
        rng = ctx.seeds.child("split").rng()
        store = split_corpus(corpus.keys, corpus.shards, corpus.labels, corpus.texts, block, rng)
        events: list[Event] = []
        world = filled_world(block, store, ctx.seeds.child("memory"), events)
        ctx.events.write(events)
        layer, _ = _layers(world)
        memory = layer.store
        judged = judged_probe(world, block["judge_probe_fraction"])
        save_memory(ctx.dir, layer, store.vectors, store.texts, store.queries,
                    store.topic_keys, {"k": block["query"]["k"],
                                       "max_hops": block["query"]["max_hops"],
                                       "probe": judged, "embedder": dict(block["embedder"]),
                                       "query_texts": store.query_texts})
        probes = sorted({*block["query"]["probes"], judged})
        k = block["query"]["k"]
        ends, qps = [], {}
        began = time.perf_counter()
        for event in query_events(world, store, block, probes, ctx.seeds.child("memory")):
            ctx.events.write([event])
            if event.type == "query.end":
                ends.append(event.payload)
                if event.payload["query"] == len(store.queries) - 1:  # a probe count done
                    qps[event.payload["probe"]] = len(store.queries) / (time.perf_counter()
                                                                         - began)
                    began = time.perf_counter()
        truth = _truth(world, store, k)
        mesh = [{**row, "qps": round(qps[row["probe"]], 1)}
                for row in _mesh_rows(ends, truth, k, probes)]
        compared = indexes(world, store, block, probes, truth)
        horizons = [_at_fraction(block, store, ctx.seeds.child(f"horizon-{h}"), None, h)
                    for h in block["horizons"]]
        sizes = [_at_fraction(block, store, ctx.seeds.child(f"{side}x{side}"), side, None)
                 for side in block["sizes"]]
        with waiting(ctx.console, "tier 3: noisy worlds with and without pulses ..."):
            tier3 = tier3_effect(block, corpus.keys, corpus.shards, ctx.seeds.child("tier3"))
        everything = np.arange(len(store.vectors))
        best_all = [exact_knn(store.vectors, everything, q, k).tolist() for q in store.queries]
        truth_all = [set(b) for b in best_all]
        judged_end = [e for e in ends if e["probe"] == judged]
        judged_hits = [e["hits"] for e in judged_end]
        per_query = _per_query(judged_hits, truth_all, k)
        low, high = recall_interval(per_query, ctx.seeds.child("bootstrap").rng())
        texts = len(store.vectors) // (block["store"]["variants"] + 1)
        ivf_trained = trained_ivf(store, world.mesh.size, k, probes, truth_all,
                                  ctx.seeds.child("kmeans").integer() % 2**31)
        mesh_all = {int(row["probe"]): _recall([e["hits"] for e in ends
                                                if e["probe"] == row["probe"]],
                                          truth_all, k) for row in mesh}
        trained_gap = max(i["recall"] - mesh_all[int(i["probe"])] for i in ivf_trained)
        visited = float(np.mean([e["visited"] for e in judged_end]))
        distances = float(np.mean([e["distances"] for e in judged_end]))
        hnsw_matched = hnsw_at_equal_cost(store, block["hnsw"]["m"], k, truth_all, distances)
        judged_recall = {
            "against_everything_stored": round(float(np.mean(per_query)), 4),
            "ci95": [round(low, 4), round(high, 4)],
            "against_what_is_held": next(m["recall"] for m in mesh if m["probe"] == judged),
            "distinct_texts": round(distinct_recall(judged_hits, best_all, texts), 4),
            "bots_visited": round(visited, 2), "bots_visited_fraction":
                round(visited / world.mesh.size, 4),
            "hops": round(float(np.mean([e["hops"] for e in judged_end])), 2)}
        figures = {"stored": len(store.vectors), "queries": len(store.queries),
                   "judged": judged_recall, "ivf_trained": ivf_trained,
                   "hnsw_at_equal_cost": hnsw_matched,
                   "recall_of_everything_stored": judged_recall["against_everything_stored"],
                   "held": len(memory), "evicted": memory.evicted,
                   "capacity": memory.capacity, "bots": world.mesh.size,
                   "judged_probe": judged, "mesh": mesh, **compared,
                   "horizons": horizons, "sizes": sizes, "tier3": tier3}
        from cybermesh_cli.phases.phase8_plots import plot_recall

        plot_recall(ctx.dir / PLOT, mesh, compared["ivf"], ivf_trained, mesh_all, sizes,
                    horizons, world.mesh.size)
        return PhaseResult(
            measured={
                f"{SECTION}.recall.min_recall_at_10_lower_ci": low,
                f"{SECTION}.cost.max_bots_visited_fraction": visited / world.mesh.size,
                f"{SECTION}.ivf.max_recall_gap_trained": trained_gap,
            },
            figures=figures, plots=[PLOT])

    def resimulate(
        self, spec: Spec, events: Sequence[Mapping[str, Any]], run_dir: Path
    ) -> Iterator[Event]:
        """Store, settle and query again from the kept vectors (no embedder)."""
        block = spec.block("phase8")
        kept = load_file(str(run_dir / MEMORY_FILE))
        meta = json.loads((run_dir / MEMORY_META).read_text())
        store = Store(kept["vectors"], meta["texts"], kept["queries"], meta["query_texts"],
                      kept["topic_keys"])
        world_events: list[Event] = []
        seeds = Seeds.of(spec.seed).child("memory")
        world = filled_world(block, store, seeds, world_events)
        judged = judged_probe(world, block["judge_probe_fraction"])
        yield from world_events
        yield from query_events(world, store, block, sorted({*block["query"]["probes"], judged}),
                                seeds)

    def state_bytes(self, spec: Spec) -> int | None:
        """Return None: the memory keeps no grid dump."""
        return None


DRIVER = Phase8()
