"""A shard's journey through the world: plain data, importable without the world's kernels."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Leg:
    """Ticks ``first`` to ``last`` a shard rode a carrier through one bot's tile (last None: on)."""

    bot: int
    first: int
    last: int | None = None


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
    legs: list[Leg] = field(default_factory=list)  # aboard, tile by tile
    local: bool = False  # with landmarks: its block is within reach, so it climbs tables now
    visited: int = 0  # with candidates: landmark blocks whose centre it has reached
    best: int = -1  # with candidates: the bot of the best key it has seen
    best_similarity: float = float("-inf")
    sender: int = -1  # the bot that launched its carrier

    def board(self, carrier: int, tick: int) -> None:
        """Ride ``carrier`` from the next tick on, from this shard's bot."""
        self.status, self.carrier, self.sender = "aboard", carrier, self.bot
        self.legs.append(Leg(self.bot, tick + 1))

    def leave(self, last: int) -> None:
        """Stop riding after tick ``last``."""
        self._end_leg(last)
        self.carrier = None

    def hop(self, bot: int, tick: int) -> None:
        """Enter ``bot``'s tile at ``tick`` while aboard."""
        self._end_leg(tick - 1)
        self.legs.append(Leg(bot, tick))
        self.bot = bot

    def _end_leg(self, last: int) -> None:
        """End the current leg after tick ``last``; a leg of no tick is forgotten."""
        leg = self.legs[-1]
        if leg.first > last:
            self.legs.pop()
        else:
            leg.last = last

    def path(self) -> list[int]:
        """Return the bots it was at: its origin, then one a tick aboard (finished legs)."""
        return [self.origin, *(leg.bot for leg in self.legs if leg.last is not None
                               for _ in range(leg.first, leg.last + 1))]

    def hops(self) -> int:
        """Count its changes of bot while aboard, from its legs."""
        hops, bot = 0, self.origin
        for leg in self.legs:
            hops, bot = hops + (leg.bot != bot), leg.bot
        return hops
