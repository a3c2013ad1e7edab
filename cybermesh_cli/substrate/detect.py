"""Object detection: split a grid into clusters, match each against the object library.

Live cells within Chebyshev distance 2 belong to one cluster (so a pulsar's four arms, which
never touch, stay one object). Clusters left unknown are then grouped again at the library's
linking radius, and a group is accepted only if its union is exactly a library form (some
pentadecathlon phases have parts 7 cells apart). On a torus, clusters that cross the edge are
unwrapped. A cluster whose exact shape is not in the library is reported as unknown, never
forced into a class. With ``separate_unknown``, clusters are then split and joined as
apgsearch does, by interaction over the period and by envelope (:func:`detect`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from itertools import combinations
from typing import Any

import numba as nb
import numpy as np
from numpy.typing import NDArray

from cybermesh_cli.substrate.library import Library, ObjectForm, default_library
from cybermesh_cli.substrate.rules import CONWAY, Rule
from cybermesh_cli.substrate.separate import PERIOD_BUDGET, Part, separate, step_plane

Cluster = tuple[NDArray[np.int64], NDArray[np.int64]]  # its cells' rows and columns, unwrapped
Candidate = tuple[list[int], NDArray[np.int64], NDArray[np.int64]]  # ids, cells unwrapped together
CLUSTER_RADIUS = 2
MAX_OBJECT_CELLS = 256  # larger clusters are reported unknown without a lookup
MAX_REGROUP = 4  # unknown clusters tried together at once (a split phase has two or three)
MAX_NEARBY = 8  # regroup only among this many nearby unknowns (debris fields are not objects)
MAX_JOINED = 64  # clusters stepped together at most (a shuttle's bees, blocks and sparks)
MAX_JOINED_CELLS = 1024  # and their cells
ENVELOPE_RADIUS = 16  # parts of one object further apart than this in a phase stay apart


@nb.njit(cache=True)
def _clusters(
    cells: NDArray[np.uint8], torus: bool, radius: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Breadth-first clustering; returns cluster starts and each cell's unwrapped (y, x)."""
    height, width = cells.shape
    seen = np.zeros((height, width), np.bool_)
    total = int(cells.sum())
    ys = np.empty(total, np.int64)
    xs = np.empty(total, np.int64)
    starts = np.empty(total + 1, np.int64)
    queue_y = np.empty(total, np.int64)
    queue_x = np.empty(total, np.int64)
    count = 0
    found = 0
    for sy in range(height):
        for sx in range(width):
            if cells[sy, sx] == 0 or seen[sy, sx]:
                continue
            starts[found] = count
            found += 1
            seen[sy, sx] = True
            head = tail = count
            queue_y[tail], queue_x[tail] = sy, sx
            tail += 1
            while head < tail:
                uy, ux = queue_y[head], queue_x[head]
                ys[head], xs[head] = uy, ux
                head += 1
                for dy in range(-radius, radius + 1):
                    for dx in range(-radius, radius + 1):
                        ny, nx = uy + dy, ux + dx
                        wy, wx = ny % height, nx % width
                        if not torus and (ny != wy or nx != wx):
                            continue
                        if cells[wy, wx] and not seen[wy, wx]:
                            seen[wy, wx] = True
                            queue_y[tail], queue_x[tail] = ny, nx
                            tail += 1
            count = tail
    starts[found] = count
    return starts[:found + 1], ys, xs, np.array([height, width])


@dataclass(frozen=True)
class Detection:
    """One object found on the grid."""

    apgcode: str  # "unknown" when the shape is not in the library
    name: str
    kind: str
    phase: int | None
    heading: str | None
    velocity: tuple[float, float]
    centroid: tuple[float, float]  # (y, x), wrapped into the grid
    bbox: tuple[int, int, int, int]  # top, left (wrapped), height, width
    population: int

    def to_json(self) -> dict[str, Any]:
        """Return the detection as plain JSON values."""
        return asdict(self)


