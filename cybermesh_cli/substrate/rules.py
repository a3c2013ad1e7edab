"""Life-like rules from rule strings as Golly and CAX write them (B3/S23, b36s23, 23/3, S23/B3).

Golly's bounded-grid suffixes ``:T W,H`` (a torus, or a tube when one side is 0) and ``:P W,H``
(a plane with dead edges) are read by :func:`parse_rule_spec`, and Golly's ``MAP`` rules run when
they are Life-like. Rules this tool cannot run (Generations, non-totalistic, other
neighbourhoods, named multi-state rules, Klein bottles and the like) are refused by family name.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from cybermesh_cli.errors import InputError

_BS = re.compile(r"^B([0-8]*)/?S([0-8]*)$", re.IGNORECASE)
_SB_LETTERS = re.compile(r"^S([0-8]*)/?B([0-8]*)$", re.IGNORECASE)
_SB = re.compile(r"^([0-8]*)/([0-8]*)$")  # the older S/B notation: survive/birth
_BOUNDS = re.compile(r"^([TP])(\d+)(?:,(\d+))?$", re.IGNORECASE)
_OTHER_SURFACES = {"K": "Klein bottle", "C": "cross-surface", "S": "sphere"}
_MAP = re.compile(r"^MAP([A-Za-z0-9+/]{86})(?:==)?$")


@dataclass(frozen=True)
class Rule:
    """An outer-totalistic rule as two 9-bit masks over the live-neighbour count.

    Bit n of ``birth`` is set when n live neighbours give birth to a dead cell; bit n of
    ``survive`` when they keep a live cell alive.
    """

    birth: int
    survive: int

    @property
    def name(self) -> str:
        """Canonical ``B.../S...`` form."""
        return f"B{_digits(self.birth)}/S{_digits(self.survive)}"


def _digits(mask: int) -> str:
    return "".join(str(n) for n in range(9) if mask >> n & 1)


def _mask(digits: str, text: str) -> int:
    if len(set(digits)) != len(digits):
        raise InputError(f"rule {text!r}: a neighbour count appears twice")
    return sum(1 << int(d) for d in digits)


def parse_rule(text: str) -> Rule:
    """Parse ``B3/S23``, ``b3s23``, ``S23/B3``, ``23/3`` or ``Life``; else a one-line error."""
    value = text.strip()
    if value.lower() == "life":  # Golly's name for Conway's rule
        value = "B3/S23"
    match = _BS.match(value)
    if match:
        return Rule(_mask(match.group(1), text), _mask(match.group(2), text))
    match = _SB_LETTERS.match(value)
    if match:
        return Rule(_mask(match.group(2), text), _mask(match.group(1), text))
    match = _SB.match(value)
    if match:
        return Rule(_mask(match.group(2), text), _mask(match.group(1), text))
    if value[:3].upper() == "MAP":
        return _map_rule(value, text)
    family = _family(value)
    if family:
        raise InputError(f"rule {text!r}: a {family} rule; this tool runs Life-like rules "
                         "(two states, outer-totalistic, Moore neighbourhood) only")
    raise InputError(
        f"rule {text!r}: expected a Life-like rule such as B3/S23 (digits 0-8 after B and S)"
    )


def _map_rule(value: str, text: str) -> Rule:
    """Golly's ``MAP`` rule (512 outputs in base64, one per 3x3 neighbourhood), if Life-like.

    Bit ``i`` (most significant first) is the next state of the centre cell for neighbourhood
    ``i``, whose nine cells NW, N, NE, W, centre, E, SW, S, SE are its bits 8 down to 0.
    """
    match = _MAP.match(value)
    try:
        table = base64.b64decode(match.group(1) + "==") if match else b""
    except binascii.Error:
        table = b""
    if len(table) != 64:
        raise InputError(f"rule {text!r}: a MAP rule needs 86 base64 characters "
                         "(512 bits, one per 3x3 neighbourhood)")
    masks = [0, 0]  # birth, survive
    for centre in (0, 1):
        for count in range(9):
            outputs = {table[i >> 3] >> (7 - (i & 7)) & 1 for i in range(512)
                       if i >> 4 & 1 == centre and (i & 0b111101111).bit_count() == count}
            if len(outputs) > 1:
                raise InputError(f"rule {text!r}: a MAP rule that is not outer-totalistic; "
                                 "this tool runs Life-like rules only")
            masks[centre] |= outputs.pop() << count
    return Rule(masks[0], masks[1])


def map_rule(rule: Rule) -> str:
    """Write a Life-like rule as the ``MAP`` string Golly reads (the inverse of the parser)."""
    bits = 0
    for i in range(512):
        mask = rule.survive if i >> 4 & 1 else rule.birth
        bits = bits << 1 | mask >> (i & 0b111101111).bit_count() & 1
    return "MAP" + base64.b64encode(bits.to_bytes(64, "big")).decode()[:86]


def _family(value: str) -> str | None:
    """Name the family of a rule string this tool cannot run, if it looks like one."""
    if re.search(r"/C?\d+$", value, re.IGNORECASE) and value.count("/") == 2 or \
            re.search(r"/C\d+$", value, re.IGNORECASE):
        return "Generations (multi-state)"
    if re.fullmatch(r"B[0-8]*/?S[0-8]*[HV]", value, re.IGNORECASE):
        return "hexagonal or von Neumann neighbourhood"
    if re.fullmatch(r"B[0-8cekainyqjrtwz-]*/?S[0-8cekainyqjrtwz-]*", value, re.IGNORECASE):
        return "non-totalistic (isotropic)"
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", value):
        return "named (rule table or multi-state)"
    return None


@dataclass(frozen=True)
class Bounds:
    """Golly's bounded grid: a torus (``T``) or a plane with dead edges (``P``), W x H cells.

    A side of 0 is unbounded: ``:T0,20`` is a tube 20 cells round, endless across. As in
    Golly, the grid's top-left cell is at (-(W // 2), -(H // 2)).
    """

    kind: str
    width: int
    height: int

    @property
    def suffix(self) -> str:
        """The rule suffix as Golly writes it, e.g. ``:T30,20``."""
        return f":{self.kind}{self.width},{self.height}"

    @property
    def torus(self) -> bool:
        """Whether the grid wraps (else its edges are dead)."""
        return self.kind == "T"

    def describe(self) -> str:
        """Say where a pattern lives, e.g. ``on a 30x20 torus``."""
        shape = "torus" if self.torus else "bounded plane"
        if self.width and self.height:
            return f"on a {self.width}x{self.height} {shape}"
        side = "high" if self.height else "wide"
        kind = "tube" if self.torus else "strip"
        return f"on a {kind} {self.height or self.width} cells {side}, endless the other way"


def parse_rule_spec(text: str) -> tuple[Rule, Bounds | None]:
    """Parse a rule with Golly's optional bounded-grid suffix (``:T W,H`` or ``:P W,H``)."""
    rule_text, sep, suffix = text.strip().partition(":")
    rule = parse_rule(rule_text)
    if not sep:
        return rule, None
    match = _BOUNDS.match(suffix.strip())
    if not match:
        surface = _OTHER_SURFACES.get(suffix.strip()[:1].upper())
        if surface or re.match(r"T\d+[+-]", suffix.strip(), re.IGNORECASE):
            raise InputError(f"rule {text!r}: a {surface or 'shifted torus'}; this tool runs "
                             "the plane, tori (':T W,H') and bounded planes (':P W,H') only")
        raise InputError(f"rule {text!r}: expected Golly's bounded grid ':T W,H' or ':P W,H'")
    width = int(match.group(2))
    height = int(match.group(3) if match.group(3) is not None else width)
    if not width and not height:
        return rule, None  # Golly reads a 0 x 0 grid as the unbounded plane
    bounds = Bounds(match.group(1).upper(), width, height)
    if not bounds.torus and rule.birth & 1:
        raise InputError(f"rule {text!r}: a B0 rule on a bounded plane (whose edges Golly "
                         "treats as the changing background) is not supported")
    return rule, bounds


CONWAY = Rule(birth=1 << 3, survive=(1 << 2) | (1 << 3))
