"""The Life community's RLE format (LifeWiki "Run Length Encoded"), read and written exactly.

A file is ``#`` comment lines, a header ``x = W, y = H[, rule = R]``, then runs of ``b`` (dead),
``o`` (alive) and ``$`` (end of row) with optional counts, ended by ``!``. Written lines are at
most 70 characters, and a run is never split across lines. Read as tolerantly as Golly: a run
count may end one line and its tag start the next, ``x``, ``y`` and ``z`` are live cells, and
the rule may carry Golly's torus suffix (``B3/S23:T30,20``), which a written torus keeps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from cybermesh_cli.errors import InputError
from cybermesh_cli.files import replacing
from cybermesh_cli.substrate.grid import CELL_BUDGET, check_cells
from cybermesh_cli.substrate.rules import parse_rule_spec

MAX_LINE = 70
_HEADER = re.compile(
    r"^x\s*=\s*(\d+)\s*,\s*y\s*=\s*(\d+)\s*(?:,\s*rule\s*=\s*(\S+))?\s*$", re.IGNORECASE
)
_BODY_LINE = re.compile(r"[0-9boxyz$!\s]+", re.IGNORECASE)
_TOKEN = re.compile(r"(\d*)([boxyz$!])", re.IGNORECASE)
LIVE = frozenset("oxyzOXYZ")
UNBOUNDED = 1 << 62  # the box of a headerless (or 0 x 0) pattern: its cells decide


@dataclass(frozen=True, eq=False)
class Pattern:
    """A finite pattern: live cells as (row, column) pairs inside a declared box, rule, comments.

    Cells are kept as coordinates so memory follows the population, not the box: Golly's
    switch-engine ping-pong declares 210515 x 183739 cells and holds 23.
    """

    live: NDArray[np.int64]
    width: int
    height: int
    rule: str | None = None
    comments: tuple[str, ...] = field(default=())

    @classmethod
    def from_cells(cls, cells: NDArray[np.uint8], rule: str | None = None,
                   comments: tuple[str, ...] = ()) -> Pattern:
        """Build a pattern from a dense 0/1 array (its shape is the declared box)."""
        rows, cols = np.nonzero(cells)
        return cls(np.stack([rows, cols], axis=1).astype(np.int64), int(cells.shape[1]),
                   int(cells.shape[0]), rule, tuple(comments))

    @property
    def name(self) -> str | None:
        """The ``#N`` name line, if any."""
        return next((c[2:].strip() for c in self.comments if c.startswith("#N")), None)

    @property
    def population(self) -> int:
        """Number of live cells."""
        return len(self.live)

    @property
    def cells(self) -> NDArray[np.uint8]:
        """The declared box as a dense 0/1 array (refused above the cell budget)."""
        check_cells(self.height, self.width, f"{self.name or 'the pattern'}'s declared box")
        dense = np.zeros((self.height, self.width), np.uint8)
        dense[self.live[:, 0], self.live[:, 1]] = 1
        return dense

    def __eq__(self, other: object) -> bool:
        """Equal box, live cells, rule and comments."""
        return (isinstance(other, Pattern) and self.rule == other.rule
                and self.comments == other.comments
                and (self.width, self.height) == (other.width, other.height)
                and bool(np.array_equal(_sorted(self.live), _sorted(other.live))))

    def __hash__(self) -> int:
        """Hash by box, population, rule and comments (cells are a mutable array)."""
        return hash((self.width, self.height, self.population, self.rule, self.comments))


def _sorted(live: NDArray[np.int64]) -> NDArray[np.int64]:
    """Live cells in reading order: by row, then column."""
    return live[np.lexsort((live[:, 1], live[:, 0]))] if len(live) else live.reshape(0, 2)


def _header(lines: list[str], source: str) -> tuple[int, re.Match[str] | None, list[str]]:
    """Find the header: its line number, its match (None: a headerless body) and the comments.

    Golly reads a body with no header line; the box then comes from the cells.
    """
    comments: list[str] = []
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            comments.append(line.rstrip("\r\n"))
            continue
        header = _HEADER.match(stripped)
        if header:
            return number, header, comments
        if _BODY_LINE.fullmatch(stripped):
            return number - 1, None, comments
        raise InputError(f"{source}:{number}: expected the header 'x = W, y = H, rule = R'")
    raise InputError(f"{source}: no RLE header line 'x = W, y = H'")


