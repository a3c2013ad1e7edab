"""Recall: bots keep what is delivered, queries probe the bots best by key (issue 17).

The query protocol is checked against exact search and against FAISS's IVF-flat, an
independent implementation of the same inverted-file search, where both must agree exactly.
"""

from tests.conftest import needs

needs("ml", "index")

import json
import shutil

import faiss
import numpy as np
import pytest

from cybermesh_cli.shards.memory import Memory, exact_knn, recall
from cybermesh_cli.shards.routing import RoutingTables
from cybermesh_cli.topology import Mesh
from cybermesh_cli.world import World, WorldConfig
from tests.conftest import cli, run_spec, tampered_copy


def _unit(rows):
    rows = np.asarray(rows, np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_memory_keeps_at_most_capacity_and_evicts_the_oldest():
    memory = Memory(2, capacity=3)
    evicted = [memory.store(0, entry) for entry in range(5)]
    assert evicted == [None, None, None, 0, 1] and memory.entries(0) == [2, 3, 4]
    memory.store(1, 9)
    entries, owners = memory.owners()
    again = Memory.from_owners(2, 3, entries, owners)
    assert [again.entries(b) for b in (0, 1)] == [[2, 3, 4], [9]]
    assert (memory.stored, memory.evicted, len(memory)) == (6, 2, 4)


def _nearest_lists(keys, vectors):
    memory = Memory(len(keys), capacity=10_000)
    for entry, bot in enumerate(np.argmax(vectors @ keys.T, axis=1).tolist()):
        memory.store(bot, entry)
    return memory


@pytest.mark.parametrize("probe", [1, 3, 8, 25])
def test_full_knowledge_recall_equals_faiss_ivf_flat_with_the_bots_keys(probe):
    rng = np.random.default_rng(probe)
    mesh = Mesh(5, 5, 8, True)
    keys = _unit(rng.normal(size=(25, 16)))
    vectors = _unit(rng.normal(size=(600, 16)))
    queries = _unit(rng.normal(size=(30, 16)))
    memory = _nearest_lists(keys, vectors)
    tables = RoutingTables(mesh, keys, int(mesh.hops.max()))
    quantizer = faiss.IndexFlatIP(16)
    quantizer.add(keys)
    ivf = faiss.IndexIVFFlat(quantizer, 16, 25, faiss.METRIC_INNER_PRODUCT)
    ivf.is_trained = True
    ivf.add_with_ids(vectors, np.arange(600))
    ivf.nprobe = probe
    _, expected = ivf.search(queries, 10)
    for index, query in enumerate(queries):
        found = recall(tables, memory, vectors, query, int(rng.integers(25)), 10, probe, 500)
        assert len(found.probed) == probe
        assert [h.entry for h in found.hits] == expected[index].tolist()
        if probe == 25:
            held = np.arange(600)
            assert [h.entry for h in found.hits] == exact_knn(vectors, held, query, 10).tolist()


def test_local_knowledge_probes_only_bots_it_has_heard_of_and_walks_to_them():
    rng = np.random.default_rng(1)
    mesh = Mesh(8, 8, 8, True)
    keys = _unit(rng.normal(size=(64, 16)))
    vectors = _unit(rng.normal(size=(400, 16)))
    memory = _nearest_lists(keys, vectors)
    tables = RoutingTables(mesh, keys, 1)
    found = recall(tables, memory, vectors, vectors[0], 0, 5, 4, 200)
    assert set(found.probed) <= set(found.path)  # a bot is probed where the query stands
    assert all(mesh.hops[a, b] == 1 for a, b in zip(found.path, found.path[1:]))
    assert [h.similarity for h in found.hits] == sorted((h.similarity for h in found.hits),
                                                         reverse=True)
    for bot in found.probed:  # each probed bot answers with its own 5 best, best first
        held = np.array(memory.entries(bot))
        best = held[np.argsort(-(vectors[held] @ vectors[0]), kind="stable")[:5]]
        assert found.answer(bot) == best.tolist()


def _memory_world(horizon=2):
    rng = np.random.default_rng(0)
    topics = _unit(rng.normal(size=(6, 16)))
    vectors = _unit(np.repeat(topics, 20, axis=0) + 0.3 * rng.normal(size=(120, 16)))
    block = {"rule": "B3/S23", "mesh": {"rows": 4, "cols": 4, "tile": 16},
             "routing": {"horizon": horizon, "max_relaunches": 3, "layout": "semantic"},
             "shards": {"every": 1, "per_bot": 0}, "memory": {"capacity": 50}}
    return World(WorldConfig.from_block(block), 3, keys=topics, vectors=vectors), vectors


def test_the_world_remembers_and_consolidation_moves_keys_to_what_bots_hold():
    world, vectors = _memory_world()
    for entry in range(len(vectors)):
        stored = world.remember(entry, entry % 16)
        assert stored.type == "memory.stored" and stored.payload["outcome"] == "delivered"
    before_entries, before_owners = world.memory.store.owners()
    event = world.consolidate()
    assert event.payload["held"] == 120 and len(world.memory.store) == 120
    for bot in np.unique(before_owners).tolist():
        mean = vectors[before_entries[before_owners == bot]].mean(axis=0)
        assert np.allclose(world.shards.keys[bot], mean / np.linalg.norm(mean), atol=1e-6)
    found = world.recall(vectors[5], 0, 10, 16, 200)
    assert [h.entry for h in found.hits] == exact_knn(vectors, np.arange(120), vectors[5],
                                                      10).tolist()


@pytest.fixture(scope="module")
def memory_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("memory")
    # The finding (issue 24): judged against everything stored, at the cost it really pays
    # (bots visited) and beside an IVF trained by FAISS's own k-means, the mesh misses all three
    # goals: recall@10 about 0.91 (lower bound 0.88), a quarter of the bots visited, and up to
    # 0.06 below the trained IVF.
    return root, run_spec(root, "memory.yaml", failing=(
        "recall.min_recall_at_10_lower_ci", "cost.max_bots_visited_fraction",
        "ivf.max_recall_gap_trained"))


@pytest.mark.slow
def test_memory_experiment_judges_its_goals_and_writes_recall_png(memory_run):
    _, run = memory_run
    metrics = json.loads((run / "metrics.json").read_text())
    assert len(metrics["criteria"]) == 3
    figures = metrics["figures"]
    judged = figures["judged"]
    low, high = judged["ci95"]
    assert low <= judged["against_everything_stored"] <= high
    assert judged["against_everything_stored"] <= judged["against_what_is_held"]
    assert 0 < judged["distinct_texts"] <= 1 and judged["bots_visited"] >= 10  # 10 probed
    assert [r["probe"] for r in figures["ivf_trained"]] == [1, 2, 3, 5, 10, 20]
    hnsw = figures["hnsw_at_equal_cost"]  # the efSearch whose cost is nearest the mesh's
    gaps = [abs(r["distances"] - hnsw["mesh_distances"]) for r in hnsw["curve"]]
    assert abs(hnsw["distances"] - hnsw["mesh_distances"]) == min(gaps)
    assert hnsw["mesh_distances"] > 0 and 0 < hnsw["recall"] <= 1
    assert figures["stored"] == 3200 and figures["held"] + figures["evicted"] == 3200
    assert figures["recall_of_everything_stored"] <= figures["mesh"][4]["recall"]
    assert [m["probe"] for m in figures["mesh"]] == [1, 2, 3, 5, 10, 20]
    assert figures["exact"]["recall"] == 1.0 and 0 < figures["hnsw"]["recall"] <= 1
    assert [r["bots"] for r in figures["sizes"]] == [25, 100, 400, 1024]
    assert (run / "recall.png").stat().st_size > 10_000
    tier3 = figures["tier3"]
    assert [(r["noise_rate"], r["pulsed"]) for r in tier3] == [
        (0.0005, False), (0.0005, True), (0.002, False), (0.002, True)]
    for row in tier3:  # every injected shard is stored, dropped or still in flight
        assert row["stored"] + row["dropped"] + row["in_flight"] == row["injected"] > 0
        assert min(row["stored"], row["dropped"], row["in_flight"]) >= 0


@pytest.mark.slow
def test_recall_cli_returns_k_hits_with_text_bot_similarity_and_hops(memory_run):
    root, run = memory_run
    done = cli("recall", str(run), "ships crossing the ocean", "--k", "7", "--json", cwd=root)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert len(result["hits"]) == 7 and result["probe"] == 10
    assert {"text", "bot", "similarity", "hops"} <= set(result["hits"][0])
    similarities = [h["similarity"] for h in result["hits"]]
    assert similarities == sorted(similarities, reverse=True)


@pytest.mark.slow
def test_recall_cli_answers_several_queries_with_one_embedder_and_prints_markup_as_is(
        memory_run):
    root, run = memory_run
    queries = ("ships crossing the ocean", "a [bold]storm[/bold] at sea [/]")
    done = cli("recall", str(run), *queries, "--k", "3", "--json", cwd=root)
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["query"] for a in answers] == list(queries)
    assert all(len(a["hits"]) == 3 for a in answers)
    shown = cli("recall", str(run), *queries, "--k", "3", cwd=root)
    assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr
    assert "[bold]storm[/bold] at sea [/]" in shown.stdout


