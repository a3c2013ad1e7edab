"""A shard's journey through the world: plain data, importable without the world's kernels."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ShardState:
    """One shard's journey."""

    id: int
    text_index: int
    origin: int
    goal_hint: int  # oracle target: for scoring only, never for routing
    bot: int
    injected: int
    carrier: int | None = None
    status: str = "held"  # held, aboard, delivered, dropped
    losses: int = 0
    trajectory: list[tuple[int, int]] = field(default_factory=list)  # (tick, bot) while aboard