def _describe(cy: NDArray[np.int64], cx: NDArray[np.int64], shape: tuple[int, int],
              library: Library) -> Detection:
    """Classify one cluster given its unwrapped cell coordinates."""
    height, width = shape
    top, left = int(cy.min()), int(cx.min())
    box = (int(cy.max()) - top + 1, int(cx.max()) - left + 1)
    centroid = (float(cy.mean()) % height, float(cx.mean()) % width)
    bbox = (top % height, left % width, *box)
    form = None
    if len(cy) <= MAX_OBJECT_CELLS:
        cells = np.zeros(box, np.uint8)
        cells[cy - top, cx - left] = 1
        form = library.lookup(cells)
    return _classify(form, centroid, bbox, len(cy))


def _split(cells: NDArray[np.uint8], torus: bool, radius: int) -> list[tuple[
        NDArray[np.int64], NDArray[np.int64]]]:
    starts, ys, xs, _ = _clusters(np.ascontiguousarray(cells, np.uint8), torus, radius)
    return [(ys[a:b], xs[a:b]) for a, b in zip(starts[:-1], starts[1:], strict=True)]


def detect(
    cells: NDArray[np.uint8], torus: bool = True, library: Library | None = None,
    separate_unknown: bool = False, rule: Rule = CONWAY, period_budget: int = PERIOD_BUDGET,
) -> list[Detection]:
    """Every object on the grid: first the radius-2 clusters, then unknowns regrouped.

    With ``separate_unknown``, a cluster the library does not know is first split as apgsearch
    splits it (:func:`separate.separate`): a traffic light is four blinkers, and a periodic
    part outside the library is named by its apgcode rather than called unknown; then unknown
    clusters and spaceships are stepped with their neighbours (:func:`_joined`), and named
    oscillators whose envelopes meet with theirs (:func:`_enveloped`). Each period search may
    spend ``period_budget`` cell updates (a timed detector gives it less).
    """
    library = library or default_library()
    shape = (cells.shape[0], cells.shape[1])
    clusters = _split(cells, torus, CLUSTER_RADIUS)
    found = [_describe(cy, cx, shape, library) for cy, cx in clusters]
    if separate_unknown:
        clusters, found = _separated(clusters, found, shape, library, rule, period_budget)
        clusters, found = _joined(clusters, found, shape, library, rule, torus, period_budget)
        clusters, found = _enveloped(clusters, found, shape, library, rule, torus,
                                     period_budget)
    unknown = [i for i, d in enumerate(found) if d.apgcode == "unknown"]
    if len(unknown) < 2 or library.linking_radius <= CLUSTER_RADIUS:
        return found
    owner = np.full(shape, -1, np.int64)
    leftovers = np.zeros(shape, np.uint8)
    for index in unknown:
        cy, cx = clusters[index]
        owner[cy % shape[0], cx % shape[1]] = index
        leftovers[cy % shape[0], cx % shape[1]] = 1
    merged: dict[int, Detection] = {}
    absorbed: set[int] = set()
    for cy, cx in _split(leftovers, torus, library.linking_radius):
        ids = owner[cy % shape[0], cx % shape[1]]
        for group, union in _regroup(cy, cx, ids, shape, library):
            merged[min(group)] = union
            absorbed |= set(group)
    return [merged[i] if i in merged else d for i, d in enumerate(found)
            if i in merged or i not in absorbed]


def warm_up() -> None:
    """Compile every step of detection now (two blinkers and a glider), so no timed call pays."""
    scene = np.zeros((32, 32), np.uint8)
    scene[4, 4:7] = scene[4, 9:12] = 1  # two blinkers in one cluster: split by interaction
    scene[20:23, 20:23] = np.array([[0, 1, 0], [0, 0, 1], [1, 1, 1]], np.uint8)
    detect(scene, separate_unknown=True)


