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


def bisection_layout(mesh: Mesh, keys: NDArray[np.float32]) -> NDArray[np.int64]:
    """Return an order of ``keys`` (one a bot) laid out by recursive bisection.

    The mesh's region is halved along its longer side and the keys split at the median of
    their first principal component, the first half to the first part, again within each part
    down to single bots (recursive spectral bisection, as graph partitioners lay out meshes).
    Keys alike at every scale end up near each other: a gradient coarse to fine, at any size,
    in n log n time and without a similarity matrix.
    """
    order = np.empty(mesh.size, np.int64)
    centred = keys.astype(np.float64)
    stack = [(np.arange(mesh.size), 0, mesh.rows, 0, mesh.cols)]
    while stack:
        members, top, bottom, left, right = stack.pop()
        if len(members) == 1:
            order[top * mesh.cols + left] = members[0]
            continue
        part = centred[members] - centred[members].mean(axis=0)
        _, _, axes = np.linalg.svd(part, full_matrices=False)
        ranked = members[np.argsort(part @ axes[0], kind="stable")]
        if bottom - top >= right - left:
            middle = (top + bottom) // 2
            first = (middle - top) * (right - left)
            stack += [(ranked[:first], top, middle, left, right),
                      (ranked[first:], middle, bottom, left, right)]
        else:
            middle = (left + right) // 2
            first = (bottom - top) * (middle - left)
            stack += [(ranked[:first], top, bottom, left, middle),
                      (ranked[first:], top, bottom, middle, right)]
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
