"""Terminal rendering of a grid: two rows of cells per line with half-block characters."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from cybermesh_cli.substrate.shapes import Cells

_BLOCKS = {(0, 0): " ", (1, 0): "\u2580", (0, 1): "\u2584", (1, 1): "\u2588"}


def render(cells: Cells, max_width: int = 200, max_height: int = 200) -> str:
    """Text picture of ``cells`` (cropped to ``max_width`` x ``max_height`` cells)."""
    view = cells[:max_height, :max_width]
    lines = []
    for top in range(0, view.shape[0], 2):
        upper = view[top]
        lower = view[top + 1] if top + 1 < view.shape[0] else upper * 0
        lines.append("".join(_BLOCKS[(int(a), int(b))] for a, b in zip(upper, lower,
                                                                         strict=True)))
    return "\n".join(lines)


def render_live(live: NDArray[np.int64], width: int, height: int, max_width: int = 200,
                max_height: int = 200) -> tuple[str, int]:
    """Text picture of live (row, column) cells in a width x height box, and its scale.

    A box larger than ``max_width`` x ``max_height`` is drawn at 1:scale, each mark standing for
    any live cell in a scale x scale block, so any extent fits in the terminal.
    """
    scale = max(1, -(-width // max_width), -(-height // max_height))
    binned = np.zeros((-(-height // scale), -(-width // scale)), np.uint8)
    binned[live[:, 0] // scale, live[:, 1] // scale] = 1
    return render(binned, max_width, max_height), scale