def _separated(clusters: list[Cluster], found: list[Detection], shape: tuple[int, int],
               library: Library, rule: Rule, budget: int
               ) -> tuple[list[Cluster], list[Detection]]:
    """Replace each unknown cluster by its independent parts, each classified."""
    out_clusters, out_found = [], []
    for (cy, cx), detection in zip(clusters, found, strict=True):
        if detection.apgcode != "unknown" or len(cy) > MAX_JOINED_CELLS:
            out_clusters.append((cy, cx))
            out_found.append(detection)
            continue
        top, left = int(cy.min()), int(cx.min())
        box = np.zeros((int(cy.max()) - top + 1, int(cx.max()) - left + 1), np.uint8)
        box[cy - top, cx - left] = 1
        for part in separate(box, rule, budget=budget):
            cells, described = _named_part(part, top, left, shape, library)
            out_clusters.append(cells)
            out_found.append(described)
    return out_clusters, out_found


def _joined(clusters: list[Cluster], found: list[Detection], shape: tuple[int, int],
            library: Library, rule: Rule, torus: bool, budget: int
            ) -> tuple[list[Cluster], list[Detection]]:
    """Join an unknown cluster or a spaceship with its neighbours when together they repeat.

    An object whose parts are more than two cells apart in the generation looked at (a
    copperhead, a shuttle) falls into several clusters that never repeat alone, or into a
    glider in flight between its reflectors. Clusters within :data:`ENVELOPE_RADIUS` of an
    unknown one or a spaceship are stepped together; if they repeat, :func:`separate.separate`
    splits them into the parts that evolve independently over the period, as apgsearch does,
    and names each: the answer no longer depends on the phase.
    """
    unknown = {i for i, d in enumerate(found) if d.apgcode == "unknown" or d.kind == "spaceship"}
    if not unknown:
        return clusters, found
    boxes = _Boxes(clusters, shape, torus)
    groups = []
    for seed in sorted(unknown):
        tries = [group for group in (boxes.group(seed, radius) for radius in (
            ENVELOPE_RADIUS, 2 * ENVELOPE_RADIUS)) if group is not None]
        if tries and len(tries[0][0]) >= 2:
            groups.append(tries if len(tries) < 2 or tries[1][0] != tries[0][0] else tries[:1])
    return _resplit(groups, clusters, found, shape, library, rule, budget)


