"""Phase 6 end to end: hints judged on the skewed workload, both workloads reported, replay."""

from tests.conftest import needs

needs("ml")

import json

from tests.conftest import cli, run_spec, tampered_copy


def test_hint_run_passes_and_replays(tmp_path):
    run = run_spec(tmp_path, "phase6.yaml")
    metrics = json.loads((run / "metrics.json").read_text())
    assert all(c["passed"] for c in metrics["criteria"]) and len(metrics["criteria"]) == 4
    figures = metrics["figures"]
    assert set(figures["path_length_change"]) == {"uniform", "skewed"}
    assert figures["path_length_change"]["skewed"] <= -0.10
    assert set(figures["compute"]) == {"uniform", "skewed"}
    arms = figures["arms"]
    assert len(arms) == 12 and all(a["delivered"] == a["shards"] == 3000 for a in arms)
    assert (run / "hints.png").stat().st_size > 1000
    report = (run / "report.md").read_text()
    assert "| workload | half_life | shards |" in report  # the arms as a table
    assert report.count("| skewed |") == 6 and "![hints.png](hints.png)" in report
    done = cli("replay", str(run), cwd=tmp_path)
    assert done.returncode == 0 and "re-simulation verified 13 events" in done.stdout

    copy, line, _ = tampered_copy(run, lambda raw: b'"hints.arm"' in raw,
                                  lambda e: e["payload"].update(mean_hops=1.0))
    tampered = cli("replay", str(copy), cwd=tmp_path)
    assert tampered.returncode == 1 and f"line {line}" in tampered.stdout
