"""Phase 6 end to end: hints on both workloads and against one more gossip round, replay."""

from tests.conftest import needs

needs("ml")

import json

from tests.conftest import cli, run_spec, tampered_copy


def test_hint_run_judges_both_workloads_and_the_gossip_baseline_and_replays(tmp_path):
    # The finding (issue 24): hints shorten the skewed workload's paths by about 25% but the
    # uniform one's by less than 10%, and one more gossip round beats them on both.
    run = run_spec(tmp_path, "phase6.yaml", failing=(
        "path_length.min_reduction_every_workload", "baseline.min_gain_over_more_gossip"))
    metrics = json.loads((run / "metrics.json").read_text())
    assert len(metrics["criteria"]) == 6
    figures = metrics["figures"]
    assert set(figures["path_length_change"]) == {"uniform", "skewed"}
    assert figures["path_length_change"]["skewed"] <= -0.10
    assert figures["path_length_change"]["uniform"] > -0.10
    gossip = figures["more_gossip"]
    assert {g["horizon"] for g in gossip.values()} == {2}
    assert all(g["hints_shorter_by"] < 0 and g["extra_gossip_messages"] > 0
               for g in gossip.values())
    assert set(figures["compute"]) == {"uniform", "skewed"}
    arms = figures["arms"]
    assert len(arms) == 12 and all(a["delivered"] == a["shards"] == 3000 for a in arms)
    assert (run / "hints.png").stat().st_size > 1000
    report = (run / "report.md").read_text()
    assert "| workload | half_life | shards |" in report  # the arms as a table
    assert report.count("| skewed |") == 6 and "![hints.png](hints.png)" in report
    done = cli("replay", str(run), cwd=tmp_path)
    assert done.returncode == 0 and "re-simulation verified 15 events" in done.stdout

    copy, line, _ = tampered_copy(run, lambda raw: b'"hints.arm"' in raw,
                                  lambda e: e["payload"].update(mean_hops=1.0))
    tampered = cli("replay", str(copy), cwd=tmp_path)
    assert tampered.returncode == 1 and f"line {line}" in tampered.stdout
