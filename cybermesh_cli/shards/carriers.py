"""Shards riding spaceships: launch a carrier, track it tick by tick, know when it is lost.

A carrier is a spaceship (a glider for diagonal hops, a lightweight spaceship for orthogonal
ones) launched by a bot toward a neighbouring bot. Each tick the tracker predicts every
carrier's centroid from its velocity and takes the nearest detected object of the same kind
within a gate. With none there, the carrier coasts on its prediction (passing close to debris
merges clusters, so it is not seen as a spaceship for a moment) and is lost, having died or
collided, after COAST ticks unseen. Detection runs only in a window around each prediction, so
a tick costs the same whatever the torus's size. Beside each carrier runs a ghost: the same
spaceship alone on an empty torus (computed from one period of its flight), whose centroid is
the carrier's true position while it is intact; that is how tracking is scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np
from numpy.typing import NDArray

from cybermesh_cli.errors import InputError
from cybermesh_cli.shards import kernels
from cybermesh_cli.substrate.detect import detect_window, window
from cybermesh_cli.substrate.grid import Grid
from cybermesh_cli.substrate.library import ObjectForm, default_library
from cybermesh_cli.substrate.rules import Rule
from cybermesh_cli.substrate.shapes import Cells, trim

GATE = 2.0  # cells between a carrier's predicted and detected centroid
COAST = 3  # ticks a carrier may go undetected (merged with nearby debris) before it is lost
WINDOW = 17  # cells a side searched around a carrier's predicted centroid: gate, ship, margin


@cache
def carrier_form(direction: tuple[int, int]) -> ObjectForm:
    """Phase 0 of the spaceship that travels along ``direction`` (dy, dx in -1..1)."""
    name = "glider" if direction[0] and direction[1] else "lwss"
    return next(f for f in default_library().objects[name]
                if f.phase == 0 and (int(np.sign(f.velocity[0])),
                                     int(np.sign(f.velocity[1]))) == direction)


def torus_delta(a: float, b: float, size: int) -> float:
    """Signed shortest difference a - b on a ring of ``size``."""
    return (a - b + size / 2) % size - size / 2


def torus_distance(p: tuple[float, float], q: tuple[float, float], shape: tuple[int, int]) -> float:
    """Euclidean distance on the torus."""
    return float(np.hypot(torus_delta(p[0], q[0], shape[0]), torus_delta(p[1], q[1], shape[1])))


@dataclass(frozen=True)
class Flight:
    """A spaceship alone on an empty plane, over one period.

    Its cells at each phase, where they sit relative to the launch position, and how far one
    period moves it.
    """

    phases: tuple[Cells, ...]
    offsets: tuple[tuple[int, int], ...]
    shift: tuple[int, int]

    def at(self, age: int) -> tuple[Cells, int, int]:
        """Cells and (dy, dx) of their top-left from the launch top-left, ``age`` ticks later."""
        periods, phase = divmod(age, len(self.phases))
        dy, dx = self.offsets[phase]
        return self.phases[phase], dy + periods * self.shift[0], dx + periods * self.shift[1]

    def lane(self, distance: int, margin: int = 1) -> NDArray[np.int64]:
        """Return the cells :func:`lane_clear` looks at, as row runs for :func:`kernels.lane_clear`.

        One (dy, dx, width) row a run, from the launch top-left: the union of the ship's box
        (plus ``margin``) once a period along ``distance`` cells of its undisturbed flight.
        """
        period = len(self.phases)
        speed = max(abs(self.shift[0]), abs(self.shift[1])) / period
        boxes = []
        for age in range(period, int(distance / speed) + 1, period):
            cells, dy, dx = self.at(age)
            boxes.append((dy - margin, dx - margin, cells.shape[0] + 2 * margin,
                          cells.shape[1] + 2 * margin))
        if not boxes:
            return np.zeros((0, 3), np.int64)
        top, left = min(b[0] for b in boxes), min(b[1] for b in boxes)
        covered = np.zeros((max(b[0] + b[2] for b in boxes) - top,
                            max(b[1] + b[3] for b in boxes) - left), np.bool_)
        for dy, dx, rows, cols in boxes:
            covered[dy - top:dy - top + rows, dx - left:dx - left + cols] = True
        runs = []
        for row, line in enumerate(covered):
            edges = np.flatnonzero(np.diff(np.concatenate(([0], line.astype(np.int8), [0]))))
            for start, stop in edges.reshape(-1, 2).tolist():
                runs.append((row + top, start + left, stop - start))
        return np.array(runs, np.int64)

    @cached_property
    def populations(self) -> frozenset[int]:
        """Live cells of each phase (a lightweight spaceship has 9 and 12)."""
        return frozenset(int(p.sum()) for p in self.phases)


def flight(form: ObjectForm, rule: Rule) -> Flight:
    """Step ``form`` alone under ``rule`` for one period; refuse a rule it is no spaceship under."""
    key = (form.name, form.phase, form.orientation, rule)
    if key not in _FLIGHTS:
        _FLIGHTS[key] = _fly(form, rule)
    return _FLIGHTS[key]


def _fly(form: ObjectForm, rule: Rule) -> Flight:
    margin = 2 * form.period + 2
    grid = Grid(np.pad(form.cells, margin), rule, torus=False)
    phases, offsets = [], []
    for _ in range(form.period):
        if not grid.population:
            break
        phases.append(trim(grid.cells))
        offsets.append(_origin(grid.cells, margin))
        grid.step(1)
    back = trim(grid.cells) if grid.population else np.zeros((0, 0), np.uint8)
    if back.shape != form.cells.shape or not np.array_equal(back, form.cells):
        raise InputError(f"rule {rule.name}: a {form.name} is not a spaceship under it, so it "
                         "cannot carry shards")
    return Flight(tuple(phases), tuple(offsets), _origin(grid.cells, margin))


_FLIGHTS: dict[tuple[str, int, int, Rule], Flight] = {}


def _origin(cells: Cells, margin: int) -> tuple[int, int]:
    rows, cols = np.flatnonzero(cells.any(axis=1)), np.flatnonzero(cells.any(axis=0))
    return int(rows[0]) - margin, int(cols[0]) - margin


CARRIER_NAMES = ("glider", "lwss")  # diagonal and orthogonal carriers


@dataclass
class Columns:
    """Carriers' tracked state, one row a carrier in launch order: the arrays the kernels edit."""

    centroid: NDArray[np.float64]  # (n, 2): last detected, or predicted while unseen
    velocity: NDArray[np.float64]  # (n, 2)
    code: NDArray[np.int64]  # index of the carrier's apgcode in :func:`carrier_shapes`
    alive: NDArray[np.bool_]
    unseen: NDArray[np.int64]  # ticks since it was last detected
    age: NDArray[np.int64]  # ticks since launch
    bbox: NDArray[np.int64]  # (n, 4): last detected top, left, height, width
    bot: NDArray[np.int64]  # the bot whose tile its riders are at (kept by the shard layer)
    riders: NDArray[np.int64]  # shards aboard (kept by the shard layer)
    shape: NDArray[np.int64]  # last detected shape, a row of :func:`carrier_shapes`' keys, or -1

    @classmethod
    def empty(cls, rows: int) -> Columns:
        """Return columns with room for ``rows`` carriers."""
        return cls(np.zeros((rows, 2)), np.zeros((rows, 2)), np.zeros(rows, np.int64),
                   np.zeros(rows, np.bool_), np.zeros(rows, np.int64), np.zeros(rows, np.int64),
                   np.zeros((rows, 4), np.int64), np.zeros(rows, np.int64),
                   np.zeros(rows, np.int64), np.full(rows, -1, np.int64))

    def take(self, rows: NDArray[np.int64], room: int) -> Columns:
        """Copy ``rows`` (in that order) into new columns with room for ``room`` carriers."""
        out = Columns.empty(room)
        for name, column in vars(self).items():
            getattr(out, name)[:len(rows)] = column[rows]
        return out


