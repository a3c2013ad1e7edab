"""Phase 3, the main job, end to end: criteria, hops, compact log, replay, frames."""

from tests.conftest import needs

needs("ml")

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, cli, run_spec, tampered_copy

# The finding (issue 24): about 3 in 4 shards judged are delivered on the bundled 5x5 world,
# where the bar asks 95% (lost carriers), so both delivery criteria fail, every other passes.
DELIVERY = ("delivery.min_delivered_lower_ci", "delivery.min_right_bot_lower_ci")


@pytest.fixture(scope="module")
def phase3_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("phase3")
    return root, run_spec(root, "phase3.yaml", failing=DELIVERY)


def test_every_criterion_and_the_hop_accounting(phase3_run):
    _, run = phase3_run
    metrics = json.loads((run / "metrics.json").read_text())
    assert len(metrics["criteria"]) == 6
    figures = metrics["figures"]
    delivery = figures["delivery"]
    assert delivery["judged"] + delivery["too_young"] == figures["shards"]
    for name in ("delivered", "right_bot", "right_topic"):
        low, high = delivery[name]["ci95"]
        assert 0 <= low <= delivery[name]["rate"] <= high <= 1
    assert delivery["delivered"]["count"] == figures["outcomes"]["delivered"]
    assert figures["diameter"] == 2 and figures["horizon"] == 4
    assert figures["hop_events"] == figures["hops_recomputed"] > 0
    hop_lines = sum(b'"shard.hop"' in line for line in (run / "events.jsonl").read_bytes()
                    .splitlines())
    assert hop_lines == figures["hop_events"]
    assert figures["outcomes"]["delivered"] >= 0.7 * figures["shards"]
    for plot in ("distance.png", "hops.png", "memory.png"):
        assert (run / plot).stat().st_size > 1000
        assert f"]({plot})" in (run / "report.md").read_text()


def test_log_is_at_least_20x_smaller_than_state_dumps(phase3_run):
    root, run = phase3_run
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "check_compression_ratio.py"),
         "--baseline=full_state_dumps", "--compressed=event_logs", "--run", str(run)],
        cwd=root, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert float(done.stdout.split("B over")[1].split("x smaller")[0].split(":")[1]) >= 20


def test_replay_verifies_every_tick_and_names_a_corrupted_one(phase3_run):
    root, run = phase3_run
    done = cli("replay", str(run), "--stats", cwd=root)
    assert done.returncode == 0, done.stdout
    assert "re-simulation verified" in done.stdout and "x smaller" in done.stdout
    copy, line, _ = tampered_copy(
        run, lambda b: b'"state.digest"' in b and b'"tick":777,' in b,
        lambda e: e["payload"].__setitem__("grid", "0" * 32))
    done = cli("replay", str(copy), cwd=root)
    assert done.returncode == 1
    assert f"diverged at tick 777, line {line}, state.digest" in done.stdout


def test_tick_view_and_gif_export(phase3_run):
    root, run = phase3_run
    done = cli("replay", str(run), "--tick", "250", cwd=root)
    assert done.returncode == 0 and "tick 250:" in done.stdout and "shards" in done.stdout
    gif = root / "frames.gif"
    done = cli("replay", str(run), "--export", str(gif), "--every", "50", cwd=root)
    assert done.returncode == 0 and gif.read_bytes()[:6] == b"GIF89a"
    assert cli("replay", str(run), "--tick", "99999", cwd=root).returncode == 2


def test_a_timed_run_stops_on_the_clock(tmp_path):
    done = cli("run", str(REPO / "experiments" / "phase3.yaml"), "--set",
               "duration.minutes=0.05", "--no-protocol", cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # too few shards judged to pass delivery
    (run,) = (tmp_path / "runs").iterdir()
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["figures"]["ticks"] > 100 and metrics["figures"]["seconds"] < 10


def test_the_scaling_experiment_reports_every_size_and_replays(tmp_path):
    done = cli("run", str(REPO / "experiments" / "scale.yaml"), "--set", "duration.ticks=150",
               "--set", "phase3.scale.sides=[1,2,12]", "--set", "phase3.embedder.backend=hash",
               "--no-protocol", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    (run,) = (tmp_path / "runs").iterdir()
    metrics = json.loads((run / "metrics.json").read_text())
    failed = {c["key"].split(".", 1)[1] for c in metrics["criteria"] if not c["passed"]}
    assert failed == set(DELIVERY)  # judged at the worst size: 1 bot delivers, 12x12 does not
    figures = metrics["figures"]
    assert [r["bots"] for r in figures["sizes"]] == [1, 4, 144]
    assert all(r["hop_agreement"] == 1 and r["shards"] > 0 for r in figures["sizes"])
    assert figures["sizes"][0]["tracking_accuracy"] is None  # one bot: nothing to carry
    assert (run / "scale.png").stat().st_size > 1000 and "| 12x12 |" in (
        run / "report.md").read_text()
    done = cli("replay", str(run), cwd=tmp_path)
    assert done.returncode == 0 and "re-simulation verified 3 events" in done.stdout


def test_a_mesh_the_schema_refuses_and_one_too_big_for_memory_exit_2(tmp_path):
    spec = str(REPO / "experiments" / "phase3.yaml")
    done = cli("run", spec, "--set", "phase3.mesh.rows=65", cwd=tmp_path)
    assert done.returncode == 2 and "mesh.rows" in done.stderr
    done = cli("run", spec, "--set", "phase3.mesh.rows=64", "--set", "phase3.mesh.cols=64",
               "--set", "phase3.mesh.tile=1024", cwd=tmp_path)
    assert done.returncode == 2 and "4,294,967,296 cells" in done.stderr
    assert "Traceback" not in done.stderr
