"""Criteria: the thresholds file is the policy's, directions are right, verdicts are right."""

import pytest

from cybermesh_cli.criteria import direction, evaluate, load_thresholds
from cybermesh_cli.errors import InputError

# The policy's phase-specific performance thresholds, verbatim.
POLICY = {
    "phase_1_ca_grid": {
        "glider_propagation": {"max_latency_ms": 10, "accuracy_threshold": 0.95},
        "pattern_detection": {"max_latency_ms": 50, "false_positive_rate": 0.05},
    },
    "phase_2_shard_routing": {
        "single_hop": {"success_rate": 0.95, "max_hops": 10},
        "multi_hop_3x3": {"success_rate": 0.90, "path_stretch": 1.5},
    },
    "phase_3_integration": {"ca_shard_tracking": {"max_distance": 2.5, "tracking_accuracy": 0.85}},
    "phase_7_dashboard": {"websocket_latency_ms": 50, "frame_rate_min_fps": 1.0,
                          "max_payload_kb": 10},
}


def test_thresholds_keep_every_policy_key_and_value():
    thresholds = load_thresholds()
    for section, groups in POLICY.items():
        for key, value in groups.items():
            if isinstance(value, dict):  # extensions may add keys, never change these
                assert {k: thresholds[section][key][k] for k in value} == value
            else:
                assert thresholds[section][key] == value


@pytest.mark.parametrize(
    ("name", "op"),
    [("max_latency_ms", "<="), ("false_positive_rate", "<="), ("path_stretch", "<="),
     ("max_distance", "<="), ("websocket_latency_ms", "<="), ("accuracy_threshold", ">="),
     ("success_rate", ">="), ("frame_rate_min_fps", ">="), ("min_coverage", ">="),
     ("max_memory_mb", "<=")],
)
def test_direction(name, op):
    assert direction(name) == op


def test_unknown_direction_is_an_error():
    with pytest.raises(InputError, match="max_ or min_"):
        direction("speed")


def test_evaluate_passes_and_fails_at_the_boundary():
    thresholds = load_thresholds()
    got = evaluate({"phase_2_shard_routing.single_hop.success_rate": 0.95,
                    "phase_2_shard_routing.multi_hop_3x3.path_stretch": 1.51}, thresholds)
    assert [c.passed for c in got] == [True, False]
    assert got[1].op == "<=" and got[1].threshold == 1.5


def test_unknown_criterion_is_an_error():
    with pytest.raises(InputError, match="no threshold"):
        evaluate({"phase_1_ca_grid.nothing.max_x": 1.0}, load_thresholds())
