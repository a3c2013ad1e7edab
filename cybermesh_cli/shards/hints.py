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

from cybermesh_cli.shards.routing import RoutingTables
from cybermesh_cli.substrate.energy import Trails


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
