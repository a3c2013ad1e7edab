"""The perf gate judges speedups measured in one run against required and stored ratios."""

import json

import pytest

from cybermesh_cli.errors import InputError
from cybermesh_cli.gates.perf import check_speedups, save_baseline


def _bench(tmp_path, fast, slow):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"benchmarks": [
        {"name": "test_fast", "stats": {"median": fast}},
        {"name": "test_slow", "stats": {"median": slow}},
    ]}))
    rules = tmp_path / "speedups.yaml"
    rules.write_text("test_fast:\n  baseline: test_slow\n  min_speedup: 2\n  tolerance: 0.25\n")
    return path, rules


def test_speedup_above_requirement_passes_and_baseline_round_trips(tmp_path):
    bench, rules = _bench(tmp_path, 1.0, 3.0)
    (check,) = check_speedups(bench, rules, tmp_path / "none.json")
    assert check.speedup == pytest.approx(3.0) and check.passed
    save_baseline([check], tmp_path / "baseline.json")
    assert json.loads((tmp_path / "baseline.json").read_text()) == {"test_fast": 3.0}


def test_below_requirement_fails(tmp_path):
    bench, rules = _bench(tmp_path, 1.0, 1.5)
    (check,) = check_speedups(bench, rules, tmp_path / "none.json")
    assert not check.passed


def test_regression_against_stored_ratio_fails(tmp_path):
    bench, rules = _bench(tmp_path, 1.0, 2.5)
    stored = tmp_path / "baseline.json"
    stored.write_text(json.dumps({"test_fast": 4.0}))  # 2.5 < 4.0 * (1 - 0.25)
    (check,) = check_speedups(bench, rules, stored)
    assert not check.passed


def test_missing_benchmark_is_an_error(tmp_path):
    bench, rules = _bench(tmp_path, 1.0, 2.5)
    rules.write_text("test_other:\n  baseline: test_slow\n  min_speedup: 2\n")
    with pytest.raises(InputError, match="did not run"):
        check_speedups(bench, rules, tmp_path / "none.json")
