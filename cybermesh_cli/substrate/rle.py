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
from cybermesh_cli.substrate.grid import check_cells

MAX_LINE = 70
_HEADER = re.compile(
    r"^x\s*=\s*(\d+)\s*,\s*y\s*=\s*(\d+)\s*(?:,\s*rule\s*=\s*(\S+))?\s*$", re.IGNORECASE
)
_TOKEN = re.compile(r"(\d*)([boxyz$!])", re.IGNORECASE)
LIVE = frozenset("oxyzOXYZ")


@dataclass(frozen=True)
class Pattern:
    """A finite pattern: its cells (0/1, shape (height, width)), rule and comment lines."""

    cells: NDArray[np.uint8]
    rule: str | None = None
    comments: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str | None:
        """The ``#N`` name line, if any."""
        return next((c[2:].strip() for c in self.comments if c.startswith("#N")), None)

    def __eq__(self, other: object) -> bool:
        """Equal cells, rule and comments."""
        return (isinstance(other, Pattern) and self.rule == other.rule
                and self.comments == other.comments
                and self.cells.shape == other.cells.shape
                and bool(np.array_equal(self.cells, other.cells)))

    def __hash__(self) -> int:
        """Hash by shape, rule and comments (cells are a mutable array)."""
        return hash((self.cells.shape, self.rule, self.comments))


def _header(lines: list[str], source: str) -> tuple[int, re.Match[str], list[str]]:
    """Find the header line: its number, its match, and the comment lines before it."""
    comments: list[str] = []
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            comments.append(line.rstrip("\r\n"))
            continue
        header = _HEADER.match(stripped)
        if not header:
            raise InputError(f"{source}:{number}: expected the header 'x = W, y = H, rule = R'")
        return number, header, comments
    raise InputError(f"{source}: no RLE header line 'x = W, y = H'")


def _body(lines: list[str], first: int, cells: NDArray[np.uint8], source: str) -> None:
    """Fill ``cells`` from the run-length body starting at line ``first`` (1-based).

    Whitespace and line ends are ignored between and inside tokens, as Golly does; an error
    names the line and column where the offending character sits.
    """
    where = [(number, column) for number in range(first, len(lines) + 1)
             for column, char in enumerate(lines[number - 1], start=1) if not char.isspace()]
    body = "".join(lines[n - 1][c - 1] for n, c in where)
    height, width = cells.shape
    x = y = position = 0
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
            return
        if tag == "$":
            y, x = y + count, 0
            continue
        if y >= height or x + count > width:
            raise InputError(f"{source}:{line}: cells beyond the declared size {width}x{height}")
        cells[y, x:x + count] = tag in LIVE
        x += count
    raise InputError(f"{source}:{len(lines)}: the pattern does not end with '!'")


def parse_rle(text: str, source: str = "<rle>") -> Pattern:
    """Parse RLE text; any malformed input is a :class:`InputError` naming the line."""
    lines = text.splitlines()
    number, header, comments = _header(lines, source)
    height, width = int(header.group(2)), int(header.group(1))
    check_cells(height, width, f"{source}:{number}: the header's box")
    cells = np.zeros((height, width), np.uint8)
    _body(lines, number + 1, cells, source)
    return Pattern(cells=cells, rule=header.group(3), comments=tuple(comments))


def read_rle(path: Path) -> Pattern:
    """Read an RLE file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    return parse_rle(text, str(path))


def _runs(row: NDArray[np.uint8]) -> list[str]:
    tokens: list[str] = []
    end = int(np.flatnonzero(row)[-1]) + 1 if row.any() else 0
    x = 0
    while x < end:
        value = row[x]
        run = 1
        while x + run < end and row[x + run] == value:
            run += 1
        tokens.append(f"{run if run > 1 else ''}{'o' if value else 'b'}")
        x += run
    return tokens


def format_rle(pattern: Pattern) -> str:
    """Write RLE text: comments, header, then runs wrapped at 70 characters."""
    height, width = pattern.cells.shape
    header = f"x = {width}, y = {height}" + (f", rule = {pattern.rule}" if pattern.rule else "")
    tokens: list[str] = []
    blank = 0
    last = max((y for y in range(height) if pattern.cells[y].any()), default=-1)
    for y in range(last + 1):
        row = _runs(pattern.cells[y])
        if not row:
            blank += 1
            continue
        if tokens or blank:
            step = blank + 1 if tokens else blank
            if step:
                tokens.append(f"{step if step > 1 else ''}$")
        tokens.extend(row)
        blank = 0
    tokens.append("!")
    body: list[str] = []
    line = ""
    for token in tokens:
        if len(line) + len(token) > MAX_LINE:
            body.append(line)
            line = ""
        line += token
    body.append(line)
    return "\n".join([*pattern.comments, header, *body]) + "\n"


def write_rle(pattern: Pattern, path: Path) -> None:
    """Write an RLE file; one line naming the path if it cannot be written."""
    try:
        path.write_text(format_rle(pattern), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
