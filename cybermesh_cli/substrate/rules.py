"""Life-like rules from rule strings as Golly and CAX write them (B3/S23, b36s23, 23/3)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cybermesh_cli.errors import InputError

_BS = re.compile(r"^B([0-8]*)/?S([0-8]*)$", re.IGNORECASE)
_SB = re.compile(r"^([0-8]*)/([0-8]*)$")  # the older S/B notation: survive/birth


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
    """Parse ``B3/S23``, ``b3s23`` or ``23/3``; anything else is a one-line error."""
    value = text.strip()
    match = _BS.match(value)
    if match:
        return Rule(_mask(match.group(1), text), _mask(match.group(2), text))
    match = _SB.match(value)
    if match:
        return Rule(_mask(match.group(2), text), _mask(match.group(1), text))
    raise InputError(
        f"rule {text!r}: expected a Life-like rule such as B3/S23 (digits 0-8 after B and S)"
    )


CONWAY = Rule(birth=1 << 3, survive=(1 << 2) | (1 << 3))
