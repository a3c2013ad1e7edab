"""Object separation as apgsearch does it, and apgcodes for any periodic object.

A cluster of nearby cells may be several objects that never interact (a traffic light is four
blinkers; two blocks two cells apart are two blocks). :func:`separate` starts from the
8-connected pieces of a cluster and merges only pieces that interact: stepping each piece
alone must give, at every generation of the cluster's period, exactly the cluster stepped
whole. Each part then gets its apgcode computed with Catagolue's encoding (``xs``, ``xp``,
``xq``), in the library or not; only parts that never repeat stay unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numba as nb
import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from cybermesh_cli.substrate.rules import CONWAY, Rule
from cybermesh_cli.substrate.shapes import Cells, apgcode, trim

MAX_PERIOD = 1000  # longest period looked for
PERIOD_BUDGET = 4_000_000  # cell updates a period search may spend (a few ms in Numba)
_EIGHT = np.ones((3, 3), bool)


def step_plane(cells: Cells, rule: Rule) -> Cells:
    """One generation of a small pattern whose border is dead and stays far from its cells."""
    born, kept = _tables(rule.birth, rule.survive)
    stepped: Cells = _step_small(np.ascontiguousarray(cells, np.uint8), born, kept)
    return stepped


@cache
def _tables(birth: int, survive: int) -> tuple[Cells, Cells]:
    """Tabulate the rule over the live-neighbour count: births, then survivals."""
    return (np.array([birth >> n & 1 for n in range(9)], np.uint8),
            np.array([survive >> n & 1 for n in range(9)], np.uint8))


@nb.njit(cache=True)
def _step_small(cells: Cells, born: Cells, kept: Cells) -> Cells:
    """Step a small dense box once; cells outside it are dead (compiled: called per phase)."""
    height, width = cells.shape
    out = np.zeros_like(cells)
    for y in range(height):
        for x in range(width):
            count = 0
            for dy in range(-1, 2):
                for dx in range(-1, 2):
                    ny, nx = y + dy, x + dx
                    if (dy or dx) and 0 <= ny < height and 0 <= nx < width:
                        count += cells[ny, nx]
            out[y, x] = kept[count] if cells[y, x] else born[count]
    return out


@dataclass(frozen=True)
class Periodicity:
    """How a pattern repeats: its period, its displacement a period, and every phase."""

    period: int
    move: tuple[int, int]
    phases: tuple[Cells, ...]

    @property
    def kind(self) -> str:
        """still, oscillator or spaceship."""
        if self.move != (0, 0):
            return "spaceship"
        return "still" if self.period == 1 else "oscillator"

    @property
    def apgcode(self) -> str:
        """Catagolue's code for the object."""
        return apgcode(self.phases, self.period, self.move != (0, 0))


def periodicity(cells: Cells, rule: Rule = CONWAY, max_period: int = MAX_PERIOD,
                budget: int = PERIOD_BUDGET) -> Periodicity | None:
    """Step ``cells`` alone; return how it repeats (up to a shift), or None if it does not.

    The search runs in Numba (:func:`_repeat`) and stops at ``max_period`` generations or
    after ``budget`` cell updates, whichever comes first: a small oscillator of period 1000
    costs well under the budget, a cluster still growing is given up early. The phases of a
    periodic object are then collected with :func:`step_plane`.
    """
    start = trim(cells)
    if not start.size:
        return None
    born, kept = _tables(rule.birth, rule.survive)
    period, dy, dx = _repeat(np.ascontiguousarray(start), born, kept, max_period, budget)
    if period == 0:
        return None
    phases = [start]
    for _ in range(period - 1):  # each phase in its own box, one cell of room to grow
        phases.append(trim(step_plane(np.pad(phases[-1], 1), rule)))
    return Periodicity(int(period), (int(dy), int(dx)), tuple(phases))