def _body(lines: list[str], first: int, width: int, height: int,
          source: str) -> NDArray[np.int64]:
    """Read the run-length body from line ``first`` (1-based) into live (row, column) pairs.

    Whitespace and line ends are ignored between and inside tokens, as Golly does; an error
    names the line and column where the offending character sits.
    """
    where = [(number, column) for number in range(first, len(lines) + 1)
             for column, char in enumerate(lines[number - 1], start=1) if not char.isspace()]
    body = "".join(lines[n - 1][c - 1] for n, c in where)
    runs: list[tuple[int, int, int]] = []
    population = x = y = position = 0
    while position < len(body):
        match = _TOKEN.match(body, position)
        if not match:
            while position < len(body) and body[position].isdigit():
                position += 1
            if position == len(body):
                break
            line, column = where[position]
            raise InputError(f"{source}:{line}: unexpected {body[position]!r} at column "
                             f"{column}")
        line = where[position][0]
        position = match.end()
        tag, count = match.group(2), int(match.group(1) or 1)
        if tag == "!":
            return _expand(runs)
        if tag == "$":
            y, x = y + count, 0
            continue
        if y >= height or x + count > width:
            raise InputError(f"{source}:{line}: cells beyond the declared size {width}x{height}")
        if tag in LIVE:
            population += count
            if population > CELL_BUDGET:
                raise InputError(f"{source}:{line}: more than {CELL_BUDGET:,} live cells")
            runs.append((y, x, count))
        x += count
    raise InputError(f"{source}:{len(lines)}: the pattern does not end with '!'")


def _expand(runs: list[tuple[int, int, int]]) -> NDArray[np.int64]:
    """Live runs (row, first column, length) -> one (row, column) pair a cell."""
    if not runs:
        return np.zeros((0, 2), np.int64)
    rows, starts, counts = (np.array(v, np.int64) for v in zip(*runs, strict=True))
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.stack([np.repeat(rows, counts), np.repeat(starts, counts) + offsets], axis=1)


def parse_rle(text: str, source: str = "<rle>") -> Pattern:
    """Parse RLE text; any malformed input is a :class:`InputError` naming the line.

    A rule the tool cannot run is named by its family before the body is read. A header box
    of 0 x 0, or none, means the box is the cells' own, as Golly reads it.
    """
    lines = text.splitlines()
    number, header, comments = _header(lines, source)
    width, height = (int(header.group(1)), int(header.group(2))) if header else (0, 0)
    rule = header.group(3) if header else None
    if rule:
        try:
            parse_rule_spec(rule)
        except InputError as exc:
            raise InputError(f"{source}:{number}: {exc}") from None
    bounded = width > 0 or height > 0
    live = _body(lines, number + 1, width if bounded else UNBOUNDED,
                 height if bounded else UNBOUNDED, source)
    if not bounded and len(live):
        height, width = (int(v) + 1 for v in live.max(axis=0))
    return Pattern(live, width, height, rule=rule, comments=tuple(comments))


def read_rle(path: Path) -> Pattern:
    """Read an RLE file (UTF-8, else Latin-1 as older files are written)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return parse_rle(text, str(path))


def _tokens(live: NDArray[np.int64]) -> list[str]:
    """Run-length tokens for live cells: runs of ``o``, gaps of ``b``, row steps of ``$``."""
    live = _sorted(live)
    breaks = np.flatnonzero((np.diff(live[:, 0]) != 0) | (np.diff(live[:, 1]) != 1)) + 1
    tokens: list[str] = []
    row = column = 0
    for run in np.split(live, breaks) if len(live) else ():
        y, x = int(run[0, 0]), int(run[0, 1])
        if y > row:
            tokens.append(_count(y - row) + "$")
            row, column = y, 0
        if x > column:
            tokens.append(_count(x - column) + "b")
        tokens.append(_count(len(run)) + "o")
        column = x + len(run)
    return tokens


def _count(n: int) -> str:
    return str(n) if n > 1 else ""


def format_rle(pattern: Pattern) -> str:
    """Write RLE text: comments, header, then runs wrapped at 70 characters."""
    header = f"x = {pattern.width}, y = {pattern.height}" + (
        f", rule = {pattern.rule}" if pattern.rule else "")
    body: list[str] = []
    line = ""
    for token in [*_tokens(pattern.live), "!"]:
        if len(line) + len(token) > MAX_LINE:
            body.append(line)
            line = ""
        line += token
    body.append(line)
    return "\n".join([*pattern.comments, header, *body]) + "\n"


def write_rle(pattern: Pattern, path: Path) -> None:
    """Write an RLE file whole or not at all; one line naming the path if it cannot be."""
    with replacing(path) as partial:
        partial.write_text(format_rle(pattern), encoding="utf-8")
