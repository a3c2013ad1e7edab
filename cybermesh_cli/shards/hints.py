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

from cybermesh_cli.topology import Mesh
from cybermesh_cli.shards.routing import RoutingTables
from cybermesh_cli.substrate.energy import EnergyField


class Trails:
    """Delivery trails in an energy field with one cell per bot."""

    def __init__(self, mesh: Mesh, half_life: float, gradient: float) -> None:
        """Start with an empty field that halves every ``half_life`` ticks."""
        self.mesh = mesh
        self.gradient = gradient
        self.field = EnergyField((mesh.rows, mesh.cols), half_life, deposit=0.0)
        self._dead = np.zeros((mesh.rows, mesh.cols), np.uint8)
        self.energy = self.field.values.reshape(-1)  # a view: bot -> energy

    def tick(self) -> None:
        """Decay one tick."""
        self.field.update(self._dead)

    def deposit(self, path: list[int]) -> None:
        """Lay a trail that rises toward the path's last bot (the destination)."""
        amount = 1.0
        for bot in reversed(path):
            self.energy[bot] += amount
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
        energy = trails.energy
        top = max(energy[n] for n in options)
        if top > 0:
            options = [n for n in options if energy[n] == top]
    return options[int(rng.integers(len(options)))] if len(options) > 1 else options[0]