@cache
def carrier_shapes() -> tuple[tuple[str, ...], NDArray[np.int64], NDArray[np.int64], float]:
    """Carriers' apgcodes, every library shape of theirs keyed (sorted) with its code, reach.

    The reach: how far (Chebyshev) from a carrier's predicted centroid the cell of a matching
    shape nearest to its centroid can be (the gate plus the farthest such cell of any shape).
    """
    library = default_library()
    forms = [f for n in CARRIER_NAMES for f in library.objects[n]]
    codes = tuple(dict.fromkeys(f.apgcode for f in forms))
    pairs = sorted({(int(kernels.shape_key(f.cells)), codes.index(f.apgcode)) for f in forms})
    keys = np.array([k for k, _ in pairs], np.int64)
    nearest = 0.0
    for form in forms:
        ys, xs = np.nonzero(form.cells)
        nearest = max(nearest, float(np.min(np.maximum(abs(ys - ys.mean()),
                                                       abs(xs - xs.mean())))))
    return codes, keys, np.array([c for _, c in pairs], np.int64), GATE + nearest + 1e-9


@dataclass(frozen=True)
class Successors:
    """Each carrier shape of :func:`carrier_shapes` one generation on, alone.

    The tracker's fast path checks that a carrier seen last tick is exactly that now
    (:func:`kernels.track`).
    """

    index: NDArray[np.int64]  # the next shape's row in the keys, or -1 (none, or not a carrier)
    moves: NDArray[np.int64]  # (n, 4): its box's top and left from the old box's, its height, width
    rows: NDArray[np.uint64]  # (n, 8): its rows as bits, the first column lowest
    sums: NDArray[np.int64]  # (n, 3): live cells, their rows summed, their columns summed


