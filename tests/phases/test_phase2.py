"""Phase 2 end to end with the local (offline MiniLM) backend; replay re-routes every hop."""

from tests.conftest import needs

needs("ml")

import json

import numpy as np
import pytest

from cybermesh_cli.criteria import load_thresholds
from cybermesh_cli.phases.phase2 import _summary, _trial_events
from cybermesh_cli.seeds import Seeds
from cybermesh_cli.shards.routing import RoutingTables
from cybermesh_cli.spec import load_spec
from tests.conftest import REPO, cli, run_spec, tampered_copy


@pytest.fixture(scope="module")
def phase2_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("phase2")
    # The finding (issue 24): judged against the bot of its own topic, a shard next to it is
    # delivered there about 87% of the time (the policy asks 95%), and hops are measured (the
    # TTL is 40): an unconfident shard explores up to 12 hops where 10 are allowed.
    return root, run_spec(root, "phase2.yaml", "--set", "phase2.stress.minutes=0.1",
                          failing=("single_hop.success_rate", "single_hop.max_hops"))


def test_criteria_judged_on_held_out_shard_texts(phase2_run):
    _, run = phase2_run
    metrics = json.loads((run / "metrics.json").read_text())
    assert len(metrics["criteria"]) == 8
    trials = metrics["figures"]["trials"]
    # the single-hop miss rate is about what the embedding gets wrong, not the routing
    agreement = metrics["figures"]["oracle_agrees_with_topic"]
    assert abs(trials["single_hop"]["success_rate"] - agreement) < 0.1
    assert trials["single_hop"]["shards"] == 500 and trials["multi_hop_3x3"]["shards"] == 180
    assert metrics["figures"]["horizons"] == {"single_hop": 1, "multi_hop_3x3": 1,
                                              "multi_hop_5x5": 2}
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["embedder"]["backend"] == "local" and manifest["embedder"]["dim"] == 384
    assert metrics["figures"]["stress"]["samples"] >= 3


def test_the_horizon_sweep_reaches_full_knowledge_and_partial_knowledge_costs(phase2_run):
    _, run = phase2_run
    sweep = json.loads((run / "metrics.json").read_text())["figures"]["horizon_sweep"]
    assert [(r["mesh"], r["horizon"]) for r in sweep] == [
        ("3x3", 1), ("3x3", 2), ("5x5", 1), ("5x5", 2), ("5x5", 3), ("5x5", 4)]
    for row in sweep:
        assert 0 <= row["success_low"] <= row["success_rate"] <= row["success_high"] <= 1
        if row["full_knowledge"]:
            assert row["success_rate"] == 1 and row["path_stretch"] == 1
    five = [r for r in sweep if r["mesh"] == "5x5"]
    assert five[0]["success_rate"] < five[-1]["success_rate"]  # horizon 1 misses some
    assert [r["gossip_messages"] for r in five] == sorted(r["gossip_messages"] for r in five)


def test_replay_reroutes_from_stored_vectors_and_names_a_bad_hop(phase2_run):
    root, run = phase2_run
    done = cli("replay", str(run), cwd=root)
    assert done.returncode == 0, done.stdout
    hops = sum(1 for line in (run / "events.jsonl").read_bytes().splitlines()
               if b'"shard.hop"' in line or b'"shard.end"' in line)
    assert f"re-simulation verified {hops} events" in done.stdout
    copy, line, event = tampered_copy(
        run, lambda b: b'"shard.hop"' in b and b'"trial":"multi_hop_5x5"' in b,
        lambda e: e["payload"].__setitem__("to", (e["payload"]["to"] + 1) % 25))
    done = cli("replay", str(copy), cwd=root)
    assert done.returncode == 1
    assert f"diverged at tick {event['tick']}, line {line}, shard.hop" in done.stdout


def test_a_corrupted_routing_table_fails_the_routing_criteria():
    """The criteria can fail: bots that advertise the wrong keys miss single and multi hops."""
    rng = np.random.default_rng(5)
    topics, per_topic = 25, 8
    keys = rng.standard_normal((topics, 32)).astype(np.float32)
    keys /= np.linalg.norm(keys, axis=1, keepdims=True)
    labels = np.repeat(np.arange(topics), per_topic)
    shards = keys[labels] + 0.05 * rng.standard_normal((len(labels), 32)).astype(np.float32)
    shards /= np.linalg.norm(shards, axis=1, keepdims=True)
    block = load_spec(REPO / "experiments" / "phase2.yaml").block("phase2")

    def summaries(build):
        results = {}
        for _ in _trial_events(block, keys, shards, labels, Seeds.of(1), results,
                               build_tables=build):
            pass
        return {name: _summary(outcomes) for name, outcomes in results.items()}

    def corrupted(mesh, bot_keys, horizon):
        shuffled = np.random.default_rng(0).permutation(len(bot_keys))
        return RoutingTables(mesh, bot_keys[shuffled], horizon)

    bars = load_thresholds()["phase_2_shard_routing"]
    good, bad = summaries(RoutingTables), summaries(corrupted)
    for trial in ("single_hop", "multi_hop_3x3", "multi_hop_5x5"):
        bar = bars[trial]["success_rate"]
        assert good[trial]["success_rate"] >= bar > bad[trial]["success_rate"], trial
