"""Terminal rendering of a grid: two rows of cells per line with half-block characters."""

from __future__ import annotations

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