@cache
def carrier_successors(rule: Rule) -> Successors:
    """Step every carrier shape alone one generation under ``rule`` and key what it becomes."""
    _, keys, key_codes, _ = carrier_shapes()
    shapes = {int(kernels.shape_key(f.cells)): f.cells
              for n in CARRIER_NAMES for f in default_library().objects[n]}
    index = np.full(len(keys), -1, np.int64)
    moves = np.zeros((len(keys), 4), np.int64)
    rows = np.zeros((len(keys), 8), np.uint64)
    sums = np.zeros((len(keys), 3), np.int64)
    for k, key in enumerate(keys.tolist()):
        grid = Grid(np.pad(shapes[key], 2), rule, torus=False)
        grid.step(1)
        after = trim(grid.cells)
        if not after.size or after.size > kernels.MAX_KEY_AREA or max(after.shape) > 8:
            continue
        next_key = kernels.shape_key(after)
        found = int(np.searchsorted(keys, next_key))
        if found == len(keys) or keys[found] != next_key or key_codes[found] != key_codes[k]:
            continue
        index[k] = found
        moves[k] = (*_origin(grid.cells, 2), *after.shape)
        for r, line in enumerate(after):
            rows[k, r] = sum(1 << c for c in np.flatnonzero(line).tolist())
        ys, xs = np.nonzero(after)
        sums[k] = len(ys), ys.sum(), xs.sum()
    return Successors(index, moves, rows, sums)


