"""Phase 8 (an extension): the mesh as a memory you can query, measured against vector indexes.

Held-out shard texts (a few a topic) become queries; the other texts, each with a few noisy
variants, are stored: routed from random bots over the gossip tables and kept where they are
delivered. The memory then settles (bots' keys move to the mean of what they hold, shards are
routed again; ``shards.memory``). Queries walk the mesh probing the bots best by key
(``shards.memory.recall``). Measured against exact k-nearest neighbours over everything
stored: recall@k and hops, bots visited and probed per query, at every probe count, beside
FAISS IVF-flat with the bots' keys as centroids at the same ``nprobe``, and HNSW; then at other
gossip horizons and mesh sizes. Every store, probe and query result is an event; the vectors
are kept with the run, so replay and ``cybermesh recall`` need no embedding of the corpus.
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
from safetensors.numpy import load_file, save_file

from cybermesh_cli.errors import InputError
from cybermesh_cli.events import Event
from cybermesh_cli.phases.base import PhaseResult, RunContext
from cybermesh_cli.phases.embedding import embed_corpus
from cybermesh_cli.shards.embedders import Vectors
from cybermesh_cli.shards.memory import Memory, Recall, exact_knn, recall
from cybermesh_cli.shards.routing import RoutingTables
from cybermesh_cli.spec import Spec
from cybermesh_cli.topology import Mesh
from cybermesh_cli.world import World, WorldConfig
from cybermesh_cli.world.shards import ShardLayer

SECTION = "phase_8_memory_recall"
MEMORY_FILE = "memory.safetensors"
MEMORY_META = "memory.json"
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


def filled_world(block: Mapping[str, Any], store: Store, seed: int,
                 events: list[Event] | None = None, side: int | None = None,
                 horizon: int | None = None) -> World:
    """Build the world, store every vector from a random bot, and let the memory settle."""
    world = World(WorldConfig.from_block(world_block(block, side, horizon)), seed,
                  keys=store.topic_keys, vectors=store.vectors)
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[0])
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
                 seed: int) -> Iterator[Event]:
    """Run every query at every probe count, yielding probe and result events."""
    query = block["query"]
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1])
    tick = 0
    for probe in probes:
        for index, vector in enumerate(store.queries):
            origin = int(rng.integers(0, world.mesh.size))
            found = world.recall(vector, origin, query["k"], probe, query["max_hops"])
            for bot in found.probed:
                yield Event(tick, "query.probe", {"query": index, "probe": probe, "bot": bot,
                                                  "answer": found.answer(bot)})
            yield Event(tick, "query.end", {
                "query": index, "probe": probe, "origin": origin, "hops": found.hops,
                "visited": found.visited, "probed": len(found.probed),
                "hits": [h.entry for h in found.hits],
                "bots": [h.bot for h in found.hits]})
            tick += 1


def _layers(world: World) -> tuple[Memory, ShardLayer]:
    if world.memory is None or world.shards is None:
        raise InputError("phase8.world: the world needs shards and a memory block")
    return world.memory, world.shards


def _truth(world: World, store: Store, k: int) -> list[set[int]]:
    held, _ = _layers(world)[0].owners()
    return [set(exact_knn(store.vectors, held, q, k).tolist()) for q in store.queries]


def _recall(found: Sequence[Sequence[int]], truth: Sequence[set[int]], k: int) -> float:
    return float(np.mean([len(set(f) & t) / k for f, t in zip(found, truth, strict=True)]))


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
    held, _ = memory.owners()
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
    held, _ = _layers(world)[0].owners()
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


def _at_fraction(block: Mapping[str, Any], store: Store, seed: int, side: int | None,
                 horizon: int | None) -> dict[str, Any]:
    """Mesh and IVF recall at the judged share of bots, for one mesh side and horizon."""
    world = filled_world(block, store, seed, side=side, horizon=horizon)
    probe = judged_probe(world, block["judge_probe_fraction"])
    k = block["query"]["k"]
    truth = _truth(world, store, k)
    ends = [e.payload for e in query_events(world, store, block, [probe], seed)
            if e.type == "query.end"]
    mesh = _mesh_rows(ends, truth, k, [probe])[0]
    ivf = ivf_rows(world, store, k, [probe], truth)
    return {"side": world.mesh.rows, "horizon": _layers(world)[1].tables.horizon,
            "bots": world.mesh.size, "probe": probe,
            "recall": mesh["recall"], "ivf_recall": ivf[0]["recall"],
            "hops": mesh["hops"], "visited": mesh["visited"]}


def tier3_effect(block: Mapping[str, Any], keys: Vectors, shards: Vectors
                 ) -> list[dict[str, Any]]:
    """Measure whether pulsing helps the memory under noise: paired worlds, pulsed or not.

    The spec's phase-3 world with a memory and bit-flip noise; pulsed, every bot pulses its
    tile with the adapter for the whole run. Counts what reached a memory, was dropped, and
    was still in flight at the end. A stored shard is a vector in a bot's memory: noise on
    the cells cannot reach it, so the only losses to measure are those of carried shards.
    """
    from cybermesh_cli.paths import resource
    from cybermesh_cli.pulses.adapters import PulseEngine
    from cybermesh_cli.pulses.nca import NeuralCA
    from cybermesh_cli.pulses.registry import Registry
    from cybermesh_cli.spec import load_spec

    config = block["tier3"]
    phase3 = load_spec(resource(config["world"])).block("phase3")
    noisy_block = {**phase3, "memory": {"capacity": 64},
                   "shards": {**phase3["shards"], "every": config["inject_every"]}}
    registry = Registry(resource(config["registry"]))
    hidden = int(registry.info(config["adapter"]).training["hidden"])
    rows = []
    for rate in config["noise_rates"]:
        for pulsed in (False, True):
            counts: dict[str, int] = {}
            for seed in range(config["seeds"]):
                world_config = WorldConfig.from_block(noisy_block,
                                                      noise={"mode": "flip", "rate": rate})
                engine = PulseEngine(NeuralCA(world_config.rule, hidden), registry) \
                    if pulsed else None
                world = World(world_config, seed, keys=keys, vectors=shards, engine=engine)
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


def save_memory(folder: Path, world: World, store: Store, block: Mapping[str, Any]) -> None:
    """Keep what `cybermesh recall` needs: vectors, bots' keys, who holds what, the texts."""
    memory, shards = _layers(world)
    held, owners = memory.owners()
    save_file({"vectors": store.vectors, "keys": shards.keys, "held": held,
               "owners": owners, "queries": store.queries, "topic_keys": store.topic_keys},
              str(folder / MEMORY_FILE))
    routing = shards.tables
    (folder / MEMORY_META).write_text(json.dumps({
        "rows": world.mesh.rows, "cols": world.mesh.cols, "neighbourhood": 8, "torus": True,
        "horizon": routing.horizon, "capacity": memory.capacity,
        "k": block["query"]["k"], "max_hops": block["query"]["max_hops"],
        "probe": judged_probe(world, block["judge_probe_fraction"]),
        "embedder": dict(block["embedder"]), "texts": store.texts,
        "query_texts": store.query_texts}, indent=1))


