"""Can carriers launched in step cross without meeting? A check on one tile's torus.

Carriers launched from the same spot of their tiles at times equal modulo 64 ticks sit at the
same place in every tile at every moment (a glider crosses a 16-cell tile in 64 ticks, a
lightweight spaceship in 32), so a whole mesh of such streams, one carrier a tile and heading,
behaves as one 16x16 torus. For each pair of headings and each offset between their launch
times this finds whether the two ships ever come within 2 cells of each other (where Life's
rule lets them interact), then looks for launch times for all eight headings that keep every
pair apart (docs/scale.md, fifth round):

    python scripts/crossing_slots.py --lanes keep_right
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
from numpy.typing import NDArray

from cybermesh_cli.shards.carriers import carrier_form, flight
from cybermesh_cli.substrate.rules import CONWAY
from cybermesh_cli.world.shards import HEADINGS, _launch_forms

TILE = 16
PERIOD = 64  # ticks after which every carrier is back at its place in its tile
APART = 3  # Chebyshev distance at which two ships' cells share no neighbour


def occupancy(heading: int, lanes: str) -> list[NDArray[np.int64]]:
    """Return the cells (y, x on the tile's torus) of a carrier from the first spot, by age."""
    form = carrier_form(HEADINGS[heading])
    top, left = _launch_forms(CONWAY, TILE, lanes).spots[heading, 0].tolist()
    cells = []
    for age in range(PERIOD):
        shape, dy, dx = flight(form, CONWAY).at(age)
        ys, xs = np.nonzero(shape)
        cells.append(np.stack([(top + dy + ys) % TILE, (left + dx + xs) % TILE], axis=1))
    return cells


def apart(first: NDArray[np.int64], second: NDArray[np.int64]) -> bool:
    """Say whether every cell of one ship is at least APART cells from every cell of the other."""
    gaps = np.abs(first[:, None, :] - second[None, :, :])
    return bool((np.minimum(gaps, TILE - gaps).max(axis=2) >= APART).all())


def schedule(compatible: dict[tuple[int, int], list[bool]], headings: list[int]
             ) -> dict[int, int] | None:
    """Find launch times (mod PERIOD) keeping every pair of headings apart, or None."""
    def extend(times: dict[int, int]) -> dict[int, int] | None:
        if len(times) == len(headings):
            return times
        heading = headings[len(times)]
        for time in range(PERIOD):
            if all(compatible[(other, heading)][(time - t) % PERIOD] for other, t in times.items()):
                found = extend({**times, heading: time})
                if found is not None:
                    return found
        return None
    return extend({headings[0]: 0})


def main() -> None:
    """Print each pair's compatible offsets, then a schedule for all headings or its absence."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lanes", default="keep_right", choices=["shared", "keep_right"])
    options = parser.parse_args()
    headings = [h for h, step in enumerate(HEADINGS) if step != (0, 0)]
    cells = {h: occupancy(h, options.lanes) for h in headings}
    compatible = {}
    for first, second in itertools.combinations(headings, 2):
        compatible[(first, second)] = [
            all(apart(cells[first][t], cells[second][(t - offset) % PERIOD])
                for t in range(PERIOD)) for offset in range(PERIOD)]
        print(f"{HEADINGS[first]} and {HEADINGS[second]}: apart at "
              f"{sum(compatible[(first, second)])} of {PERIOD} offsets")
    times = schedule(compatible, headings)
    print("launch times for all eight headings:",
          "none exist" if times is None else {HEADINGS[h]: t for h, t in times.items()})


if __name__ == "__main__":
    main()
