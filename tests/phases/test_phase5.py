"""Phase 5 end to end: the load criteria, the limit, the overload, and replay."""

from tests.conftest import needs

needs("ml")

import json

from tests.conftest import cli, run_spec


def test_load_run_passes_and_replays(tmp_path):
    run = run_spec(tmp_path, "phase5.yaml")
    metrics = json.loads((run / "metrics.json").read_text())
    assert all(c["passed"] for c in metrics["criteria"]) and len(metrics["criteria"]) == 4
    figures = metrics["figures"]
    by_k = {r["k"]: r for r in figures["by_k"]}
    assert set(by_k) == {1, 2, 4, 8, 16, 32, 64}
    assert all(r["throughput"] <= figures["theoretical_limit_per_tick"] for r in by_k.values())
    assert by_k[64]["throughput"] > by_k[1]["throughput"]
    overload = figures["overload"]
    assert overload["dropped_in_burst"] > 0 and figures["recovery_ticks"] is not None
    assert (run / "load.png").stat().st_size > 1000
    done = cli("replay", str(run), cwd=tmp_path)
    assert done.returncode == 0 and "re-simulation verified 8 events" in done.stdout
