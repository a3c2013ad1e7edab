"""What a simulation emits: one event a tick and type, with a JSON payload (no wall-clock fields).

Runs log these; replay re-simulates and compares them one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    """One thing that happened at ``tick``: its type and a JSON-serialisable payload."""

    tick: int
    type: str
    payload: dict[str, Any]