class Carrier:
    """One tracked spaceship: who it is and who rides it; where it is lives in the columns.

    Beside it runs its ghost (where it would be, undisturbed, after ``age`` ticks).
    """

    def __init__(self, id: int, apgcode: str, velocity: tuple[float, float], flight: Flight,
                 origin: tuple[int, int], shape: tuple[int, int], launched: int,
                 data: Columns, row: int) -> None:
        """Describe a carrier launched at tick ``launched`` from top-left cell ``origin``."""
        self.id = id
        self.apgcode = apgcode
        self.velocity = velocity
        self.step = (int(velocity[0] > 0) - int(velocity[0] < 0),
                     int(velocity[1] > 0) - int(velocity[1] < 0))  # its heading
        self.flight = flight
        self.origin = origin
        self.shape = shape  # the torus
        self.launched = launched
        self.shards: list[int] = []
        self.data, self.row = data, row

    @property
    def centroid(self) -> tuple[float, float]:
        """Where the tracker sees it (or, while unseen, predicts it): (y, x)."""
        y, x = self.data.centroid[self.row].tolist()
        return y, x

    @centroid.setter
    def centroid(self, value: tuple[float, float]) -> None:
        """Move where the tracker sees it (tests score a displaced track)."""
        self.data.centroid[self.row] = value

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """Last detected box: top, left, height, width."""
        top, left, height, width = self.data.bbox[self.row].tolist()
        return top, left, height, width

    @property
    def alive(self) -> bool:
        """False once lost or absorbed."""
        return bool(self.data.alive[self.row])

    @property
    def age(self) -> int:
        """Ticks since launch."""
        return int(self.data.age[self.row])

    @age.setter
    def age(self, value: int) -> None:
        """Set its age (tests step its ghost alone)."""
        self.data.age[self.row] = value

    @property
    def unseen(self) -> int:
        """Ticks since it was last detected."""
        return int(self.data.unseen[self.row])

    @unseen.setter
    def unseen(self, value: int) -> None:
        """Set the ticks since it was last seen (tests make it coast)."""
        self.data.unseen[self.row] = value

    def ghost(self) -> tuple[Cells, int, int]:
        """Return the ghost's cells and their (top, left) on the torus."""
        cells, dy, dx = self.flight.at(self.age)
        return cells, (self.origin[0] + dy) % self.shape[0], (self.origin[1] + dx) % self.shape[1]

    def true_centroid(self) -> tuple[float, float]:
        """Return the ghost's centroid: where the carrier would be if nothing disturbed it."""
        cells, top, left = self.ghost()
        ys, xs = np.nonzero(cells)
        return (float(top + ys.mean()) % self.shape[0], float(left + xs.mean()) % self.shape[1])

    def intact(self, grid: Grid) -> bool:
        """Ground truth: the grid holds exactly the ghost's cells in the ghost's bounding box."""
        cells, top, left = self.ghost()
        seen = kernels.window(grid.words, grid.height, grid.width, top, left, *cells.shape)
        return bool(np.array_equal(seen, cells))


def place(world: Cells, form: ObjectForm, top: int, left: int) -> bool:
    """Write ``form`` at (top, left) if a 2-cell margin around it is empty; True if placed.

    The reference for :func:`kernels.place`, on unpacked cells.
    """
    h, w = form.cells.shape
    if window(world, top - 2, left - 2, h + 4, w + 4).any():
        return False
    height, width = world.shape
    top, left = top % height, left % width
    if top + h <= height and left + w <= width:
        world[top:top + h, left:left + w] |= form.cells
    else:
        world[np.ix_(np.arange(top, top + h) % height, np.arange(left, left + w) % width)] |= \
            form.cells
    return True


def lane_clear(world: Cells, form: ObjectForm, flight: Flight, top: int, left: int,
               distance: int, margin: int = 1) -> bool:
    """Say whether a ship launched at (top, left) meets no live cell in ``distance`` cells.

    Checks the ship's box (plus ``margin``) once a period along its undisturbed flight: the
    lane a bot can see before it launches. Cells the ship itself would occupy at launch count
    only if it is already there (``place`` refuses a busy spot anyway). The reference for
    :func:`kernels.lane_clear`, on unpacked cells.
    """
    period = len(flight.phases)
    speed = max(abs(flight.shift[0]), abs(flight.shift[1])) / period
    for age in range(period, int(distance / speed) + 1, period):
        cells, dy, dx = flight.at(age)
        h, w = cells.shape
        if window(world, top + dy - margin, left + dx - margin, h + 2 * margin,
                  w + 2 * margin).any():
            return False
    return True


