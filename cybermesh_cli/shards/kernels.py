"""Compiled passes of the shard layer over the packed torus: track, check lanes, place, erase.

They read and write the grid's packed words in place (``Grid.words``: cell (y, x) is bit
``x % 64`` of ``words[x // 64, y]``), so a tick never unpacks the torus, and each pass covers
every carrier or launch of a tick in one call. Each has a pure-Python reference in
:mod:`cybermesh_cli.shards.carriers` that the tests compare it with.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numpy.typing import NDArray

from cybermesh_cli.substrate.kernels import ONE, Packed

EMPTY = -1  # an unused slot of the taken-boxes hash table, or a lane never blocked
FIBONACCI = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio: spreads keys over slots
MAX_KEY_AREA = 52  # a box of up to 52 cells is keyed exactly in one int64 with its height, width


@nb.njit(cache=True, inline="always")
def _cell(words: Packed, y: int, x: int) -> int:
    return int((words[x >> 6, y] >> np.uint64(x & 63)) & ONE)


@nb.njit(cache=True, inline="always")
def _on_torus(v: int, size: int) -> int:
    """Return ``v % size``, skipping the division where ``v`` is already on the torus."""
    return v if 0 <= v < size else v % size


@nb.njit(cache=True, inline="always")
def _on_torus_float(v: float, size: int) -> float:
    """:func:`_on_torus` for a coordinate between cells (the same answer as ``v % size``)."""
    return v if 0 <= v < size else v % size


@nb.njit(cache=True, inline="always")
def _row(words: Packed, width: int, y: int, left: int, cols: int) -> np.uint64:
    """Bits of ``cols`` (<= 64) cells of row ``y`` from column ``left`` (wrapping), first lowest."""
    x = _on_torus(left, width)
    if x + cols > width:
        bits = np.uint64(0)
        for c in range(cols):
            if _cell(words, y, (x + c) % width):
                bits |= ONE << np.uint64(c)
        return bits
    offset = np.uint64(x & 63)
    bits = np.uint64(words[x >> 6, y] >> offset)
    if (x & 63) + cols > 64:
        bits |= words[(x >> 6) + 1, y] << (np.uint64(64) - offset)
    if cols < 64:
        bits &= (ONE << np.uint64(cols)) - ONE
    return bits


@nb.njit(cache=True)
def window(words: Packed, height: int, width: int, top: int, left: int, rows: int,
           cols: int) -> NDArray[np.uint8]:
    """Return ``rows`` x ``cols`` (<= 64) cells from (top, left) of the torus, 0/1, wrapping."""
    out = np.empty((rows, cols), np.uint8)
    _fill(words, height, width, top, left, out)
    return out


@nb.njit(cache=True)
def _fill(words: Packed, height: int, width: int, top: int, left: int,
          out: NDArray[np.uint8]) -> int:
    """Copy the cells of ``out``'s shape from (top, left) into it; return how many live."""
    rows, cols = out.shape
    live = 0
    for r in range(rows):
        bits = _row(words, width, _on_torus(top + r, height), left, cols)
        if not bits:
            out[r, :] = 0
            continue
        for c in range(cols):
            out[r, c] = (bits >> np.uint64(c)) & ONE
            live += out[r, c]
    return live


@nb.njit(cache=True)
def _any(words: Packed, height: int, width: int, top: int, left: int, rows: int,
         cols: int) -> bool:
    for r in range(rows):
        if _row(words, width, _on_torus(top + r, height), left, cols):
            return True
    return False


@nb.njit(cache=True)
def shape_key(cells: NDArray[np.uint8]) -> int:
    """Key a trimmed shape of at most :data:`MAX_KEY_AREA` cells: height, width, cells."""
    rows, cols = cells.shape
    key: int = (rows << 56) | (cols << 52)
    for r in range(rows):
        for c in range(cols):
            if cells[r, c]:
                key |= 1 << (r * cols + c)
    return key


@nb.njit(cache=True)
def _taken(table: NDArray[np.int64], key: int, insert: bool) -> bool:
    """Open-addressing set of box keys: say whether ``key`` is in it (adding it if asked).

    The slot comes from the middle bits of a Fibonacci product: a box key's low bits are its
    height and width, a handful of values, so low product bits would pile keys into a few slots.
    """
    mask = len(table) - 1
    slot = int((np.uint64(key) * FIBONACCI) >> np.uint64(32)) & mask
    while table[slot] != EMPTY:
        if table[slot] == key:
            return True
        slot = (slot + 1) & mask
    if insert:
        table[slot] = key
    return False


