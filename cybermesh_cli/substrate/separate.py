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

import numba as nb
import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from cybermesh_cli.substrate.rules import CONWAY, Rule
from cybermesh_cli.substrate.shapes import Cells, apgcode, trim

MAX_PERIOD = 60  # longest period looked for (the pentadecathlon's 15, pulsar's 3, ...)
_EIGHT = np.ones((3, 3), bool)


def step_plane(cells: Cells, rule: Rule) -> Cells:
    """One generation of a small pattern whose border is dead and stays far from its cells."""
    padded = np.pad(cells, 1)
    count = sum(padded[1 + dy:padded.shape[0] - 1 + dy, 1 + dx:padded.shape[1] - 1 + dx]
                for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)
    born = np.array([rule.birth >> n & 1 for n in range(9)], np.uint8)
    kept = np.array([rule.survive >> n & 1 for n in range(9)], np.uint8)
    stepped: Cells = np.where(cells == 1, kept[count], born[count]).astype(np.uint8)
    return stepped


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


def periodicity(cells: Cells, rule: Rule = CONWAY,
                max_period: int = MAX_PERIOD) -> Periodicity | None:
    """Step ``cells`` alone; return how it repeats (up to a shift), or None if it does not.

    The search runs in Numba (:func:`_repeat`), since most clusters of soup ash that reach it
    never repeat and cost all ``max_period`` generations; the phases of a periodic object are
    then collected with :func:`step_plane`.
    """
    start = trim(cells)
    if not start.size:
        return None
    born = np.array([rule.birth >> n & 1 for n in range(9)], np.uint8)
    kept = np.array([rule.survive >> n & 1 for n in range(9)], np.uint8)
    period, dy, dx = _repeat(np.ascontiguousarray(start), born, kept, max_period)
    if period == 0:
        return None
    phases = [start]
    state = np.pad(start, period + 1)
    for _ in range(period - 1):
        state = step_plane(state, rule)
        phases.append(trim(state))
    return Periodicity(int(period), (int(dy), int(dx)), tuple(phases))


@nb.njit(cache=True)
def _repeat(start: Cells, born: Cells, kept: Cells, max_period: int) -> tuple[int, int, int]:
    """Period and displacement of ``start`` (trimmed) on an empty plane; (0, 0, 0) if none.

    Steps inside a frame ``max_period + 1`` cells wider than the pattern on every side, over
    the live cells' bounding box grown by one each generation, so a small cluster costs little.
    """
    height, width = start.shape
    margin = max_period + 1
    a = np.zeros((height + 2 * margin, width + 2 * margin), np.uint8)
    b = np.zeros_like(a)
    a[margin:margin + height, margin:margin + width] = start
    box = (margin, margin, margin + height - 1, margin + width - 1)
    for gen in range(1, max_period + 1):
        box = _step_box(a, b, box, born, kept)
        a, b = b, a
        top, left, bottom, right = box
        if bottom < 0:
            return 0, 0, 0
        if bottom - top + 1 == height and right - left + 1 == width and \
                _same(a, top, left, start):
            return gen, top - margin, left - margin
        if top < 1 or left < 1 or bottom > a.shape[0] - 2 or right > a.shape[1] - 2:
            return 0, 0, 0  # it spread past the frame: no period within max_period
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


def warm_up() -> None:
    """Compile the period search now (a blinker), so no timed detection pays for the JIT."""
    periodicity(np.ones((1, 3), np.uint8))


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


def separate(cells: Cells, rule: Rule = CONWAY, max_period: int = MAX_PERIOD) -> list[Part]:
    """Split a cluster (a 0/1 box) into the smallest groups of cells that evolve independently.

    A cluster that never repeats is not split: it is one unknown part.
    """
    whole = periodicity(cells, rule, max_period)
    if whole is None:
        return [_part(cells, 0, 0, None)]
    margin = max_period + 2
    frame = np.pad(cells, margin)
    labels, count = ndimage.label(frame, structure=_EIGHT)
    groups = [{i} for i in range(1, count + 1)]
    while len(groups) > 1:
        clash = _first_clash(frame, labels, groups, whole.period, rule)
        if clash is None:
            break
        merged = set().union(*(groups[i] for i in clash))
        groups = [g for i, g in enumerate(groups) if i not in clash] + [merged]
    parts = []
    for group in groups:
        mine = np.isin(labels, list(group)).astype(np.uint8) & frame
        rows, cols = np.flatnonzero(mine.any(axis=1)), np.flatnonzero(mine.any(axis=0))
        piece = trim(mine)
        found = periodicity(piece, rule, max_period) if len(groups) > 1 else whole
        parts.append(_part(piece, int(rows[0]) - margin, int(cols[0]) - margin, found))
    return sorted(parts, key=lambda p: (p.top, p.left))


def _first_clash(frame: Cells, labels: NDArray[np.int32], groups: list[set[int]],
                 period: int, rule: Rule) -> set[int] | None:
    """Return the indices of groups that interact during one period, or None if none do."""
    states = [np.isin(labels, list(g)).astype(np.uint8) & frame for g in groups]
    joint = frame
    for _ in range(period):
        joint = step_plane(joint, rule)
        stepped = [step_plane(s, rule) for s in states]
        union = np.bitwise_or.reduce(stepped)
        differs = union != joint
        if differs.any():
            near = ndimage.binary_dilation(differs, _EIGHT, iterations=2)
            involved = {i for i, s in enumerate(states) if (s.astype(bool) & near).any()}
            return involved if len(involved) > 1 else set(range(len(groups)))
        states = stepped
    return None


def _part(cells: Cells, top: int, left: int, found: Periodicity | None) -> Part:
    if found is None:
        return Part(trim(cells), top, left, "unknown", "unknown", None)
    return Part(trim(cells), top, left, found.apgcode, found.kind, found.period)
