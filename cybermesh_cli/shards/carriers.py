"""Shards riding spaceships: launch a carrier, track it tick by tick, know when it is lost.

A carrier is a spaceship (a glider for diagonal hops, a lightweight spaceship for orthogonal
ones) launched by a bot toward a neighbouring bot. Each tick the tracker predicts every
carrier's centroid from its velocity and takes the nearest detected object of the same kind
within a gate. With none there, the carrier coasts on its prediction (passing close to debris
merges clusters, so it is not seen as a spaceship for a moment) and is lost, having died or
collided, after COAST ticks unseen. Beside each carrier runs a ghost: the same spaceship alone
on an empty torus, whose centroid is the carrier's true position while it is intact; that is how
tracking is scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cybermesh_cli.substrate.detect import Detection
from cybermesh_cli.substrate.grid import Grid
from cybermesh_cli.substrate.library import ObjectForm, default_library
from cybermesh_cli.substrate.shapes import Cells

GATE = 2.0  # cells between a carrier's predicted and detected centroid
COAST = 3  # ticks a carrier may go undetected (merged with nearby debris) before it is lost


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


@dataclass
class Carrier:
    """One tracked spaceship and its ghost."""

    id: int
    apgcode: str
    velocity: tuple[float, float]
    centroid: tuple[float, float]
    ghost: Grid
    launched: int
    alive: bool = True
    shards: list[int] = field(default_factory=list)
    bbox: tuple[int, int, int, int] = (0, 0, 0, 0)  # last detected: top, left, height, width
    unseen: int = 0  # ticks since it was last detected

    def true_centroid(self) -> tuple[float, float]:
        """Return the ghost's centroid: where the carrier would be if nothing disturbed it."""
        ys, xs = np.nonzero(self.ghost.cells)
        return _wrapped_mean(ys, xs, (self.ghost.height, self.ghost.width))

    def intact(self, world: Cells) -> bool:
        """Ground truth: the world holds exactly the ghost's cells in the ghost's bounding box."""
        ghost = self.ghost.cells
        ys, xs = np.nonzero(ghost)
        h, w = ghost.shape
        rows = np.arange(ys.min(), ys.max() + 1) % h if ys.max() - ys.min() < h / 2 else \
            np.unique(ys)
        cols = np.arange(xs.min(), xs.max() + 1) % w if xs.max() - xs.min() < w / 2 else \
            np.unique(xs)
        box = np.ix_(rows, cols)
        return bool(np.array_equal(world[box], ghost[box]))


def _wrapped_mean(ys: np.ndarray, xs: np.ndarray, shape: tuple[int, int]) -> tuple[float, float]:
    """Centroid of cells on a torus (unwrapped around the first cell)."""
    h, w = shape
    dy = (ys - ys[0] + h // 2) % h - h // 2
    dx = (xs - xs[0] + w // 2) % w - w // 2
    return (float(ys[0] + dy.mean()) % h, float(xs[0] + dx.mean()) % w)


def place(world: Cells, form: ObjectForm, top: int, left: int) -> bool:
    """Write ``form`` at (top, left) if a 2-cell margin around it is empty; True if placed."""
    h, w = form.cells.shape
    rows = np.arange(top - 2, top + h + 2) % world.shape[0]
    cols = np.arange(left - 2, left + w + 2) % world.shape[1]
    if world[np.ix_(rows, cols)].any():
        return False
    world[np.ix_(rows[2:-2], cols[2:-2])] |= form.cells
    return True


class Tracker:
    """Follows carriers from one tick's detections to the next."""

    def __init__(self, shape: tuple[int, int]) -> None:
        """Track on a torus of ``shape``."""
        self.shape = shape
        self.carriers: dict[int, Carrier] = {}
        self._next_id = 0

    def launch(self, world: Cells, form: ObjectForm, top: int, left: int, tick: int,
               rule_grid: Grid) -> Carrier | None:
        """Place a spaceship in ``world`` and start tracking it (None if the spot is busy)."""
        if not place(world, form, top, left):
            return None
        ghost_cells = np.zeros(self.shape, np.uint8)
        place(ghost_cells, form, top, left)
        ys, xs = np.nonzero(ghost_cells)
        carrier = Carrier(self._next_id, form.apgcode, form.velocity,
                          _wrapped_mean(ys, xs, self.shape),
                          Grid(ghost_cells, rule_grid.rule, torus=True), tick)
        self.carriers[carrier.id] = carrier
        self._next_id += 1
        return carrier

    def update(self, detections: list[Detection]) -> list[Carrier]:
        """Advance every live carrier one tick; return the ones lost this tick."""
        lost = []
        taken: set[int] = set()
        for carrier in self.carriers.values():
            if not carrier.alive:
                continue
            carrier.ghost.step(1)
            predicted = ((carrier.centroid[0] + carrier.velocity[0]) % self.shape[0],
                         (carrier.centroid[1] + carrier.velocity[1]) % self.shape[1])
            best, best_distance = None, GATE
            for index, found in enumerate(detections):
                if found.apgcode != carrier.apgcode or index in taken:
                    continue
                distance = torus_distance(found.centroid, predicted, self.shape)
                if distance <= best_distance:
                    best, best_distance = index, distance
            if best is None:
                carrier.unseen += 1
                carrier.centroid = predicted
                if carrier.unseen > COAST:
                    carrier.alive = False
                    lost.append(carrier)
            else:
                taken.add(best)
                carrier.unseen = 0
                carrier.centroid = detections[best].centroid
                carrier.bbox = detections[best].bbox
        return lost

    def absorb(self, world: Cells, carrier: Carrier) -> None:
        """Erase a carrier with no riders left (its bot eats it) and stop tracking it."""
        top, left, height, width = carrier.bbox
        rows = np.arange(top, top + height) % world.shape[0]
        cols = np.arange(left, left + width) % world.shape[1]
        world[np.ix_(rows, cols)] = 0
        carrier.alive = False
