"""Benchmarks for the perf gate; ratios against baselines timed in the same run.

Run as: pytest tests/test_performance.py --benchmark-only --benchmark-json=logs/benchmark.json
"""

import json
from pathlib import Path

import pytest

from cybermesh_cli.runs.events import EventLog, read_events

EVENTS = 5000
PAYLOADS = [{"bot": [i % 5, i // 5 % 5], "shard": f"s{i}", "hops": i % 7, "d": i / 7}
            for i in range(EVENTS)]


def _write_orjson(folder: Path, run: list[int]) -> Path:
    run[0] += 1
    path = folder / f"orjson-{run[0]}.jsonl"
    with EventLog(path) as log:
        log.emit("run.start", -1)
        for tick, payload in enumerate(PAYLOADS):
            log.emit("shard.hop", tick, payload)
    return path


def _write_stdlib(folder: Path, run: list[int]) -> Path:
    run[0] += 1
    path = folder / f"json-{run[0]}.jsonl"
    with path.open("x", encoding="utf-8") as handle:
        handle.write(json.dumps({"v": 1, "seq": 0, "tick": -1, "t": 0.0, "type": "run.start",
                                 "payload": {}}) + "\n")
        for tick, payload in enumerate(PAYLOADS):
            event = {"v": 1, "seq": tick + 1, "tick": tick, "t": 0.0, "type": "shard.hop",
                     "payload": payload}
            handle.write(json.dumps(event) + "\n")
    return path


@pytest.mark.performance
def test_event_log_orjson(benchmark, tmp_path):
    path = benchmark.pedantic(_write_orjson, args=(tmp_path, [0]), rounds=7, iterations=1)
    assert len(read_events(path).events) == EVENTS + 1


@pytest.mark.performance
def test_event_log_stdlib_json(benchmark, tmp_path):
    path = benchmark.pedantic(_write_stdlib, args=(tmp_path, [0]), rounds=7, iterations=1)
    assert len(read_events(path).events) == EVENTS + 1