class _Boxes:
    """The clusters' bounding boxes, to find a cluster's neighbours by box gaps.

    Boxes rather than cells, so a wide radius costs the number of clusters, not the radius
    squared a cell; a box gap never exceeds the cells' gap, so no neighbour is missed. Up to
    :data:`ALL_PAIRS` clusters every gap is computed at once; beyond, a cluster's gaps are
    computed when a group reaches it, so memory follows the clusters, never their pairs.
    """

    ALL_PAIRS = 512

    def __init__(self, clusters: list[Cluster], shape: tuple[int, int], torus: bool) -> None:
        self.clusters = clusters
        low = np.array([(cy.min(), cx.min()) for cy, cx in clusters], np.int64)
        high = np.array([(cy.max(), cx.max()) for cy, cx in clusters], np.int64)
        self.low, self.high = low, high
        self.shifts = np.array([-1, 0, 1] if torus else [0], np.int64)[:, None, None] * \
            np.array(shape, np.int64)  # (turns, 1, axis): the torus's turns on each axis
        self.moved_low, self.moved_high = low + self.shifts, high + self.shifts
        self.all: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None
        self.found: dict[tuple[int, int], Candidate | None] = {}
        if len(clusters) <= self.ALL_PAIRS:
            self.all = self._gaps(slice(None))

    def _gaps(self, rows: slice | int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Gaps from the boxes ``rows`` to every box, and the torus turn that gives each."""
        low, high = self.low[rows], self.high[rows]
        if isinstance(rows, slice):
            low, high = low[:, None], high[:, None]
        gap = np.maximum(0, np.maximum(self.moved_low[:, None] - high[None],
                                       low[None] - self.moved_high[:, None]))
        return gap.min(axis=0).max(axis=-1), gap.argmin(axis=0)

    def group(self, seed: int, radius: int) -> Candidate | None:
        """Return the clusters linked to ``seed`` by gaps of at most ``radius``, unwrapped.

        On a torus each member is unwrapped next to the one that reached it. None past
        :data:`MAX_JOINED` clusters or :data:`MAX_JOINED_CELLS` cells.
        """
        if (seed, radius) in self.found:  # every member of a group has the same group
            return self.found[seed, radius]
        offsets = {seed: np.zeros(2, np.int64)}
        queue = [seed]
        group: Candidate | None = None
        while queue and len(offsets) <= MAX_JOINED:
            i = queue.pop()
            gap, best = (self.all[0][i], self.all[1][i]) if self.all else self._gaps(i)
            for j in np.flatnonzero(gap.ravel() <= radius).tolist():
                if j not in offsets:
                    offsets[j] = offsets[i] + self.shifts[best.reshape(-1, 2)[j], 0, [0, 1]]
                    queue.append(j)
        ids = sorted(offsets)
        if len(ids) <= MAX_JOINED and sum(len(self.clusters[i][0]) for i in ids) <= \
                MAX_JOINED_CELLS:
            group = (ids, np.concatenate([self.clusters[i][0] + offsets[i][0] for i in ids]),
                     np.concatenate([self.clusters[i][1] + offsets[i][1] for i in ids]))
        self.found.update({(i, radius): group for i in ids})
        return group


def _enveloped(clusters: list[Cluster], found: list[Detection], shape: tuple[int, int],
               library: Library, rule: Rule, torus: bool, budget: int
               ) -> tuple[list[Cluster], list[Detection]]:
    """Join named objects whose envelopes over their periods come within two cells, then split.

    A figure eight three cells from a pentadecathlon is two objects in this generation and
    one in another, where their cells meet. apgsearch groups cells by their envelope (every
    cell alive at some generation of the period), so its answer never depends on the phase:
    oscillators are stepped over their period, and clusters whose envelopes come within the
    clustering radius are split again by :func:`separate.separate`. A group that does not
    repeat on its own is a piece of something larger (a phase of Achim's p11 looks like
    blocks and blinkers): every cluster within :data:`ENVELOPE_RADIUS` of it is tried with it.
    """
    periods = [_oscillator_period(d) for d in found]
    if not any(periods):
        return clusters, found
    envelope = np.zeros(shape, np.uint8)
    for (cy, cx), period in zip(clusters, periods, strict=True):
        ey, ex = _envelope(cy, cx, period, rule) if period else (cy, cx)
        envelope[ey % shape[0], ex % shape[1]] = 1
    owner = _owners(clusters, shape)
    boxes = _Boxes(clusters, shape, torus)
    groups = []
    for ey, ex in _split(envelope, torus, CLUSTER_RADIUS):
        mine = owner[ey % shape[0], ex % shape[1]]
        ids = sorted(set(mine[mine >= 0].tolist()))
        if 2 <= len(ids) <= MAX_JOINED and any(periods[i] for i in ids) and \
                all(found[i].apgcode != "unknown" for i in ids):
            wider = boxes.group(ids[0], ENVELOPE_RADIUS)
            tries = [(ids, ey[mine >= 0], ex[mine >= 0])] + ([wider] if wider else [])
            groups.append([t for t in tries if len(t[1]) <= MAX_JOINED_CELLS])
    return _resplit(groups, clusters, found, shape, library, rule, budget)


def _oscillator_period(detection: Detection) -> int:
    """Return a named oscillator's period (its apgcode is ``xp<period>_...``), else 0."""
    code = detection.apgcode
    return int(code[2:code.index("_")]) if code.startswith("xp") and "_" in code else 0


def _envelope(cy: NDArray[np.int64], cx: NDArray[np.int64], period: int, rule: Rule
              ) -> Cluster:
    """Every cell an oscillator occupies over its period (it grows a cell a generation at most)."""
    room = min(period, ENVELOPE_RADIUS)
    top, left = int(cy.min()) - room, int(cx.min()) - room
    cells = np.zeros((int(cy.max()) - top + room + 1, int(cx.max()) - left + room + 1), np.uint8)
    cells[cy - top, cx - left] = 1
    union = cells.copy()
    for _ in range(period - 1):
        cells = step_plane(cells, rule)
        union |= cells
    rows, cols = np.nonzero(union)
    return rows.astype(np.int64) + top, cols.astype(np.int64) + left


def _owners(clusters: list[Cluster], shape: tuple[int, int]) -> NDArray[np.int64]:
    """Mark each live cell of the grid with the index of its cluster (-1 where dead)."""
    owner = np.full(shape, -1, np.int64)
    for index, (cy, cx) in enumerate(clusters):
        owner[cy % shape[0], cx % shape[1]] = index
    return owner


def _resplit(groups: list[list[Candidate]], clusters: list[Cluster], found: list[Detection],
             shape: tuple[int, int], library: Library, rule: Rule, budget: int
             ) -> tuple[list[Cluster], list[Detection]]:
    """Separate each group of clusters as one pattern: the first of its candidates that repeats.

    A group none of whose candidates repeats (within the budget) is left as it was.
    """
    replaced: dict[int, list[tuple[Cluster, Detection]]] = {}
    tried: set[tuple[int, ...]] = set()
    for candidates in groups:
        for ids, cy, cx in candidates:
            if replaced.keys() & set(ids):
                break
            if tuple(ids) in tried:
                continue
            tried.add(tuple(ids))
            top, left = int(cy.min()), int(cx.min())
            box = np.zeros((int(cy.max()) - top + 1, int(cx.max()) - left + 1), np.uint8)
            box[cy - top, cx - left] = 1
            parts = separate(box, rule, budget=budget)
            if all(part.apgcode != "unknown" for part in parts):
                replaced[ids[0]] = [_named_part(part, top, left, shape, library)
                                    for part in parts]
                replaced.update({i: [] for i in ids[1:]})
                break
    if not replaced:
        return clusters, found
    pairs = [pair for i, pair in enumerate(zip(clusters, found, strict=True))
             for pair in (replaced[i] if i in replaced else [pair])]
    return [c for c, _ in pairs], [d for _, d in pairs]


def _named_part(part: Part, top: int, left: int, shape: tuple[int, int], library: Library
                ) -> tuple[Cluster, Detection]:
    """Place a separated part on the grid and name it: the library's form, else its code."""
    rows, cols = np.nonzero(part.cells)
    py = (rows + top + part.top).astype(np.int64)
    px = (cols + left + part.left).astype(np.int64)
    described = _describe(py, px, shape, library)
    if described.apgcode == "unknown" and part.apgcode != "unknown":
        described = replace(described, apgcode=part.apgcode, name=part.apgcode, kind=part.kind)
    return (py, px), described


def window(cells: NDArray[np.uint8], top: int, left: int, height: int,
           width: int) -> NDArray[np.uint8]:
    """Return the ``height`` x ``width`` cells from (top, left) of a torus, wrapping around."""
    rows, cols = cells.shape
    top, left = top % rows, left % cols
    if top + height <= rows and left + width <= cols:
        return cells[top:top + height, left:left + width]
    wrapped: NDArray[np.uint8] = cells[np.arange(top, top + height) % rows][
        :, np.arange(left, left + width) % cols]
    return wrapped


def detect_window(cells: NDArray[np.uint8], top: int, left: int, size: int,
                  populations: frozenset[int], library: Library | None = None
                  ) -> list[Detection]:
    """Objects of the given populations wholly inside a square window of a torus.

    A cluster with a cell within the clustering radius of the window's edge may continue
    outside it, so it is skipped; every other cluster is exactly the one :func:`detect` finds
    on the whole grid. This is how carriers are tracked without scanning the whole torus.
    """
    shape = (cells.shape[0], cells.shape[1])
    library = library or default_library()
    if size > min(shape):
        return [d for d in detect(cells, True, library) if d.population in populations]
    wanted = np.zeros(max(populations) + 1, np.bool_)
    wanted[list(populations)] = True
    starts, ys, xs, _ = _clusters(np.ascontiguousarray(window(cells, top, left, size, size)),
                                  False, CLUSTER_RADIUS)
    found = []
    for a, b, y0, x0, y1, x1, sy, sx in _complete(starts, ys, xs, size, CLUSTER_RADIUS,
                                                  wanted).tolist():
        population = b - a
        cells_box = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
        cells_box[ys[a:b] - y0, xs[a:b] - x0] = 1
        # the same float operations as a mean of the cells' coordinates
        centroid = (((sy + population * top) / population) % shape[0],
                    ((sx + population * left) / population) % shape[1])
        bbox = ((y0 + top) % shape[0], (x0 + left) % shape[1], *cells_box.shape)
        found.append(_classify(library.lookup(cells_box), centroid, bbox, population))
    return found


def _classify(form: ObjectForm | None, centroid: tuple[float, float],
              bbox: tuple[int, ...], population: int) -> Detection:
    """Name a cluster by its library form, or call it unknown."""
    box = (int(bbox[0]), int(bbox[1]), int(bbox[2]), int(bbox[3]))
    if form is None:
        return Detection("unknown", "unknown", "unknown", None, None, (0.0, 0.0), centroid,
                         box, population)
    return Detection(form.apgcode, form.name, form.kind, form.phase, form.heading,
                     form.velocity, centroid, box, population)


@nb.njit(cache=True)
def _complete(starts: NDArray[np.int64], ys: NDArray[np.int64], xs: NDArray[np.int64],
              size: int, margin: int, wanted: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Clusters of a wanted population with no cell within ``margin`` of the window's edge.

    One row each: start, stop, min y, min x, max y, max x, sum of y, sum of x.
    """
    rows = np.empty((len(starts) - 1, 8), np.int64)
    kept = 0
    for index in range(len(starts) - 1):
        a, b = starts[index], starts[index + 1]
        if b - a >= len(wanted) or not wanted[b - a]:
            continue
        y0, x0, y1, x1, sy, sx = size, size, -1, -1, 0, 0
        for cell in range(a, b):
            y, x = ys[cell], xs[cell]
            y0, x0, y1, x1 = min(y0, y), min(x0, x), max(y1, y), max(x1, x)
            sy += y
            sx += x
        if y0 >= margin and x0 >= margin and y1 < size - margin and x1 < size - margin:
            rows[kept] = (a, b, y0, x0, y1, x1, sy, sx)
            kept += 1
    return rows[:kept]


def _regroup(cy: NDArray[np.int64], cx: NDArray[np.int64], ids: NDArray[np.int64],
             shape: tuple[int, int], library: Library) -> list[tuple[tuple[int, ...],
                                                                    Detection]]:
    """Largest groups of nearby unknown clusters whose union is a library form.

    ``cy, cx`` are one regrouped cluster's cells, unwrapped together; ``ids`` names the
    radius-2 cluster each cell came from.
    """
    accepted: list[tuple[tuple[int, ...], Detection]] = []
    free = sorted(set(ids.tolist()))
    if len(free) > MAX_NEARBY or len(ids) > MAX_NEARBY * library.max_population:
        return accepted
    sizes = {part: int((ids == part).sum()) for part in free}
    for size in range(min(len(free), MAX_REGROUP), 1, -1):
        for group in combinations(list(free), size):
            if not set(group) <= set(free) or sum(sizes[p] for p in group) > \
                    library.max_population:
                continue
            chosen = np.isin(ids, group)
            union = _describe(cy[chosen], cx[chosen], shape, library)
            if union.apgcode != "unknown":
                accepted.append((group, union))
                free = [i for i in free if i not in group]
    return accepted
