"""The Life community's RLE format (LifeWiki "Run Length Encoded"), read and written exactly.

A file is ``#`` comment lines, a header ``x = W, y = H[, rule = R]``, then runs of ``b`` (dead),
``o`` (alive) and ``$`` (end of row) with optional counts, ended by ``!``. Written lines are at
most 70 characters, and a run is never split across lines. Read as Golly 3.3 reads a two-state
pattern: a run count may end one line and its tag start the next; ``.`` is dead and ``A`` alive
(the multi-state spelling); ``p`` to ``y`` are alive and other letters are skipped with their
count (``z`` included); a state ``B`` to ``X`` is refused; cells beyond the declared box grow it;
a missing ``!`` ends at the end of the file; ``#r`` gives the rule when the header has none; and
Golly's ``#CXRLE Pos=X,Y Gen=G`` line places the pattern and says its generation, which is written
back when known. The rule may carry Golly's bounded-grid suffix (``B3/S23:T30,20``).
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
_BODY_LINE = re.compile(r"[0-9box.A$!\s]+")
_TOKEN = re.compile(r"(\d*)([A-Za-z.$!]|\Z)")  # a count may end the file
_CXRLE = re.compile(r"^#CXRLE\b(.*)$")
_CXRLE_FIELD = re.compile(r"(Pos|Gen)\s*=\s*(-?\d+)(?:\s*,\s*(-?\d+))?")
LIVE = frozenset("oApqrstuvwxy")
DEAD = frozenset("b.")
MAX_SIDE = 1 << 40  # far past any real pattern, and well inside int64 coordinates


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
    position: tuple[int, int] | None = None  # Golly's (x, y) of the box's top-left cell
    generation: int | None = None

    @property
    def origin(self) -> tuple[int, int]:
        """Golly's (x, y) of the box's top-left cell: its ``Pos``, else centred as Golly reads."""
        return self.position if self.position is not None else (-(self.width // 2),
                                                                -(self.height // 2))

    @property
    def placed(self) -> NDArray[np.int64]:
        """Live cells as (row, column) in Golly's coordinates (y down, x right)."""
        x, y = self.origin
        return self.live + np.array([y, x], np.int64)

    @classmethod
    def from_cells(cls, cells: NDArray[np.uint8], rule: str | None = None,
                   comments: tuple[str, ...] = ()) -> Pattern:
        """Build a pattern from a dense 0/1 array (its shape is the declared box)."""
        rows, cols = np.nonzero(cells)
        return cls(np.stack([rows, cols], axis=1).astype(np.int64), int(cells.shape[1]),
                   int(cells.shape[0]), rule, tuple(comments))

    @classmethod
    def placed_at(cls, placed: NDArray[np.int64], rule: str | None = None,
                  comments: tuple[str, ...] = (), generation: int | None = None,
                  box: tuple[int, int, int, int] | None = None) -> Pattern:
        """Cells in Golly's coordinates, boxed by ``box`` (top, left, height, width) or their own.

        The box's top-left cell is written as the ``#CXRLE Pos``.
        """
        if box is None and not len(placed):
            return cls(np.zeros((0, 2), np.int64), 0, 0, rule, comments, None, generation)
        if box is None:
            (top, left), (bottom, right) = placed.min(axis=0), placed.max(axis=0)
            box = (int(top), int(left), int(bottom - top) + 1, int(right - left) + 1)
        top, left, height, width = box
        return cls(placed - np.array([top, left], np.int64), width, height, rule, comments,
                   (left, top), generation)

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
                and self.comments == other.comments and self.position == other.position
                and self.generation == other.generation
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
            comments.append(line.rstrip("\r\n") if not _CXRLE.match(stripped) else stripped)
            continue
        header = _HEADER.match(stripped)
        if header:
            return number, header, comments
        if _BODY_LINE.fullmatch(stripped):
            return number - 1, None, comments
        raise InputError(f"{source}:{number}: expected the header 'x = W, y = H, rule = R'")
    raise InputError(f"{source}: no RLE header line 'x = W, y = H'")