@nb.njit(cache=True)
def _cluster(cells: NDArray[np.uint8], seen: NDArray[np.bool_], y: int, x: int,
             queue: NDArray[np.int64]) -> tuple[int, int, int, int, int, int, int, int]:
    """Breadth-first cluster (Chebyshev radius 2) from (y, x) of an unwrapped window.

    Its cells go to ``queue`` (y, x rows); returns population, min y, min x, max y, max x,
    sum of y, sum of x, and its first cell in row-major order (y * size + x).
    """
    size = cells.shape[0]
    seen[y, x] = True
    queue[0, 0], queue[0, 1] = y, x
    head, tail = 0, 1
    y0, x0, y1, x1, sum_y, sum_x, first = size, size, -1, -1, 0, 0, size * size
    while head < tail:
        uy, ux = queue[head, 0], queue[head, 1]
        head += 1
        y0, x0, y1, x1 = min(y0, uy), min(x0, ux), max(y1, uy), max(x1, ux)
        first = min(first, uy * size + ux)
        sum_y += uy
        sum_x += ux
        for ny in range(max(uy - 2, 0), min(uy + 3, size)):
            for nx in range(max(ux - 2, 0), min(ux + 3, size)):
                if cells[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    queue[tail, 0], queue[tail, 1] = ny, nx
                    tail += 1
    return tail, y0, x0, y1, x1, sum_y, sum_x, first


@nb.njit(cache=True)
def _queue_key(queue: NDArray[np.int64], population: int, y0: int, x0: int, rows: int,
               cols: int) -> int:
    """:func:`shape_key` of a cluster's cells in ``queue``, boxed from (y0, x0)."""
    key = (rows << 56) | (cols << 52)
    for k in range(population):
        key |= 1 << ((queue[k, 0] - y0) * cols + queue[k, 1] - x0)
    return key


@nb.njit(cache=True)
def _candidates(words: Packed, height: int, width: int, py: float, px: float, code: int,
                wanted: NDArray[np.bool_], keys: NDArray[np.int64],
                key_codes: NDArray[np.int64], gate: float, reach: float,
                cells: NDArray[np.uint8], seen: NDArray[np.bool_], queue: NDArray[np.int64],
                out: NDArray[np.float64]) -> int:
    """List the whole carriers of ``code`` within ``gate`` of a prediction (py, px).

    Clusters the window of ``cells``' size around it; only clusters with a cell within
    ``reach`` (Chebyshev) of it can be near enough, so only those are followed. One row of
    ``out`` each: centroid y, x, box key, top, left, rows, cols, distance, first cell in
    row-major order, row in ``keys`` (``out`` has a row for every cell of the window).
    Returns how many.
    """
    size = cells.shape[0]
    top, left = int(np.rint(py)) - size // 2, int(np.rint(px)) - size // 2
    if not _fill(words, height, width, top, left, cells):
        return 0
    seen[:] = False
    count = 0
    y_from = max(int(np.floor(py - top - reach)), 0)
    y_to = min(int(np.ceil(py - top + reach)), size - 1)
    x_from = max(int(np.floor(px - left - reach)), 0)
    x_to = min(int(np.ceil(px - left + reach)), size - 1)
    for sy in range(y_from, y_to + 1):
        for sx in range(x_from, x_to + 1):
            if cells[sy, sx] == 0 or seen[sy, sx]:
                continue
            population, y0, x0, y1, x1, sum_y, sum_x, first = _cluster(cells, seen, sy, sx,
                                                                       queue)
            rows, cols = y1 - y0 + 1, x1 - x0 + 1
            if population >= wanted.shape[1] or not wanted[code, population] or \
                    min(y0, x0) < 2 or max(y1, x1) >= size - 2 or rows * cols > MAX_KEY_AREA:
                continue  # not a carrier's population, may go on outside, or too big
            key = _queue_key(queue, population, y0, x0, rows, cols)
            index = np.searchsorted(keys, key)
            if index == len(keys) or keys[index] != key or key_codes[index] != code:
                continue
            fy = _on_torus_float((sum_y + population * top) / population, height)
            fx = _on_torus_float((sum_x + population * left) / population, width)
            distance = np.hypot(_on_torus_float(fy - py + height / 2, height) - height / 2,
                                _on_torus_float(fx - px + width / 2, width) - width / 2)
            if distance > gate:
                continue
            box_top, box_left = _on_torus(y0 + top, height), _on_torus(x0 + left, width)
            out[count, 0], out[count, 1] = fy, fx
            out[count, 2] = ((box_top * width + box_left) * 64 + rows) * 64 + cols
            out[count, 3], out[count, 4], out[count, 5], out[count, 6] = (box_top, box_left,
                                                                          rows, cols)
            out[count, 7], out[count, 8], out[count, 9] = distance, first, index
            count += 1
    return count


@nb.njit(cache=True)
def _expected(words: Packed, height: int, width: int, py: float, px: float, code: int,
              box: NDArray[np.int64], shape: int, successors: NDArray[np.int64],
              moves: NDArray[np.int64], shape_rows: NDArray[np.uint64],
              sums: NDArray[np.int64], wanted: NDArray[np.bool_], reach: float, size: int,
              out: NDArray[np.float64]) -> int:
    """:func:`_candidates` for a carrier seen last tick, when its next shape is all there is.

    Reads the box where the shape seen last tick (row ``shape`` of the keys, box ``box``)
    would be one generation on, a 2-cell ring around it, and every cell within ``reach`` of
    the prediction. When they hold exactly that shape, it is the only cluster
    :func:`_candidates` could list: its row goes to ``out`` and 1 is returned, without
    unpacking the window. Otherwise 0, and the caller takes the long way.
    """
    after = successors[shape]
    if after < 0:
        return 0
    top, left = int(np.rint(py)) - size // 2, int(np.rint(px)) - size // 2
    rows, cols = moves[shape, 2], moves[shape, 3]
    by = _on_torus(box[0] + moves[shape, 0] - top, height)
    bx = _on_torus(box[1] + moves[shape, 1] - left, width)
    if min(by, bx) < 2 or by + rows > size - 2 or bx + cols > size - 2:
        return 0  # outside the window's core, where _candidates would drop it
    r0 = min(max(int(np.floor(py - top - reach)), 0), by - 2)  # the ring and the reach
    r1 = max(min(int(np.ceil(py - top + reach)), size - 1), by + rows + 1)
    c0 = min(max(int(np.floor(px - left - reach)), 0), bx - 2)
    c1 = max(min(int(np.ceil(px - left + reach)), size - 1), bx + cols + 1)
    for r in range(r0, r1 + 1):
        want = shape_rows[shape, r - by] << np.uint64(bx - c0) if by <= r < by + rows \
            else np.uint64(0)
        if _row(words, width, _on_torus(top + r, height), left + c0, c1 - c0 + 1) != want:
            return 0
    population = sums[shape, 0]
    if population >= wanted.shape[1] or not wanted[code, population]:
        return 0
    fy = _on_torus_float(
        (population * by + sums[shape, 1] + population * top) / population, height)
    fx = _on_torus_float(
        (population * bx + sums[shape, 2] + population * left) / population, width)
    box_top, box_left = _on_torus(by + top, height), _on_torus(bx + left, width)
    out[0, 0], out[0, 1] = fy, fx
    out[0, 2] = ((box_top * width + box_left) * 64 + rows) * 64 + cols
    out[0, 3], out[0, 4], out[0, 5], out[0, 6] = box_top, box_left, rows, cols
    out[0, 7] = np.hypot(_on_torus_float(fy - py + height / 2, height) - height / 2,
                         _on_torus_float(fx - px + width / 2, width) - width / 2)
    out[0, 8], out[0, 9] = 0, after
    return 1


@nb.njit(cache=True)
def _choose(found: NDArray[np.float64], count: int, taken: NDArray[np.int64],
            gate: float) -> int:
    """Pick the nearest candidate whose box is not taken (of equals, the last in row order)."""
    best, best_distance, best_first = -1, gate, -1.0
    for k in range(count):
        if _taken(taken, int(found[k, 2]), False):
            continue
        distance, first = found[k, 7], found[k, 8]
        if distance < best_distance or distance == best_distance and first > best_first:
            best, best_distance, best_first = k, distance, first
    return best


@nb.njit(cache=True)
def track(words: Packed, height: int, width: int, centroid: NDArray[np.float64],
          velocity: NDArray[np.float64], code: NDArray[np.int64], alive: NDArray[np.bool_],
          unseen: NDArray[np.int64], age: NDArray[np.int64], bbox: NDArray[np.int64],
          shape: NDArray[np.int64], wanted: NDArray[np.bool_], keys: NDArray[np.int64],
          key_codes: NDArray[np.int64], successors: NDArray[np.int64],
          moves: NDArray[np.int64], shape_rows: NDArray[np.uint64], sums: NDArray[np.int64],
          size: int, gate: float, reach: float, coast: int) -> NDArray[np.bool_]:
    """Advance every live carrier one tick in place; return which were lost this tick.

    For each carrier, in row order: predict its centroid from its velocity, cluster the cells
    of a ``size`` window around the prediction (Chebyshev radius 2), keep whole clusters of a
    population ``wanted[code]`` whose exact shape keys to the carrier's code and whose box no
    earlier carrier took this tick, and take the nearest within ``gate`` (the later one on a tie).
    A carrier unseen for more than ``coast`` ticks is lost. ``reach``: see :func:`_candidates`
    (the whole window where the torus is too small for the window to be unwrapped). A carrier
    seen last tick (``shape``, kept in place) is first looked for as that shape's successor
    (:func:`_expected`), which answers as :func:`_candidates` would, reading a dozen rows.
    """
    lost = np.zeros(len(code), np.bool_)
    capacity = 16
    while capacity < 4 * len(code):
        capacity *= 2
    taken = np.full(capacity, EMPTY, np.int64)
    reach = reach if 2 * size <= min(height, width) else size
    cells = np.empty((size, size), np.uint8)
    seen = np.empty((size, size), np.bool_)
    queue = np.empty((size * size, 2), np.int64)
    found = np.empty((size * size, 10))
    for i in np.flatnonzero(alive):
        age[i] += 1
        py = _on_torus_float(centroid[i, 0] + velocity[i, 0], height)
        px = _on_torus_float(centroid[i, 1] + velocity[i, 1], width)
        count = 0
        if unseen[i] == 0 and shape[i] >= 0:
            count = _expected(words, height, width, py, px, code[i], bbox[i], shape[i],
                              successors, moves, shape_rows, sums, wanted, reach, size, found)
        if count == 0:
            count = _candidates(words, height, width, py, px, code[i], wanted, keys, key_codes,
                                gate, reach, cells, seen, queue, found)
        choice = _choose(found, count, taken, gate)
        shape[i] = int(found[choice, 9]) if choice >= 0 else -1
        if choice >= 0:
            _taken(taken, int(found[choice, 2]), True)
            unseen[i] = 0
            centroid[i, 0], centroid[i, 1] = found[choice, 0], found[choice, 1]
            for k in range(4):
                bbox[i, k] = int(found[choice, 3 + k])
        else:
            unseen[i] += 1
            centroid[i, 0], centroid[i, 1] = py, px
            if unseen[i] > coast:
                alive[i], lost[i] = False, True
    return lost


@nb.njit(cache=True)
def lane_clear(words: Packed, height: int, width: int, top: int, left: int,
               runs: NDArray[np.int64]) -> bool:
    """Say whether a ship launched at (top, left) meets no live cell along its lane.

    ``runs``: the lane's cells as (dy, dx, width) row runs from (top, left) (:meth:`Flight.lane`).
    """
    return lane_blocker(words, height, width, top, left, runs, EMPTY) == EMPTY


@nb.njit(cache=True, inline="always")
def _run_live(words: Packed, height: int, width: int, top: int, left: int,
              runs: NDArray[np.int64], k: int) -> bool:
    return bool(_row(words, width, _on_torus(top + runs[k, 0], height), left + runs[k, 1],
                     runs[k, 2]))


@nb.njit(cache=True, inline="always")
def lane_blocker(words: Packed, height: int, width: int, top: int, left: int,
                 runs: NDArray[np.int64], hint: int) -> int:
    """Return the first run of a lane that holds a live cell, or EMPTY when the lane is clear.

    ``hint`` (a run, or EMPTY) is read first: the run that blocked this spot last time, which
    a still life keeps blocked tick after tick, so a blocked lane costs one row read, not all.
    ``runs`` ends at its first empty run (the padding of shorter lanes).
    """
    if hint != EMPTY and _run_live(words, height, width, top, left, runs, hint):
        return hint
    for k in range(runs.shape[0]):
        if runs[k, 2] == 0:
            break
        if _run_live(words, height, width, top, left, runs, k):
            return k
    return EMPTY


@nb.njit(cache=True)
def place(words: Packed, height: int, width: int, cells: NDArray[np.uint8], top: int,
          left: int) -> bool:
    """Write ``cells`` at (top, left) if a 2-cell margin around them is empty; True if placed."""
    rows, cols = cells.shape
    if _any(words, height, width, top - 2, left - 2, rows + 4, cols + 4):
        return False
    for r in range(rows):
        y = (top + r) % height
        for c in range(cols):
            if cells[r, c]:
                x = (left + c) % width
                words[x >> 6, y] |= ONE << np.uint64(x & 63)
    return True


@nb.njit(cache=True)
def erase(words: Packed, height: int, width: int, top: int, left: int, rows: int,
          cols: int) -> None:
    """Kill every cell of a box of the torus."""
    for r in range(rows):
        y = (top + r) % height
        for c in range(cols):
            x = (left + c) % width
            words[x >> 6, y] &= ~(ONE << np.uint64(x & 63))


@nb.njit(cache=True)
def launch(words: Packed, height: int, width: int, groups: NDArray[np.int64], cols: int,
           tile: int, spots: NDArray[np.int64], shapes: NDArray[np.uint8],
           dims: NDArray[np.int64], lanes: NDArray[np.int64], blocked: NDArray[np.int64],
           blockers: NDArray[np.int8], tick: int, wait: int,
           clear_after: int = 0) -> NDArray[np.int64]:
    """Launch one ship for each group of riders, in order; return each group's spot (or -1).

    Group ``bot * 9 + heading`` (bots in rows of ``cols`` tiles) launches that heading's form
    at the first of its ``spots[heading]`` (from the tile's top-left) whose lane is clear and
    whose spot is free. With no clear lane it waits ``wait`` ticks from when it was first
    blocked (``blocked[bot, heading]``, kept in place), then takes the first free spot.
    ``blockers[bot, heading, s]``: the run that blocked spot s last time (:func:`lane_blocker`).
    With ``clear_after`` (0: never), a group blocked that long with no free spot erases its
    first spot and the 2-cell margin that :func:`place` wants, and launches there.
    """
    choices = spots.shape[1]
    chosen = np.full(len(groups), -1, np.int64)
    clear = np.zeros(choices, np.bool_)
    for g in range(len(groups)):
        bot, form = divmod(groups[g], 9)
        top, left = bot // cols * tile, bot % cols * tile
        lane = lanes[form]
        for s in range(choices):
            y, x = _on_torus(top + spots[form, s, 0], height), _on_torus(
                left + spots[form, s, 1], width)
            blocker = lane_blocker(words, height, width, y, x, lane, blockers[bot, form, s])
            blockers[bot, form, s] = blocker
            clear[s] = blocker == EMPTY
        if clear.any():
            blocked[bot, form] = EMPTY
        else:
            if blocked[bot, form] == EMPTY:
                blocked[bot, form] = tick
            if tick - blocked[bot, form] < wait:
                continue
        cells = shapes[form, :dims[form, 0], :dims[form, 1]]
        for want in (True, False):
            for s in range(choices):
                if chosen[g] < 0 and clear[s] == want and place(
                        words, height, width, cells, top + spots[form, s, 0],
                        left + spots[form, s, 1]):
                    chosen[g] = s
        if chosen[g] < 0 and 0 < clear_after <= tick - blocked[bot, form]:
            y, x = top + spots[form, 0, 0], left + spots[form, 0, 1]
            erase(words, height, width, y - 2, x - 2, dims[form, 0] + 4, dims[form, 1] + 4)
            place(words, height, width, cells, y, x)
            chosen[g] = 0
    return chosen
