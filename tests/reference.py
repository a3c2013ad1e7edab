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