@pytest.mark.parametrize(("args", "message"), [
    (("--origin", "100"), "--origin 100: the mesh has bots 0 to 99"),
])
@pytest.mark.slow
def test_recall_cli_bad_input_is_one_line(memory_run, args, message):
    root, run = memory_run
    done = cli("recall", str(run), "text", *args, cwd=root)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_recall_on_a_run_without_memory_is_one_line(phase0_spec, tmp_path):
    assert cli("run", str(phase0_spec), cwd=tmp_path).returncode == 0
    (run,) = (tmp_path / "runs").iterdir()
    done = cli("recall", str(run), "text", cwd=tmp_path)
    assert done.returncode == 2 and "not a memory run" in done.stderr


@pytest.mark.slow
def test_replay_verifies_every_query_event_and_names_a_changed_hit(memory_run):
    root, run = memory_run
    done = cli("replay", str(run), cwd=root)
    assert done.returncode == 0, done.stdout
    lines = (run / "events.jsonl").read_bytes().splitlines()
    replayed = sum(1 for line in lines if any(t in line for t in (
        b'"query.end"', b'"query.probe"', b'"memory.stored"', b'"memory.consolidated"')))
    assert f"re-simulation verified {replayed} events" in done.stdout
    copy, line, event = tampered_copy(
        run, lambda b: b'"query.end"' in b,
        lambda e: e["payload"]["hits"].__setitem__(0, e["payload"]["hits"][0] + 1))
    done = cli("replay", str(copy), cwd=root)
    assert done.returncode == 1 and f"line {line}, query.end" in done.stdout