@dataclass(frozen=True)
class RunMemory:
    """A finished run's memory, ready to query: tables, who holds what, vectors, texts."""

    tables: RoutingTables
    memory: Memory
    vectors: Vectors
    texts: list[str]
    meta: dict[str, Any]

    def query(self, vector: Vectors, origin: int, k: int, probe: int) -> Recall:
        """Route one query vector through the run's mesh (see :func:`shards.memory.recall`)."""
        if not 0 <= origin < self.tables.mesh.size:
            raise InputError(f"--origin {origin}: the mesh has bots 0 to "
                             f"{self.tables.mesh.size - 1}")
        return recall(self.tables, self.memory, self.vectors, vector, origin, k, probe,
                      int(self.meta["max_hops"]))


def open_memory(folder: Path) -> RunMemory:
    """Load what :func:`save_memory` kept in a run folder; one line if it is not there."""
    if not (folder / MEMORY_FILE).is_file() or not (folder / MEMORY_META).is_file():
        raise InputError(f"{folder}: not a memory run (it needs {MEMORY_FILE} and "
                         f"{MEMORY_META}; run experiments/memory.yaml)")
    try:
        kept = load_file(str(folder / MEMORY_FILE))
        meta = json.loads((folder / MEMORY_META).read_text())
        mesh = Mesh(meta["rows"], meta["cols"], meta["neighbourhood"], meta["torus"])
        tables = RoutingTables(mesh, kept["keys"], meta["horizon"])
        memory = Memory.from_owners(mesh.size, meta["capacity"], kept["held"], kept["owners"])
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        raise InputError(f"{folder}: unreadable memory ({exc})") from None
    return RunMemory(tables, memory, kept["vectors"], list(meta["texts"]), meta)


