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

from dataclasses import dataclass, field
from functools import cache, cached_property

import numpy as np

from cybermesh_cli.errors import InputError
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


@dataclass
class Carrier:
    """One tracked spaceship and its ghost (where it would be, undisturbed, after ``age`` ticks)."""

    id: int
    apgcode: str
    velocity: tuple[float, float]
    centroid: tuple[float, float]
    flight: Flight
    origin: tuple[int, int]  # top-left cell at launch
    shape: tuple[int, int]  # the torus
    launched: int
    age: int = 0
    alive: bool = True
    shards: list[int] = field(default_factory=list)
    bbox: tuple[int, int, int, int] = (0, 0, 0, 0)  # last detected: top, left, height, width
    unseen: int = 0  # ticks since it was last detected

    def ghost(self) -> tuple[Cells, int, int]:
        """Return the ghost's cells and their (top, left) on the torus."""
        cells, dy, dx = self.flight.at(self.age)
        return cells, (self.origin[0] + dy) % self.shape[0], (self.origin[1] + dx) % self.shape[1]

    def true_centroid(self) -> tuple[float, float]:
        """Return the ghost's centroid: where the carrier would be if nothing disturbed it."""
        cells, top, left = self.ghost()
        ys, xs = np.nonzero(cells)
        return (float(top + ys.mean()) % self.shape[0], float(left + xs.mean()) % self.shape[1])

    def intact(self, world: Cells) -> bool:
        """Ground truth: the world holds exactly the ghost's cells in the ghost's bounding box."""
        cells, top, left = self.ghost()
        return bool(np.array_equal(window(world, top, left, *cells.shape), cells))


def place(world: Cells, form: ObjectForm, top: int, left: int) -> bool:
    """Write ``form`` at (top, left) if a 2-cell margin around it is empty; True if placed."""
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
    only if it is already there (``place`` refuses a busy spot anyway).
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
    """Follows carriers from tick to tick, looking for each only where it can be."""

    def __init__(self, shape: tuple[int, int], rule: Rule) -> None:
        """Track on a torus of ``shape`` whose cells follow ``rule``."""
        self.shape = shape
        self.rule = rule
        self.carriers: dict[int, Carrier] = {}
        self._next_id = 0

    def launch(self, world: Cells, form: ObjectForm, top: int, left: int,
               tick: int) -> Carrier | None:
        """Place a spaceship in ``world`` and start tracking it (None if the spot is busy)."""
        if not place(world, form, top, left):
            return None
        ys, xs = np.nonzero(form.cells)
        centroid = (float(top + ys.mean()) % self.shape[0], float(left + xs.mean()) % self.shape[1])
        carrier = Carrier(self._next_id, form.apgcode, form.velocity, centroid,
                          flight(form, self.rule), (top % self.shape[0], left % self.shape[1]),
                          self.shape, tick)
        self.carriers[carrier.id] = carrier
        self._next_id += 1
        return carrier

    def update(self, world: Cells) -> list[Carrier]:
        """Advance every live carrier one tick; return the ones lost this tick."""
        lost = []
        taken: set[tuple[int, int, int, int]] = set()
        for carrier in self.carriers.values():
            if not carrier.alive:
                continue
            carrier.age += 1
            predicted = ((carrier.centroid[0] + carrier.velocity[0]) % self.shape[0],
                         (carrier.centroid[1] + carrier.velocity[1]) % self.shape[1])
            best, best_distance = None, GATE
            for found in detect_window(world, round(predicted[0]) - WINDOW // 2,
                                       round(predicted[1]) - WINDOW // 2, WINDOW,
                                       carrier.flight.populations):
                if found.apgcode != carrier.apgcode or found.bbox in taken:
                    continue
                distance = torus_distance(found.centroid, predicted, self.shape)
                if distance <= best_distance:
                    best, best_distance = found, distance
            if best is None:
                carrier.unseen += 1
                carrier.centroid = predicted
                if carrier.unseen > COAST:
                    carrier.alive = False
                    lost.append(carrier)
            else:
                taken.add(best.bbox)
                carrier.unseen = 0
                carrier.centroid = best.centroid
                carrier.bbox = best.bbox
        return lost

    def absorb(self, world: Cells, carrier: Carrier) -> None:
        """Erase a carrier with no riders left (its bot eats it) and stop tracking it."""
        top, left, height, width = carrier.bbox
        rows = np.arange(top, top + height) % world.shape[0]
        cols = np.arange(left, left + width) % world.shape[1]
        world[np.ix_(rows, cols)] = 0
        carrier.alive = False