class Tracker:
    """Follows carriers from tick to tick, looking for each only where it can be.

    Carriers are rows of :class:`Columns`; one compiled pass (:func:`kernels.track`) tracks
    them all, and :meth:`update` with ``compiled=False`` runs the Python reference instead.
    """

    def __init__(self, shape: tuple[int, int], rule: Rule) -> None:
        """Track on a torus of ``shape`` whose cells follow ``rule``."""
        self.shape = shape
        self.rule = rule
        self.carriers: dict[int, Carrier] = {}  # live ones (and this tick's dead), by id
        self.rows: list[Carrier] = []  # the same and some dead ones, in row order
        self.data = Columns.empty(64)
        self.codes, self._keys, self._key_codes, self._reach = carrier_shapes()
        self._successors = carrier_successors(rule)
        self._populations: list[frozenset[int]] = [frozenset() for _ in self.codes]
        self._wanted = np.zeros((len(self.codes), 1), np.bool_)
        self._forms: dict[tuple[str, int, int], tuple[Flight, int, tuple[float, float]]] = {}
        self._next_id = 0

    def launch(self, grid: Grid, form: ObjectForm, top: int, left: int,
               tick: int) -> Carrier | None:
        """Place a spaceship on ``grid`` and start tracking it (None if the spot is busy)."""
        if not kernels.place(grid.words, grid.height, grid.width, form.cells, top, left):
            return None
        return self.add(form, top, left, tick)

    def add(self, form: ObjectForm, top: int, left: int, tick: int, bot: int = -1) -> Carrier:
        """Start tracking a spaceship already written at (top, left)."""
        return self.add_many([form], [top], [left], tick, [bot])[0]

    def add_many(self, forms: Sequence[ObjectForm], tops: Sequence[int], lefts: Sequence[int],
                 tick: int, bots: Sequence[int]) -> list[Carrier]:
        """Start tracking spaceships already written at (``tops[i]``, ``lefts[i]``), in order.

        ``bots``: the bot each was launched by (kept in the columns for the shard layer).
        """
        start, count = len(self.rows), len(forms)
        if not count:
            return []
        room = len(self.data.code)
        if start + count > room:
            while room < start + count:
                room *= 2
            self._move(np.arange(start), room)
        height, width = self.shape
        rides = [self._form(form) for form in forms]
        data, rows = self.data, slice(start, start + count)
        data.centroid[rows] = [((top + offset[0]) % height, (left + offset[1]) % width)
                               for top, left, (_, _, offset) in zip(tops, lefts, rides,
                                                                   strict=True)]
        data.velocity[rows] = [form.velocity for form in forms]
        data.code[rows] = [code for _, code, _ in rides]
        data.alive[rows], data.unseen[rows], data.age[rows], data.bbox[rows] = True, 0, 0, 0
        data.bot[rows], data.riders[rows], data.shape[rows] = bots, 0, -1
        carriers = [Carrier(self._next_id + k, form.apgcode, form.velocity, ride,
                            (top % height, left % width), self.shape, tick, data, start + k)
                    for k, (form, (ride, _, _), top, left)
                    in enumerate(zip(forms, rides, tops, lefts, strict=True))]
        self._next_id += count
        self.rows += carriers
        self.carriers.update((carrier.id, carrier) for carrier in carriers)
        return carriers

    def _form(self, form: ObjectForm) -> tuple[Flight, int, tuple[float, float]]:
        """Return a carrier form's flight, code and centroid from its top-left (worked out once)."""
        name = (form.name, form.phase, form.orientation)
        if name in self._forms:
            return self._forms[name]
        ride = flight(form, self.rule)
        code = self.codes.index(form.apgcode)
        if not ride.populations <= self._populations[code]:
            self._populations[code] |= ride.populations
            wanted = np.zeros((len(self.codes), max(max(p, default=0)
                                                    for p in self._populations) + 1), np.bool_)
            for index, populations in enumerate(self._populations):
                wanted[index, list(populations)] = True
            self._wanted = wanted
        ys, xs = np.nonzero(form.cells)
        self._forms[name] = ride, code, (float(ys.mean()), float(xs.mean()))
        return self._forms[name]

    def update(self, grid: Grid, compiled: bool = True) -> list[Carrier]:
        """Advance every live carrier one tick; return the ones lost this tick."""
        n, data = len(self.rows), self.data
        columns = (data.centroid[:n], data.velocity[:n], data.code[:n], data.alive[:n],
                   data.unseen[:n], data.age[:n], data.bbox[:n])
        if compiled and WINDOW <= min(self.shape):
            after = self._successors
            lost = kernels.track(grid.words, grid.height, grid.width, *columns, data.shape[:n],
                                 self._wanted, self._keys, self._key_codes, after.index,
                                 after.moves, after.rows, after.sums, WINDOW, GATE, self._reach,
                                 COAST)
        else:
            lost = _track_reference(grid.cells, *columns, self._populations, self.codes)
        return [self.rows[row] for row in np.flatnonzero(lost).tolist()]

    def absorb(self, grid: Grid, carrier: Carrier) -> None:
        """Erase a carrier with no riders left (its bot eats it) and stop tracking it."""
        kernels.erase(grid.words, grid.height, grid.width, *carrier.bbox)
        carrier.data.alive[carrier.row] = False

    def purge(self) -> None:
        """Forget dead carriers; their rows go once they are a quarter of the columns.

        A dead carrier keeps the columns it last had, frozen, for whoever still holds it.
        """
        count = len(self.rows)
        alive = self.data.alive[:count]
        dead = count - int(np.count_nonzero(alive))
        if not dead:
            return
        for row in np.flatnonzero(~alive).tolist():
            self.carriers.pop(self.rows[row].id, None)
        if 4 * dead >= count:
            self._move(np.flatnonzero(alive), len(self.data.code))

    def _move(self, rows: NDArray[np.int64], room: int) -> None:
        """Keep only ``rows``, renumbered in order, in new columns of ``room`` rows."""
        self.data = self.data.take(rows, room)
        self.rows = [self.rows[row] for row in rows.tolist()]
        for row, carrier in enumerate(self.rows):
            carrier.data, carrier.row = self.data, row


