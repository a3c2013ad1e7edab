"""Evolve a finite pattern: on the infinite plane (exactly) or on a torus of a given size."""

from __future__ import annotations

import re

import numpy as np

from cybermesh_cli.errors import InputError
from cybermesh_cli.substrate.grid import Grid, check_cells
from cybermesh_cli.substrate.rules import Rule
from cybermesh_cli.substrate.shapes import Cells, trim


def parse_size(text: str) -> tuple[int, int]:
    """``WxH`` (e.g. ``80x80``) -> (width, height)."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match or 0 in (int(match.group(1)), int(match.group(2))):
        raise InputError(f"--torus {text!r}: expected WIDTHxHEIGHT, e.g. 80x80")
    check_cells(int(match.group(2)), int(match.group(1)), f"--torus {text}")
    return int(match.group(1)), int(match.group(2))


def evolve(cells: Cells, gens: int, rule: Rule, torus: tuple[int, int] | None = None) -> Cells:
    """Advance ``gens`` generations.

    With ``torus=(W, H)`` the pattern sits at the top-left of a W x H torus and the whole torus
    comes back. Without, the pattern lives on the infinite plane: it is padded by ``gens + 1``
    cells on a torus (nothing travels faster than light, one cell a generation), so the
    uniform background evolves as the infinite one does, B0 rules included; the result is the
    cells that differ from the background (:func:`background`), trimmed.
    """
    if torus is not None:
        width, height = torus
        if cells.shape[0] > height or cells.shape[1] > width:
            raise InputError(f"--torus {width}x{height}: the pattern "
                            f"({cells.shape[1]}x{cells.shape[0]}) does not fit")
        world = np.zeros((height, width), np.uint8)
        world[:cells.shape[0], :cells.shape[1]] = cells
        grid = Grid(world, rule, torus=True)
        grid.step(gens)
        return grid.cells
    check_cells(cells.shape[0] + 2 * gens + 2, cells.shape[1] + 2 * gens + 2,
                f"--gens {gens} on the infinite plane (the pattern padded by the generations)")
    if not cells.any() and not rule.birth & 1:
        return np.zeros((0, 0), np.uint8)
    grid = Grid(np.pad(cells, gens + 1), rule, torus=True)
    grid.step(gens)
    return trim(grid.cells ^ np.uint8(background(rule, gens)))


def background(rule: Rule, gens: int) -> int:
    """State of the infinite background after ``gens`` generations (0 dead, 1 alive).

    With B0 a dead background is born; without S8 a live one dies, so it alternates.
    """
    if not rule.birth & 1 or gens == 0:
        return 0
    return 1 if rule.survive >> 8 & 1 else gens % 2
