"""Evolve a finite pattern: on the infinite plane (exactly) or on a torus of a given size."""

from __future__ import annotations

import re

import numpy as np
from numpy.typing import NDArray

from cybermesh_cli.errors import InputError
from cybermesh_cli.substrate.grid import Grid, check_cells
from cybermesh_cli.substrate.rules import Bounds, Rule
from cybermesh_cli.substrate.shapes import Cells, trim

Live = NDArray[np.int64]  # (n, 2) rows and columns of live cells


def parse_size(text: str) -> Bounds:
    """``WxH`` (e.g. ``80x80``) -> a W x H torus."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match or 0 in (int(match.group(1)), int(match.group(2))):
        raise InputError(f"--torus {text!r}: expected WIDTHxHEIGHT, e.g. 80x80")
    check_cells(int(match.group(2)), int(match.group(1)), f"--torus {text}")
    return Bounds("T", int(match.group(1)), int(match.group(2)))


def evolve(cells: Cells, gens: int, rule: Rule) -> Cells:
    """Advance a dense pattern ``gens`` generations on the infinite plane.

    It is padded by ``gens + 1`` cells (see :func:`_plane_difference`); the result is the cells
    that differ from the background (:func:`background`), trimmed.
    """
    check_cells(cells.shape[0] + 2 * gens + 2, cells.shape[1] + 2 * gens + 2,
                f"--gens {gens} on the infinite plane (the pattern padded by the generations)")
    if not cells.any() and not rule.birth & 1:
        return np.zeros((0, 0), np.uint8)
    return trim(_plane_difference(cells, gens, rule))


def _plane_difference(cells: Cells, gens: int, rule: Rule, start: int = 0) -> Cells:
    """``cells`` after ``gens`` generations on the plane, XOR the background, padded by gens+1.

    ``cells`` differ from the background of generation ``start``. Padded by ``gens + 1`` on a
    torus: nothing travels faster than one cell a generation, so the wrapped background evolves
    as the infinite one does, B0 rules included.
    """
    grid = Grid(np.pad(cells, gens + 1) ^ np.uint8(background(rule, start)), rule, torus=True)
    grid.step(gens)
    return grid.cells ^ np.uint8(background(rule, start + gens))


def evolve_live(live: Live, gens: int, rule: Rule, start: int = 0) -> Live:
    """Advance live (row, column) cells ``gens`` generations on the infinite plane.

    Groups of cells more than ``2 * gens + 2`` apart cannot meet within ``gens`` generations, so
    each is stepped in its own dense box: memory follows the groups, not the pattern's extent.
    Cells given and returned are those that differ from the background (:func:`background`) of
    their generation: ``start``, then ``start + gens``.
    """
    if gens == 0:
        return live
    out = []
    for group in far_apart_groups(live, 2 * gens + 2):
        top, left = group.min(axis=0)
        height, width = group.max(axis=0) - (top, left) + 1
        check_cells(int(height) + 2 * gens + 2, int(width) + 2 * gens + 2,
                    f"--gens {gens} on the plane (a group of {len(group):,} cells padded by "
                    "the generations)")
        box = np.zeros((height, width), np.uint8)
        box[group[:, 0] - top, group[:, 1] - left] = 1
        rows, cols = np.nonzero(_plane_difference(box, gens, rule, start))
        out.append(np.stack([rows + top - gens - 1, cols + left - gens - 1], axis=1))
    return np.concatenate(out).astype(np.int64) if out else np.zeros((0, 2), np.int64)


def evolve_placed(live: Live, gens: int, rule: Rule, bounds: Bounds | None = None,
                  start: int = 0) -> Live:
    """Advance cells in Golly's coordinates on the plane or on Golly's bounded grid ``bounds``.

    A bounded side spans Golly's cells ``-(side // 2)`` onwards; an endless side (0) is padded
    by ``gens + 1``, as on the plane. As in Golly, cells given and returned differ from the
    background of their generation (B0 rules), on a torus too.
    """
    if bounds is None:
        return evolve_live(live, gens, rule, start)
    firsts, sizes = [], []
    for axis, side in enumerate((bounds.height, bounds.width)):
        if side:
            firsts.append(-(side // 2))
            sizes.append(side)
        elif len(live):
            firsts.append(int(live[:, axis].min()) - gens - 1)
            sizes.append(int(live[:, axis].max()) - firsts[-1] + gens + 2)
        else:
            firsts.append(0)
            sizes.append(1)
    inside = (live >= firsts) & (live < np.add(firsts, sizes))
    if not inside.all():
        raise InputError(f"the pattern does not fit {bounds.describe()} (Golly's grid spans "
                         f"x from {firsts[1]}, y from {firsts[0]})")
    check_cells(sizes[0], sizes[1], f"the pattern {bounds.describe()}")
    cells = np.full(sizes, background(rule, start), np.uint8)
    cells[live[:, 0] - firsts[0], live[:, 1] - firsts[1]] ^= 1
    grid = Grid(cells, rule, torus=bounds.torus)
    grid.step(gens)
    differ = np.argwhere(grid.cells ^ np.uint8(background(rule, start + gens)))
    return (differ + np.array(firsts, np.int64)).astype(np.int64)


def far_apart_groups(live: Live, gap: int) -> list[Live]:
    """Split cells into groups whose bounding boxes are more than ``gap`` cells apart.

    Cells in buckets of side ``gap + 1`` that touch are joined; then groups whose boxes come
    within ``gap`` of each other are merged until none do.
    """
    if len(live) == 0:
        return []
    buckets = live // (gap + 1)
    keys, label_of_cell = np.unique(buckets, axis=0, return_inverse=True)
    label_of_cell = label_of_cell.ravel()
    codes = keys[:, 0] * (1 << 32) + keys[:, 1]
    order = np.argsort(codes)
    pairs = []
    for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):
        wanted = codes + dy * (1 << 32) + dx
        found = np.searchsorted(codes[order], wanted).clip(max=len(codes) - 1)
        hit = codes[order][found] == wanted
        pairs.append(np.stack([np.flatnonzero(hit), order[found[hit]]], axis=1))
    labels = _components(len(keys), np.concatenate(pairs))[label_of_cell]
    while True:
        groups = [live[labels == label] for label in np.unique(labels)]
        first, second = _near_boxes(np.array([[*g.min(axis=0), *g.max(axis=0)]
                                              for g in groups]), gap)
        if not len(first):
            return groups
        merged = _components(len(groups), np.stack([first, second], axis=1))
        labels = merged[np.searchsorted(np.unique(labels), labels)]


def _near_boxes(boxes: NDArray[np.int64], gap: int) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Pairs of boxes (top, left, bottom, right) within ``gap`` cells of each other.

    A sweep down the rows: each box is tested only against boxes that start before it ends.
    """
    order = np.argsort(boxes[:, 0], kind="stable")
    tops = boxes[order, 0]
    first: list[NDArray[np.intp]] = []
    second: list[NDArray[np.intp]] = []
    for rank, index in enumerate(order):
        top, left, bottom, right = boxes[index]
        candidates = order[rank + 1:np.searchsorted(tops, bottom + gap, side="right")]
        others = boxes[candidates]
        hit = candidates[(others[:, 1] - right <= gap) & (left - others[:, 3] <= gap)]
        first.append(np.full(len(hit), index))
        second.append(hit)
    return np.concatenate(first), np.concatenate(second)


def _components(count: int, edges: NDArray[np.int64]) -> NDArray[np.int64]:
    """Connected-component label of each of ``count`` nodes joined by ``edges``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), (count, count))
    labels: NDArray[np.int64] = connected_components(graph, directed=False)[1].astype(np.int64)
    return labels


def background(rule: Rule, gens: int) -> int:
    """State of the infinite background at generation ``gens`` (0 dead, 1 alive), as in Golly.

    With B0 a dead background is born; without S8 a live one dies, so it alternates from dead.
    With B0 and S8 Golly runs the complementary rule and shows cells inverted from the start:
    the background is alive at every generation, and a file's cells are holes in it.
    """
    if not rule.birth & 1:
        return 0
    return 1 if rule.survive >> 8 & 1 else gens % 2
