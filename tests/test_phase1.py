"""Phase 1 end to end: every criterion, the must-show detection figures, replay of the log."""

import json

import orjson
import pytest

from tests.conftest import REPO, cli


@pytest.fixture(scope="module")
def phase1_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("phase1")
    done = cli("run", str(REPO / "experiments" / "phase1.yaml"), cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    (run,) = (root / "runs").iterdir()
    return root, run


def test_every_criterion_passes_with_room(phase1_run):
    _, run = phase1_run
    metrics = json.loads((run / "metrics.json").read_text())
    assert all(c["passed"] for c in metrics["criteria"]) and len(metrics["criteria"]) == 7
    detection = metrics["figures"]["detection"]
    assert detection["planted"] >= 1000
    assert detection["accuracy"] >= 0.99 and detection["false_positive_rate"] < 0.01
    assert metrics["figures"]["glider_tile_crossings"] > 0


def test_replay_verifies_and_names_a_corrupted_tick(phase1_run):
    root, run = phase1_run
    done = cli("replay", str(run), cwd=root)
    assert done.returncode == 0, done.stdout
    assert "re-simulation verified" in done.stdout
    copy = root / "runs" / "corrupted"
    copy.mkdir()
    for name in ("spec.yaml", "manifest.json"):
        (copy / name).write_bytes((run / name).read_bytes())
    lines = (run / "events.jsonl").read_bytes().splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines)
                 if b'"glider.checkpoint"' in line and b'"tick":99,' in line)
    event = orjson.loads(lines[index])
    event["payload"]["detected"][0] += 1.0
    lines[index] = orjson.dumps(event) + b"\n"
    (copy / "events.jsonl").write_bytes(b"".join(lines))
    done = cli("replay", str(copy), cwd=root)
    assert done.returncode == 1
    assert f"diverged at tick 99, line {index + 1}, glider.checkpoint" in done.stdout
