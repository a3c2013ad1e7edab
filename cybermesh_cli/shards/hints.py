"""Energy-trail hints: deliveries leave decaying energy that later shards may follow.

Search protocol. Every bot holds the key directory (the 25 keys, not where they live), so a
shard knows which key it wants; where that key's bot is, a bot knows only within its gossip
horizon. Inside the horizon the shard takes the table's next hop. Outside it, it searches depth
first: to an unvisited neighbour, or back one step when there is none. A bot is entered at most
once plus once per neighbour it is backed into from, so no shard loops, and a connected mesh is
searched in at most ``2 (bots - 1)`` moves. Without hints the unvisited neighbour is picked at
random; with hints, the one with the most trail energy (at random among equals, e.g. no trail).

Trails live in the tier-1 energy field, one cell per bot: each delivery adds ``gradient ** k``
at the bot k steps before the destination on the shard's final (loop-free) path, so trails rise
toward destinations; the field decays with the configured half-life.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cybermesh_cli.topology import Mesh
from cybermesh_cli.shards.routing import RoutingTables
from cybermesh_cli.substrate.energy import decay_factor


class Trails:
    """Delivery trails: one energy value a bot, halving every ``half_life`` ticks.

    The decay is lazy: values are kept divided by the decay since a reference tick, so a tick
    costs nothing and every bot's value carries the same factor; comparing them needs no
    arithmetic at all. ``E <- decay * E`` each tick, as the tier-1 field does, exactly up to
    rounding.
    """

    RENORMALISE = 1e100  # fold the common factor back in before it overflows

    def __init__(self, mesh: Mesh, half_life: float, gradient: float) -> None:
        """Start with no trails."""
        self.mesh = mesh
        self.gradient = gradient
        self.decay = decay_factor(half_life)
        self.scaled = np.zeros(mesh.size)  # energy / decay ** (now - base)
        self._elapsed = 0  # ticks since the reference tick

    @property
    def energy(self) -> NDArray[np.float64]:
        """Each bot's energy now (a copy)."""
        values: NDArray[np.float64] = self.scaled * self.decay ** self._elapsed
        return values

    def set_energy(self, values: NDArray[np.float64]) -> None:
        """Replace every bot's energy."""
        self.scaled = np.asarray(values, np.float64).copy()
        self._elapsed = 0

    def tick(self) -> None:
        """Decay one tick."""
        self._elapsed += 1
        if self.decay ** -self._elapsed > self.RENORMALISE:
            self.set_energy(self.energy)

    def deposit(self, path: list[int]) -> None:
        """Lay a trail that rises toward the path's last bot (the destination)."""
        amount = self.decay ** -self._elapsed
        for bot in reversed(path):
            self.scaled[bot] += amount
            amount *= self.gradient


@dataclass(frozen=True)
class Search:
    """One shard's search: every bot it entered, in order, and how it ended."""

    moves: tuple[int, ...]
    delivered: bool
    most_entries: int  # the most times it entered any one bot

    @property
    def hops(self) -> int:
        """Moves made (backtracking included)."""
        return len(self.moves) - 1


def search(tables: RoutingTables, goal: int, origin: int, rng: np.random.Generator,
           trails: Trails | None, max_hops: int) -> tuple[Search, list[int]]:
    """Route one shard to bot ``goal``; returns the search and its final loop-free path."""
    mesh = tables.mesh
    bot = origin
    moves = [bot]
    stack = [bot]
    visited = {bot}
    entries = dict.fromkeys(range(mesh.size), 0)
    entries[bot] = 1
    while bot != goal and len(moves) <= max_hops:
        known = tables.tables[bot].get(goal)
        if known is not None:
            bot = known[1]
            stack.append(bot)
        else:
            options = [n for n in mesh.neighbours[bot] if n not in visited]
            if not options:
                stack.pop()
                bot = stack[-1]
            else:
                bot = _choose(options, rng, trails)
                stack.append(bot)
        visited.add(bot)
        entries[bot] += 1
        moves.append(bot)
    return Search(tuple(moves), bot == goal, max(entries.values())), stack


def _choose(options: list[int], rng: np.random.Generator, trails: Trails | None) -> int:
    if trails is not None:
        scaled = trails.scaled  # same order as the energies: they share one factor
        top = max(scaled[n] for n in options)
        if top > 0:
            options = [n for n in options if scaled[n] == top]
    return options[int(rng.integers(len(options)))] if len(options) > 1 else options[0]