@nb.njit(cache=True)
def _repeat(start: Cells, born: Cells, kept: Cells, max_period: int,
            budget: int) -> tuple[int, int, int]:
    """Period and displacement of ``start`` (trimmed) on an empty plane; (0, 0, 0) if none.

    Steps over the live cells' bounding box grown by one each generation, in a frame that
    starts 16 cells wider than the pattern on every side and doubles its margin whenever the
    pattern comes near its edge, so a small cluster costs little at any period.
    """
    height, width = start.shape
    margin = 16
    a = np.zeros((height + 2 * margin, width + 2 * margin), np.uint8)
    b = np.zeros_like(a)
    a[margin:margin + height, margin:margin + width] = start
    box = (margin, margin, margin + height - 1, margin + width - 1)
    spent = 0
    for gen in range(1, max_period + 1):
        spent += (box[2] - box[0] + 3) * (box[3] - box[1] + 3)
        if spent > budget:
            return 0, 0, 0
        box = _step_box(a, b, box, born, kept)
        a, b = b, a
        top, left, bottom, right = box
        if bottom < 0:
            return 0, 0, 0
        if bottom - top + 1 == height and right - left + 1 == width and \
                _same(a, top, left, start):
            return gen, top - margin, left - margin
        if top < 2 or left < 2 or bottom > a.shape[0] - 3 or right > a.shape[1] - 3:
            grow = a.shape[0] + a.shape[1]  # re-centre in a frame about three times as wide
            bigger = np.zeros((a.shape[0] + 2 * grow, a.shape[1] + 2 * grow), np.uint8)
            bigger[grow:grow + a.shape[0], grow:grow + a.shape[1]] = a
            a, b = bigger, np.zeros_like(bigger)
            margin += grow
            box = (top + grow, left + grow, bottom + grow, right + grow)
    return 0, 0, 0


@nb.njit(cache=True)
def _step_box(a: Cells, b: Cells, box: tuple[int, int, int, int], born: Cells,
              kept: Cells) -> tuple[int, int, int, int]:
    """Step ``a`` into ``b`` over ``box`` grown by one; clear ``a`` there; return b's live box."""
    top, left, bottom, right = box
    new_top, new_left, new_bottom, new_right = a.shape[0], a.shape[1], -1, -1
    for y in range(top - 1, bottom + 2):
        for x in range(left - 1, right + 2):
            count = (a[y - 1, x - 1] + a[y - 1, x] + a[y - 1, x + 1] + a[y, x - 1]
                     + a[y, x + 1] + a[y + 1, x - 1] + a[y + 1, x] + a[y + 1, x + 1])
            alive = kept[count] if a[y, x] else born[count]
            b[y, x] = alive
            if alive:
                new_top, new_bottom = min(new_top, y), max(new_bottom, y)
                new_left, new_right = min(new_left, x), max(new_right, x)
    a[top - 1:bottom + 2, left - 1:right + 2] = 0
    return new_top, new_left, new_bottom, new_right


@nb.njit(cache=True)
def _same(cells: Cells, top: int, left: int, start: Cells) -> bool:
    """Whether ``cells`` from (top, left) holds exactly ``start``."""
    height, width = start.shape
    for y in range(height):
        for x in range(width):
            if cells[top + y, left + x] != start[y, x]:
                return False
    return True


def _origin(cells: Cells) -> tuple[int, int]:
    rows, cols = np.flatnonzero(cells.any(axis=1)), np.flatnonzero(cells.any(axis=0))
    return int(rows[0]), int(cols[0])


@dataclass(frozen=True)
class Part:
    """One independent object of a cluster: its cells, where they sit, what it is."""

    cells: Cells
    top: int
    left: int
    apgcode: str  # "unknown" when the part never repeats
    kind: str
    period: int | None


def separate(cells: Cells, rule: Rule = CONWAY, max_period: int = MAX_PERIOD,
             budget: int = PERIOD_BUDGET) -> list[Part]:
    """Split a cluster (a 0/1 box) into the smallest groups of cells that evolve independently.

    A cluster that never repeats is not split: it is one unknown part.
    """
    whole = periodicity(cells, rule, max_period, budget)
    if whole is None:
        return [_part(cells, 0, 0, None)]
    margin = _reach(whole)
    frame = np.pad(cells, margin)
    masks = _loosest_split(frame, whole, rule, (whole.period, budget))  # a part repeats with it
    parts = []
    for mine, period in masks:
        rows, cols = np.flatnonzero(mine.any(axis=1)), np.flatnonzero(mine.any(axis=0))
        parts.append(_part(trim(mine), int(rows[0]) - margin, int(cols[0]) - margin, period))
    return sorted(parts, key=lambda p: (p.top, p.left))


