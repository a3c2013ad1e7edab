"""Shapes of finite objects: the 8 symmetries of the square, and Catagolue's apgcodes.

An apgcode names an object by kind and period (``xs`` still life with its population, ``xp``
oscillator, ``xq`` spaceship, with the period) and the extended Wechsler encoding of its smallest
representation over all phases and orientations (shorter first, then alphabetical).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

Cells = NDArray[np.uint8]
_DIGITS = "0123456789abcdefghijklmnopqrstuv"
_ZERO_RUN = "0123456789abcdefghijklmnopqrstuvwxyz"


def orientations(cells: Cells) -> list[Cells]:
    """Return the 8 images of ``cells`` under rotations and reflections (0 is the identity)."""
    images = []
    for flipped in (cells, cells[:, ::-1]):
        for turns in range(4):
            images.append(np.ascontiguousarray(np.rot90(flipped, turns)))
    return images


def orientation_matrices() -> list[NDArray[np.int64]]:
    """Return the 2x2 maps of (dy, dx) vectors matching :func:`orientations`, in order."""
    flip = np.array([[1, 0], [0, -1]])
    rotate = np.array([[0, -1], [1, 0]])  # np.rot90 once, on (row, column) vectors
    mats = []
    for first in (np.eye(2, dtype=np.int64), flip):
        for turns in range(4):
            mats.append(np.linalg.matrix_power(rotate, turns) @ first)
    return mats


def trim(cells: Cells) -> Cells:
    """Crop to the bounding box of the live cells."""
    rows = np.flatnonzero(cells.any(axis=1))
    cols = np.flatnonzero(cells.any(axis=0))
    if rows.size == 0:
        return np.zeros((0, 0), np.uint8)
    return np.ascontiguousarray(cells[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])


def shape_key(cells: Cells) -> bytes:
    """Return a hashable key for a trimmed shape (its size and cells)."""
    return np.array(cells.shape, np.int32).tobytes() + np.packbits(cells).tobytes()


def wechsler(cells: Cells) -> str:
    """Encode in extended Wechsler: 5-row strips, a base-32 digit a column, short zero runs."""
    height, width = cells.shape
    strips = -(-height // 5)
    padded = np.zeros((strips * 5, width), np.int64)
    padded[:height] = cells
    values = np.einsum("swc,w->sc", padded.reshape(strips, 5, width), _WEIGHTS)
    return "z".join(_ZERO_RUNS.sub(_zero_run, "".join([_DIGITS[v] for v in row]).rstrip("0"))
                    for row in values.tolist())


_WEIGHTS = np.array([1, 2, 4, 8, 16], np.int64)  # a strip's rows, top row least significant
_ZERO_RUNS = re.compile("0+")


def _zero_run(match: re.Match[str]) -> str:
    return _zeros(len(match.group()))


def _zeros(count: int) -> str:
    out = ""
    while count > 39:
        out += "yz"
        count -= 39
    if count == 1:
        out += "0"
    elif count == 2:
        out += "w"
    elif count == 3:
        out += "x"
    elif count >= 4:
        out += "y" + _ZERO_RUN[count - 4]
    return out


def apgcode(phases: Iterable[Cells], period: int, moves: bool) -> str:
    """Return the apgcode of an object given every phase (any orientation) and its motion."""
    phase_list = list(phases)
    best = min(
        (wechsler(image) for cells in phase_list for image in orientations(trim(cells))),
        key=lambda code: (len(code), code),
    )
    if moves:
        return f"xq{period}_{best}"
    if period == 1:
        return f"xs{int(phase_list[0].sum())}_{best}"
    return f"xp{period}_{best}"


def linking_radius(cells: Cells) -> int:
    """Smallest Chebyshev distance r such that links of length <= r connect all live cells.

    The longest edge of a minimum spanning tree (Prim's algorithm over the live cells).
    """
    points = np.argwhere(cells)
    if len(points) < 2:
        return 1
    reach = np.abs(points[:, None, :] - points[None, :, :]).max(axis=2)
    inside = np.zeros(len(points), bool)
    inside[0] = True
    best = reach[0].copy()
    longest = 1
    for _ in range(len(points) - 1):
        best[inside] = np.iinfo(best.dtype).max
        nearest = int(best.argmin())
        longest = max(longest, int(best[nearest]))
        inside[nearest] = True
        best = np.minimum(best, reach[nearest])
    return longest