def _track_reference(cells: Cells, centroid: NDArray[np.float64], velocity: NDArray[np.float64],
                     code: NDArray[np.int64], alive: NDArray[np.bool_],
                     unseen: NDArray[np.int64], age: NDArray[np.int64], bbox: NDArray[np.int64],
                     populations: list[frozenset[int]], codes: tuple[str, ...]
                     ) -> NDArray[np.bool_]:
    """:func:`kernels.track` in Python, over detected objects (:func:`detect_window`)."""
    shape = (cells.shape[0], cells.shape[1])
    lost = np.zeros(len(code), np.bool_)
    taken: set[tuple[int, int, int, int]] = set()
    for i in np.flatnonzero(alive).tolist():
        age[i] += 1
        predicted = ((float(centroid[i, 0]) + float(velocity[i, 0])) % shape[0],
                     (float(centroid[i, 1]) + float(velocity[i, 1])) % shape[1])
        best, best_distance = None, GATE
        for found in detect_window(cells, round(predicted[0]) - WINDOW // 2,
                                   round(predicted[1]) - WINDOW // 2, WINDOW,
                                   populations[code[i]]):
            if found.apgcode != codes[code[i]] or found.bbox in taken:
                continue
            distance = torus_distance(found.centroid, predicted, shape)
            if distance <= best_distance:
                best, best_distance = found, distance
        if best is None:
            unseen[i] += 1
            centroid[i] = predicted
            if unseen[i] > COAST:
                alive[i], lost[i] = False, True
        else:
            taken.add(best.bbox)
            unseen[i] = 0
            centroid[i] = best.centroid
            bbox[i] = best.bbox
    return lost