def _body(lines: list[str], first: int, source: str) -> NDArray[np.int64]:
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
            rest = body[position:]
            position += len(rest) - len(rest.lstrip("0123456789"))  # the count before it
            line, column = where[position]
            raise InputError(f"{source}:{line}: unexpected {body[position]!r} at column "
                             f"{column}")
        line = where[position][0]
        position = match.end()
        tag, count = match.group(2), int(match.group(1) or 1)
        if tag in ("!", ""):
            return _expand(runs)
        if tag == "$":
            y, x = y + count, 0
            continue
        if not _is_cell(tag, f"{source}:{line}"):
            continue  # Golly skips other letters, and their counts
        if max(y, x + count) > MAX_SIDE:
            raise InputError(f"{source}:{line}: a cell beyond {MAX_SIDE:,} rows or columns")
        if tag in LIVE:
            population += count
            if population > CELL_BUDGET:
                raise InputError(f"{source}:{line}: more than {CELL_BUDGET:,} live cells")
            runs.append((y, x, count))
        x += count
    return _expand(runs)  # Golly reads a body that ends without '!'


def _is_cell(tag: str, where: str) -> bool:
    """Whether a body letter is a cell (dead or alive) as Golly reads two states; refuse 'B'-'X'."""
    if "B" <= tag <= "X":
        raise InputError(f"{where}: cell state {ord(tag) - ord('A') + 1} ({tag!r}) in a "
                         "two-state pattern")
    return tag in LIVE or tag in DEAD


def _expand(runs: list[tuple[int, int, int]]) -> NDArray[np.int64]:
    """Live runs (row, first column, length) -> one (row, column) pair a cell."""
    if not runs:
        return np.zeros((0, 2), np.int64)
    rows, starts, counts = (np.array(v, np.int64) for v in zip(*runs, strict=True))
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.stack([np.repeat(rows, counts), np.repeat(starts, counts) + offsets], axis=1)


def parse_rle(text: str, source: str = "<rle>") -> Pattern:
    """Parse RLE text; any malformed input is a :class:`InputError` naming the line.

    A rule the tool cannot run is named by its family before the body is read. The box is the
    header's, grown to hold every cell (a header of 0 x 0, or none, gives the cells' own box).
    """
    lines = text.splitlines()
    number, header, comments = _header(lines, source)
    width, height = (int(header.group(1)), int(header.group(2))) if header else (0, 0)
    rule = header.group(3) if header else None
    rule = rule or next((c[2:].strip() for c in comments if c.startswith("#r ")), None)
    if rule:
        try:
            parse_rule_spec(rule)
        except InputError as exc:
            raise InputError(f"{source}:{number}: {exc}") from None
    position, generation = _cxrle(comments, source)
    live = _body(lines, number + 1, source)
    if len(live):
        height, width = (max(int(v) + 1, side) for v, side in zip(live.max(axis=0),
                                                                 (height, width), strict=True))
    kept = tuple(c for c in comments if not _CXRLE.match(c))
    return Pattern(live, width, height, rule, kept, position, generation)


def _cxrle(comments: list[str], source: str) -> tuple[tuple[int, int] | None, int | None]:
    """Golly's ``#CXRLE Pos=X,Y Gen=G`` line: the box's top-left cell and the generation."""
    position: tuple[int, int] | None = None
    generation: int | None = None
    for line in (c for c in comments if _CXRLE.match(c)):
        for name, first, second in _CXRLE_FIELD.findall(line):
            if name == "Pos" and second:
                position = (int(first), int(second))
            elif name == "Gen" and not second and int(first) >= 0:
                generation = int(first)
            else:
                raise InputError(f"{source}: bad #CXRLE field {name}={first}"
                                 f"{',' + second if second else ''} (Pos=X,Y Gen=G)")
    return position, generation


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
    fields = []
    if pattern.position is not None:
        fields.append(f"Pos={pattern.position[0]},{pattern.position[1]}")
    if pattern.generation:
        fields.append(f"Gen={pattern.generation}")
    cxrle = ["#CXRLE " + " ".join(fields)] if fields else []
    body: list[str] = []
    line = ""
    for token in [*_tokens(pattern.live), "!"]:
        if len(line) + len(token) > MAX_LINE:
            body.append(line)
            line = ""
        line += token
    body.append(line)
    return "\n".join([*cxrle, *pattern.comments, header, *body]) + "\n"


def write_rle(pattern: Pattern, path: Path) -> None:
    """Write an RLE file whole or not at all; one line naming the path if it cannot be."""
    with replacing(path) as partial:
        partial.write_text(format_rle(pattern), encoding="utf-8")
