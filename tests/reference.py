"""An independent, obviously-correct Life-like step in plain numpy, for differential tests.

Deliberately naive: pad with the boundary, sum the eight shifted slices, look the rule up per
cell. No bit tricks, nothing shared with the kernels.
"""

import numpy as np


def reference_step(cells, birth, survive, torus, gens=1):
    """Advance ``gens`` generations of a 0/1 grid under the rule's birth/survive masks."""
    grid = np.array(cells, dtype=np.int64)
    height, width = grid.shape
    born = np.array([(birth >> n) & 1 for n in range(9)], dtype=bool)
    kept = np.array([(survive >> n) & 1 for n in range(9)], dtype=bool)
    for _ in range(gens):
        padded = np.pad(grid, 1, mode="wrap" if torus else "constant")
        count = np.zeros_like(grid)
        for dy in (0, 1, 2):
            for dx in (0, 1, 2):
                if (dy, dx) != (1, 1):
                    count += padded[dy:dy + height, dx:dx + width]
        grid = np.where(grid == 1, kept[count], born[count]).astype(np.int64)
    return grid.astype(np.uint8)


OFFSET = 1 << 30  # keeps packed coordinates non-negative


def reference_live_step(live, birth, survive, gens=1):
    """Advance live (row, column) cells on the infinite plane: count neighbours, look up the rule.

    Independent of any box: every live cell adds one to its eight neighbours; the counts are
    tallied with ``np.unique`` (live cells listed once more, so S0 is seen). Rules with B0
    (a live background) cannot be a finite set.
    """
    assert not birth & 1, "B0 rules have no finite set of live cells"
    keys = _keys(np.asarray(live, dtype=np.int64).reshape(-1, 2))
    shifts = np.array([dy * (1 << 32) + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                       if (dy, dx) != (0, 0)], dtype=np.int64)
    for _ in range(gens):
        near = np.concatenate([(keys[:, None] + shifts[None, :]).ravel(), keys])
        touched, counts = np.unique(near, return_counts=True)
        alive = np.isin(touched, keys)
        counts = counts - alive  # each live cell was listed once for itself
        rule = np.where(alive, (survive >> counts) & 1, (birth >> counts) & 1)
        keys = touched[rule == 1]
    return np.stack([(keys >> 32) - OFFSET, (keys & 0xFFFFFFFF) - OFFSET], axis=1)


def _keys(live):
    return np.sort((live[:, 0] + OFFSET) * (1 << 32) + live[:, 1] + OFFSET)
