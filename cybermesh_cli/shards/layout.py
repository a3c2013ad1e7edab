"""Place topics on a mesh so that neighbours hold similar keys (a semantic layout).

With keys placed at random, similarity has no direction on the mesh and a bot that knows only
its neighbourhood cannot tell where a better key lies. Swapping placements while the summed
similarity of neighbouring keys grows (a greedy local search) gives the mesh a gradient, so
shards need fewer exploring hops below the gossip horizon.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from cybermesh_cli.errors import InputError
from cybermesh_cli.seeds import Seeds
from cybermesh_cli.topology import Mesh

SWAPS_PER_BOT = 100


def semantic_layout(mesh: Mesh, keys: NDArray[np.float32], rng: np.random.Generator
                    ) -> NDArray[np.int64]:
    """Return an order of ``keys`` (one per bot) whose neighbouring keys are alike.

    Tries ``SWAPS_PER_BOT`` random swaps a bot and keeps each that does not lower the summed
    cosine similarity over the mesh's links.
    """
    similarity = keys @ keys.T
    order = np.arange(mesh.size)
    neighbours = [np.asarray(n, np.int64) for n in mesh.neighbours]

    def gain_at(bot: int, key: int, skip: int) -> float:
        others = neighbours[bot][neighbours[bot] != skip]
        return float(similarity[key, order[others]].sum())

    for a, b in rng.integers(0, mesh.size, (SWAPS_PER_BOT * mesh.size, 2)).tolist():
        if a == b:
            continue
        before = gain_at(a, order[a], b) + gain_at(b, order[b], a)
        after = gain_at(a, order[b], b) + gain_at(b, order[a], a)
        if after >= before:
            order[a], order[b] = order[b], order[a]
    return order


def projected_layout(mesh: Mesh, keys: NDArray[np.float32]) -> NDArray[np.int64]:
    """Return an order of ``keys`` laid out by their two principal components.

    The keys' first principal component picks the row (the bots sorted by it fill the rows in
    turn) and the second the column within the row: a map of the keys onto the grid, as a
    self-organising map or a greedy embedding draws one, with a global gradient at any size
    (n log n; no similarity matrix). The mesh must be full (one key a bot).
    """
    centred = keys.astype(np.float64) - keys.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    first, second = centred @ axes[0], centred @ axes[1]
    by_first = np.argsort(first, kind="stable")
    order = np.empty(mesh.size, np.int64)
    for row in range(mesh.rows):
        members = by_first[row * mesh.cols:(row + 1) * mesh.cols]
        order[row * mesh.cols:(row + 1) * mesh.cols] = members[np.argsort(second[members],
                                                                           kind="stable")]
    return order


def place_topics(mesh: Mesh, keys: NDArray[np.float32], seeds: Seeds,
                 semantic: bool = False) -> NDArray[np.int64]:
    """Give each bot a distinct topic (an index into ``keys``): at random, then laid out.

    Draws from ``seeds``' ``placement`` and (if ``semantic``) ``layout`` children. Needs at
    least as many topics as bots; the world's :func:`world.shards.bot_keys` fills larger meshes.
    """
    if mesh.size > len(keys):
        raise InputError(f"corpus: {len(keys)} topics cannot give {mesh.size} bots one each")
    topics = seeds.child("placement").rng().permutation(len(keys))[:mesh.size]
    if semantic:
        topics = topics[semantic_layout(mesh, keys[topics], seeds.child("layout").rng())]
    return topics.astype(np.int64)