class Phase8:
    """Driver for experiments/memory.yaml."""

    phase = 8
    replayed_types = ("memory.stored", "memory.consolidated", "query.probe", "query.end")

    def run(self, ctx: RunContext) -> PhaseResult:
        """Embed, store, settle, query at every probe count, compare, sweep, plot."""
        block = ctx.spec.block("phase8")
        corpus = embed_corpus(ctx, block)
        rng = np.random.default_rng(ctx.seeds(1)[0])
        store = split_corpus(corpus.keys, corpus.shards, corpus.labels, corpus.texts, block, rng)
        events: list[Event] = []
        world = filled_world(block, store, ctx.spec.seed, events)
        for event in events:
            ctx.events.emit(event.type, event.tick, event.payload)
        memory, _ = _layers(world)
        save_memory(ctx.dir, world, store, block)
        judged = judged_probe(world, block["judge_probe_fraction"])
        probes = sorted({*block["query"]["probes"], judged})
        k = block["query"]["k"]
        ends, qps = [], {}
        began = time.perf_counter()
        for event in query_events(world, store, block, probes, ctx.spec.seed):
            ctx.events.emit(event.type, event.tick, event.payload)
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
        gaps = [i["recall"] - m["recall"] for i, m in zip(compared["ivf"], mesh, strict=True)]
        horizons = [_at_fraction(block, store, ctx.spec.seed, None, h)
                    for h in block["horizons"]]
        sizes = [_at_fraction(block, store, ctx.spec.seed, side, None)
                 for side in block["sizes"]]
        with ctx.console.status("tier 3: noisy worlds with and without pulses ..."):
            tier3 = tier3_effect(block, corpus.keys, corpus.shards)
        everything = np.arange(len(store.vectors))
        truth_all = [set(exact_knn(store.vectors, everything, q, k).tolist())
                     for q in store.queries]
        judged_hits = [e["hits"] for e in ends if e["probe"] == judged]
        figures = {"stored": len(store.vectors), "queries": len(store.queries),
                   "recall_of_everything_stored": round(_recall(judged_hits, truth_all, k), 4),
                   "held": len(memory), "evicted": memory.evicted,
                   "capacity": memory.capacity, "bots": world.mesh.size,
                   "judged_probe": judged, "mesh": mesh, **compared,
                   "horizons": horizons, "sizes": sizes, "tier3": tier3}
        from cybermesh_cli.phases.phase8_plots import plot_recall

        plot_recall(ctx.dir / PLOT, mesh, compared["ivf"], sizes, horizons, world.mesh.size)
        return PhaseResult(
            measured={
                f"{SECTION}.recall.min_recall_at_10": next(m["recall"] for m in mesh
                                                           if m["probe"] == judged),
                f"{SECTION}.ivf.max_recall_gap": max(gaps),
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
        world = filled_world(block, store, spec.seed, world_events)
        judged = judged_probe(world, block["judge_probe_fraction"])
        yield from world_events
        yield from query_events(world, store, block, sorted({*block["query"]["probes"], judged}),
                                spec.seed)

    def state_bytes(self, spec: Spec) -> int | None:
        """Return None: the memory keeps no grid dump."""
        return None


DRIVER = Phase8()
