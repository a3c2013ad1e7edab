"""How often a glider two cells from debris really meets it, and how long a passing one stays near.

python scripts/glider_contacts.py

Every phase and heading of a glider is put beside a block, beehive, blinker and boat at every
offset where the nearest cells are exactly two apart (one radius-2 cluster, so the tracker
does not see a glider there). The two are stepped apart and together for 8 generations: they
interact if the union of the parts differs from the whole. For those that do not, it counts
the generations the glider stays within two cells of the debris (the tracker coasts 3).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from scipy import ndimage

from cybermesh_cli.substrate.rules import CONWAY
from cybermesh_cli.substrate.separate import periodicity, step_plane

GLIDER = np.array([[0, 1, 0], [0, 0, 1], [1, 1, 1]], np.uint8)
DEBRIS = {"block": np.ones((2, 2), np.uint8), "blinker": np.ones((1, 3), np.uint8),
          "beehive": np.array([[0, 1, 1, 0], [1, 0, 0, 1], [0, 1, 1, 0]], np.uint8),
          "boat": np.array([[1, 1, 0], [1, 0, 1], [0, 1, 0]], np.uint8)}
GENERATIONS = 8
SIDE, AT = 40, 16


def _within(a: np.ndarray, b: np.ndarray, gap: int) -> bool:
    """Whether a cell of ``a`` lies within Chebyshev distance ``gap`` of a cell of ``b``."""
    return bool((a & ndimage.binary_dilation(b, np.ones((3, 3), bool), iterations=gap)).any())


def _placed(glider: np.ndarray, debris: np.ndarray, dy: int, dx: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """Put the glider and the debris, shifted by (dy, dx), on two empty planes."""
    a, b = np.zeros((SIDE, SIDE), np.uint8), np.zeros((SIDE, SIDE), np.uint8)
    a[AT:AT + glider.shape[0], AT:AT + glider.shape[1]] = glider
    b[AT + dy:AT + dy + debris.shape[0], AT + dx:AT + dx + debris.shape[1]] = debris
    return a, b


def _contact(a: np.ndarray, b: np.ndarray) -> int | None:
    """Count the generations a non-interacting pair stays within 2 cells; None if they meet."""
    near, counting = 1, True
    for _ in range(GENERATIONS):
        a, b, whole = step_plane(a, CONWAY), step_plane(b, CONWAY), step_plane(a | b, CONWAY)
        if not np.array_equal(a | b, whole):
            return None
        counting = counting and _within(a, b, 2)
        near += counting
    return near


def main() -> None:
    """Print the share of contacts that interact and how long the others stay near."""
    phases = periodicity(GLIDER).phases  # type: ignore[union-attr]
    contacts, met, lingering = 0, 0, Counter[int]()
    for debris in DEBRIS.values():
        for phase in phases:
            for turn in range(4):
                glider = np.rot90(phase, turn)
                for dy in range(-8, 9):
                    for dx in range(-8, 9):
                        a, b = _placed(glider, debris, dy, dx)
                        if _within(a, b, 1) or not _within(a, b, 2):
                            continue
                        contacts += 1
                        near = _contact(a, b)
                        met += near is None
                        if near is not None:
                            lingering[near] += 1
    passing = contacts - met
    print(f"{contacts} contacts at two cells: {met} interact within {GENERATIONS} generations "
          f"({met / contacts:.1%}), {passing} pass")
    print("generations a passing glider stays within two cells: "
          + ", ".join(f"{k}: {v}" for k, v in sorted(lingering.items())))
    longer = sum(v for k, v in lingering.items() if k > 3)
    print(f"near for more than 3 generations (the tracker's coast): {longer} of {passing} "
          f"passing ({longer / passing:.1%}), {longer / contacts:.1%} of all contacts")


if __name__ == "__main__":
    main()
