"""Success criteria: measured values compared with tests/performance_thresholds.yaml."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cybermesh_cli.errors import InputError
from cybermesh_cli.paths import SCHEMAS_DIR, THRESHOLDS_FILE
from cybermesh_cli.spec import load_yaml_file

# The policy's names do not all say which way they point, so each is listed.
_AT_MOST = {
    "max_latency_ms",
    "false_positive_rate",
    "max_hops",
    "path_stretch",
    "max_distance",
    "websocket_latency_ms",
    "max_payload_kb",
}
_AT_LEAST = {"accuracy_threshold", "success_rate", "tracking_accuracy", "frame_rate_min_fps"}
_OPS: dict[str, Callable[[float, float], bool]] = {"<=": operator.le, ">=": operator.ge}


def direction(name: str) -> str:
    """Return ``"<="`` or ``">="`` for a threshold name; unknown names are an error."""
    if name in _AT_MOST or name.startswith("max_"):
        return "<="
    if name in _AT_LEAST or name.startswith("min_"):
        return ">="
    raise InputError(f"threshold {name!r}: name must start with max_ or min_ (or be a policy key)")


@dataclass(frozen=True)
class Criterion:
    """One success criterion as checked: the measured value against its threshold."""

    key: str
    value: float
    threshold: float
    op: str
    passed: bool

    def to_json(self) -> dict[str, Any]:
        """Return the criterion as written into metrics.json."""
        return asdict(self)


def load_thresholds(path: Path = THRESHOLDS_FILE) -> dict[str, Any]:
    """Load and validate the thresholds file."""
    return load_yaml_file(path, SCHEMAS_DIR / "thresholds.yaml")


def threshold(thresholds: Mapping[str, Any], key: str) -> float:
    """Look up a dotted key such as ``phase_1_ca_grid.pattern_detection.max_latency_ms``."""
    node: Any = thresholds
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise InputError(f"{THRESHOLDS_FILE.name}: no threshold {key!r}")
        node = node[part]
    if isinstance(node, Mapping):
        raise InputError(f"{THRESHOLDS_FILE.name}: {key!r} is a group, not a threshold")
    return float(node)


def evaluate(measured: Mapping[str, float], thresholds: Mapping[str, Any]) -> list[Criterion]:
    """Compare every measured value with its threshold."""
    criteria = []
    for key, value in measured.items():
        limit = threshold(thresholds, key)
        op = direction(key.rsplit(".", 1)[-1])
        passed = bool(_OPS[op](float(value), limit))
        criteria.append(Criterion(key, float(value), limit, op, passed))
    return criteria
