"""Phase 2 end to end with the local (offline MiniLM) backend; replay re-routes every hop."""

import json

import orjson
import pytest

from tests.conftest import REPO, cli


@pytest.fixture(scope="module")
def phase2_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("phase2")
    done = cli("run", str(REPO / "experiments" / "phase2.yaml"), "--set",
               "phase2.stress.minutes=0.1", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    (run,) = (root / "runs").iterdir()
    return root, run


def test_criteria_pass_on_held_out_shard_texts(phase2_run):
    _, run = phase2_run
    metrics = json.loads((run / "metrics.json").read_text())
    assert all(c["passed"] for c in metrics["criteria"]) and len(metrics["criteria"]) == 6
    trials = metrics["figures"]["trials"]
    assert trials["single_hop"]["shards"] == 500 and trials["multi_hop_3x3"]["shards"] == 180
    assert trials["multi_hop_5x5"]["success_rate"] >= 0.9
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["embedder"]["backend"] == "local" and manifest["embedder"]["dim"] == 384
    assert metrics["figures"]["stress"]["samples"] >= 3


def test_replay_reroutes_from_stored_vectors_and_names_a_bad_hop(phase2_run):
    root, run = phase2_run
    done = cli("replay", str(run), cwd=root)
    assert done.returncode == 0, done.stdout
    hops = sum(1 for line in (run / "events.jsonl").read_bytes().splitlines()
               if b'"shard.hop"' in line or b'"shard.end"' in line)
    assert f"re-simulation verified {hops} events" in done.stdout
    copy = root / "runs" / "tampered"
    copy.mkdir()
    for name in ("spec.yaml", "vectors.safetensors"):
        (copy / name).write_bytes((run / name).read_bytes())
    lines = (run / "events.jsonl").read_bytes().splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if b'"shard.hop"' in line
                 and b'"trial":"multi_hop_5x5"' in line)
    event = orjson.loads(lines[index])
    event["payload"]["to"] = (event["payload"]["to"] + 1) % 25
    lines[index] = orjson.dumps(event) + b"\n"
    (copy / "events.jsonl").write_bytes(b"".join(lines))
    done = cli("replay", str(copy), cwd=root)
    assert done.returncode == 1
    assert f"diverged at tick {event['tick']}, line {index + 1}, shard.hop" in done.stdout
