"""The report says when a timing verdict failed on a busy machine, and only then."""

import pytest

from cybermesh_cli.criteria import Criterion
from cybermesh_cli.runs.report import render_report

MANIFEST = {"id": "x", "spec": "s.yaml", "phase": 1, "seed": 1, "status": "failed",
            "started": "t0", "ended": "t1", "duration_s": 1.0,
            "git": {"sha": "0" * 40, "dirty": False}, "device": "cpu",
            "env": {"python": "3.11"}}
LATENCY = "phase_1_ca_grid.pattern_detection.max_latency_ms"
ACCURACY = "phase_1_ca_grid.pattern_detection.min_accuracy"


@pytest.mark.parametrize("load, failing, noted", [
    ([6.0, 4.0, 3.0], LATENCY, True),   # a timing criterion failed at load 6 on 2 CPUs
    ([0.5, 0.4, 0.3], LATENCY, False),  # failed on an idle machine: no excuse offered
    ([6.0, 4.0, 3.0], ACCURACY, False),  # a functional criterion never blames the load
])
def test_a_timing_failure_under_load_is_said_so(load, failing, noted):
    criteria = [Criterion(LATENCY, 80.0, 50.0, "<=", failing != LATENCY),
                Criterion(ACCURACY, 0.5, 0.95, ">=", failing != ACCURACY)]
    manifest = {**MANIFEST, "load": {"cpus": 2, "start": load, "end": [1.0, 1.0, 1.0]}}
    text = render_report(manifest, criteria, {}, [])
    assert ("busy machine (load average 6.0 on 2 CPUs)" in text) == noted
    if noted:
        assert f"`{LATENCY}` may pass on an idle one" in text
