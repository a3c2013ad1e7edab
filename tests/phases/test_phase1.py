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
    shutil.rmtree(forged)


LEGACY_TIMINGS = {"max_cpu_ms": "max_latency_ms", "median_cpu_ms": "median_latency_ms",
                  "p99_cpu_ms": "p99_latency_ms"}


@pytest.mark.parametrize("renamed, verified", [(LEGACY_TIMINGS, True),
                                               ({"p99_cpu_ms": "p99_latency_ms"}, False)])
def test_a_run_logged_with_wall_clock_timings_still_replays(phase1_run, renamed, verified):
    """Runs logged before the CPU timings (three wall-clock keys) verify; a mix of both does not."""
    root, run = phase1_run

    def legacy(event):
        payload = event["payload"]
        for new, old in renamed.items():
            payload[old] = payload.pop(new)
        if renamed == LEGACY_TIMINGS:
            del payload["p99_wall_ms"], payload["max_wall_ms"]

    copy, line, _ = tampered_copy(run, lambda b: b'"detection.summary"' in b, legacy)
    done = cli("replay", str(copy), cwd=root)
    shutil.rmtree(copy)
    if verified:
        assert done.returncode == 0 and "re-simulation verified" in done.stdout, done.stdout
    else:
        assert done.returncode == 1 and f"line {line}, detection.summary" in done.stdout