def _interrupted_copy(run, target, keep_memory):
    """Copy a memory run as a signal leaves it: in its queries, or before it saved its memory.

    The log is cut there and ends in run.end status interrupted; the manifest says so; there
    are no criteria.
    """
    shutil.copytree(run, target)
    lines = (target / "events.jsonl").read_bytes().splitlines(keepends=True)
    if keep_memory:
        cut = [i for i, line in enumerate(lines) if b'"query.end"' in line][40]
    else:  # the world's events are logged, then the memory is saved, then the queries run
        cut = next(i for i, line in enumerate(lines) if b'"query.probe"' in line) - 1
    end = json.loads(lines[-1])
    end.update(seq=cut + 1, tick=json.loads(lines[cut])["tick"])
    end["payload"].update(status="interrupted", events=cut + 2)
    (target / "events.jsonl").write_bytes(b"".join(lines[:cut + 1]) + json.dumps(end).encode()
                                          + b"\n")
    manifest = json.loads((target / "manifest.json").read_text())
    (target / "manifest.json").write_text(json.dumps({**manifest, "status": "interrupted"}))
    (target / "metrics.json").unlink()
    if not keep_memory:
        for name in ("memory.safetensors", "memory.json"):
            (target / name).unlink()
    return target


@pytest.mark.slow
def test_an_interrupted_memory_run_replays_its_prefix_and_recall_says_so(memory_run, tmp_path):
    root, run = memory_run
    saved = _interrupted_copy(run, tmp_path / "saved", keep_memory=True)
    done = cli("replay", str(saved), cwd=tmp_path)
    assert done.returncode == 0 and "interrupted" in done.stdout, done.stdout + done.stderr
    lines = (saved / "events.jsonl").read_bytes().splitlines()
    replayed = sum(1 for line in lines if any(t in line for t in (
        b'"query.end"', b'"query.probe"', b'"memory.stored"', b'"memory.consolidated"')))
    assert f"re-simulation verified {replayed} events" in done.stdout
    asked = cli("recall", str(saved), "a query", "--json", cwd=tmp_path)
    assert asked.returncode == 0 and "was interrupted after it saved its memory" in asked.stderr
    assert len(json.loads(asked.stdout)["hits"]) == 10
    early = _interrupted_copy(run, tmp_path / "early", keep_memory=False)
    done = cli("replay", str(early), cwd=tmp_path)
    assert done.returncode == 0 and "ended before it saved what re-simulation needs" in \
        done.stdout, done.stdout + done.stderr
    asked = cli("recall", str(early), "a query", cwd=tmp_path)
    assert asked.returncode == 2 and "interrupted before it saved its memory" in asked.stderr


