"""Phase 1 end to end: every criterion, the must-show detection figures, replay of the log."""

import json
import shutil

import pytest

from tests.conftest import cli, run_spec, tampered_copy


@pytest.fixture(scope="module")
def phase1_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("phase1")
    return root, run_spec(root, "phase1.yaml")


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
    copy, line, _ = tampered_copy(
        run, lambda b: b'"glider.checkpoint"' in b and b'"tick":99,' in b,
        lambda e: e["payload"]["detected"].__setitem__(0, e["payload"]["detected"][0] + 1.0))
    done = cli("replay", str(copy), cwd=root)
    assert done.returncode == 1
    assert f"diverged at tick 99, line {line}, glider.checkpoint" in done.stdout
    shutil.rmtree(copy)
    forged, line, _ = tampered_copy(  # markup in a forged payload is printed as it is
        run, lambda b: b'"glider.checkpoint"' in b and b'"tick":99,' in b,
        lambda e: e["payload"].__setitem__("detected", ["[/]", "[bold]x"]))
    done = cli("replay", str(forged), cwd=root)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "'[/]', '[bold]x'" in done.stdout or '"[/]", "[bold]x"' in done.stdout, done.stdout