def _loosest_split(frame: Cells, whole: Periodicity, rule: Rule, search: tuple[int, int]
                   ) -> list[tuple[Cells, Periodicity]]:
    """Split a periodic pattern starting from the phase where it falls into the most pieces.

    Parts of one pattern that never interact may touch in some phases (killer toads, two
    spaceships flying in tandem), so the pieces of the generation given are too coarse there,
    and the answer must not depend on the phase. Each part found in the loosest phase is
    stepped alone to the generation given, where its cells are taken; should the parts not
    tile that generation exactly, the generation given is split instead.
    """
    states = [frame]
    for _ in range(whole.period - 1):
        states.append(step_plane(states[-1], rule))
    counts = [int(ndimage.label(state, structure=_EIGHT)[1]) for state in states]
    loosest = max(range(len(states)), key=lambda k: (counts[k], -k))
    if loosest == 0:
        return _split_from(frame, whole, rule, search)
    masks = []
    for mine, period in _split_from(states[loosest], whole, rule, search):
        for _ in range(whole.period - loosest):
            mine = step_plane(mine, rule)
        masks.append((np.roll(mine, (-whole.move[0], -whole.move[1]), axis=(0, 1)), period))
    if np.array_equal(np.sum([mask for mask, _ in masks], axis=0), frame):
        return masks
    return _split_from(frame, whole, rule, search)


def _split_from(start: Cells, whole: Periodicity, rule: Rule, search: tuple[int, int]
                ) -> list[tuple[Cells, Periodicity]]:
    """Group the 8-connected pieces of ``start`` into periodic, independent parts (masks)."""
    labels, count = ndimage.label(start, structure=_EIGHT)
    groups = _independent(start, labels, count, whole.period, rule)
    found = _periodic_groups(start, labels, groups, whole, rule, search)
    return [(np.isin(labels, list(group)).astype(np.uint8) & start, period)
            for group, period in found]


def _periodic_groups(frame: Cells, labels: NDArray[np.int32], groups: list[set[int]],
                     whole: Periodicity, rule: Rule, search: tuple[int, int]
                     ) -> list[tuple[set[int], Periodicity]]:
    """Merge each group that does not repeat alone into its nearest group, until all do.

    A spark that dies at once while the rest of the object makes it again evolves
    independently of the rest, yet it is no object: it belongs to what makes it.
    """
    known: dict[frozenset[int], Periodicity | None] = {}
    while True:
        if len(groups) == 1:
            return [(groups[0], whole)]
        masks = [np.isin(labels, list(g)) & frame.astype(bool) for g in groups]
        for group, mask in zip(groups, masks, strict=True):
            if frozenset(group) not in known:
                known[frozenset(group)] = periodicity(mask.astype(np.uint8), rule, *search)
        periods = [known[frozenset(g)] for g in groups]
        lost = next((i for i, period in enumerate(periods) if period is None), None)
        if lost is None:
            return [(g, period) for g, period in zip(groups, periods, strict=True)
                    if period is not None]
        near = ndimage.distance_transform_cdt(~masks[lost], metric="chessboard")
        nearest = min((i for i in range(len(groups)) if i != lost),
                      key=lambda i: int(near[masks[i]].min()))
        groups = [g for i, g in enumerate(groups) if i not in (lost, nearest)] + [
            groups[lost] | groups[nearest]]


def _reach(whole: Periodicity) -> int:
    """Room around a pattern for one period: twice its largest phase and its displacement."""
    side = max(int(max(phase.shape)) for phase in whole.phases)
    return min(whole.period, 2 * side + abs(whole.move[0]) + abs(whole.move[1])) + 2


def _independent(frame: Cells, labels: NDArray[np.int32], count: int, period: int,
                 rule: Rule) -> list[set[int]]:
    """Group the 8-connected pieces of ``frame`` into those that evolve independently.

    Each group is stepped alone beside the whole for one period. Where their union first
    differs from the whole, the groups with cells next to the difference a generation before
    met: they are merged (their states then were exactly their cells in the whole) and the
    generation is stepped again, so one pass over the period settles every group.
    """
    groups = [{i} for i in range(1, count + 1)]
    states = [(labels == i).astype(np.uint8) for i in range(1, count + 1)]
    joint = frame
    for _ in range(period):
        joint = step_plane(joint, rule)
        while True:
            stepped = [step_plane(state, rule) for state in states]
            differs = np.bitwise_or.reduce(stepped) != joint
            if len(groups) == 1 or not differs.any():
                break
            near = ndimage.binary_dilation(differs, _EIGHT, iterations=1)
            met = [i for i, state in enumerate(states) if (state.astype(bool) & near).any()]
            met = met if len(met) > 1 else list(range(len(groups)))
            kept = [i for i in range(len(groups)) if i not in met]
            groups = [groups[i] for i in kept] + [set().union(*(groups[i] for i in met))]
            states = [states[i] for i in kept] + [np.bitwise_or.reduce([states[i] for i in met])]
        states = stepped
    return groups


def _part(cells: Cells, top: int, left: int, found: Periodicity | None) -> Part:
    if found is None:
        return Part(trim(cells), top, left, "unknown", "unknown", None)
    return Part(trim(cells), top, left, found.apgcode, found.kind, found.period)