def test_a_memory_that_forgets_fails_recall_against_everything_stored():
    """Check the judged recall counts evicted shards as misses, as a forgetful memory shows.

    Bots holding 2 shards each evict most of what was stored: judged against what is still
    held the mesh looks perfect; against everything stored it fails the bar.
    """
    from cybermesh_cli.criteria import load_thresholds
    from cybermesh_cli.phases.phase8 import (
        Store,
        _per_query,
        _truth,
        filled_world,
        query_events,
        recall_interval,
    )
    from cybermesh_cli.seeds import Seeds
    from cybermesh_cli.spec import load_spec
    from tests.conftest import REPO

    rng = np.random.default_rng(4)
    topics = _unit(rng.standard_normal((30, 24)))
    vectors = _unit(topics[rng.integers(0, 30, 600)] + 0.3 * rng.standard_normal((600, 24)))
    queries = _unit(topics[rng.integers(0, 30, 40)] + 0.3 * rng.standard_normal((40, 24)))
    store = Store(vectors, [str(i) for i in range(600)], queries, [], topics)
    block = load_spec(REPO / "experiments" / "memory.yaml").block("phase8")
    bar = load_thresholds()["phase_8_memory_recall"]["recall"]["min_recall_at_10_lower_ci"]

    def judged(capacity):
        forgetful = {**block, "world": {**block["world"], "mesh": {"rows": 5, "cols": 5,
                                                                   "tile": 16},
                                        "memory": {"capacity": capacity}}}
        world = filled_world(forgetful, store, Seeds.of(3))
        ends = [e.payload for e in query_events(world, store, forgetful, [25], Seeds.of(3))
                if e.type == "query.end"]
        hits = [e["hits"] for e in ends]
        everything = [set(exact_knn(vectors, np.arange(600), q, 10).tolist()) for q in queries]
        held = np.mean(_per_query(hits, _truth(world, store, 10), 10))
        low, _ = recall_interval(_per_query(hits, everything, 10), Seeds.of(1).rng())
        return world.memory.store.evicted, held, low

    evicted, held, low = judged(capacity=64)  # room for everything: 600 in 25 bots
    assert evicted == 0 and held == 1.0 and low >= bar  # all 25 bots probed: exact
    evicted, held, low = judged(capacity=2)
    assert evicted >= 500 and held == 1.0 and low < bar
