"""Life-like rules from rule strings as Golly and CAX write them (B3/S23, b36s23, 23/3, S23/B3).

Golly's bounded-grid suffix ``:T W,H`` (a torus) is read by :func:`parse_rule_spec`. Rules this
tool cannot run (Generations, non-totalistic, other neighbourhoods, named multi-state rules)
are refused by family name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cybermesh_cli.errors import InputError

_BS = re.compile(r"^B([0-8]*)/?S([0-8]*)$", re.IGNORECASE)
_SB_LETTERS = re.compile(r"^S([0-8]*)/?B([0-8]*)$", re.IGNORECASE)
_SB = re.compile(r"^([0-8]*)/([0-8]*)$")  # the older S/B notation: survive/birth
_TORUS = re.compile(r"^T(\d+)(?:,(\d+))?$", re.IGNORECASE)


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
    family = _family(value)
    if family:
        raise InputError(f"rule {text!r}: a {family} rule; this tool runs Life-like rules "
                         "(two states, outer-totalistic, Moore neighbourhood) only")
    raise InputError(
        f"rule {text!r}: expected a Life-like rule such as B3/S23 (digits 0-8 after B and S)"
    )


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


def parse_rule_spec(text: str) -> tuple[Rule, tuple[int, int] | None]:
    """Parse a rule with Golly's optional bounded-grid suffix ``:T W,H`` (a torus W x H)."""
    rule_text, sep, bounds = text.strip().partition(":")
    rule = parse_rule(rule_text)
    if not sep:
        return rule, None
    match = _TORUS.match(bounds.strip())
    if not match:
        raise InputError(f"rule {text!r}: only Golly's torus suffix ':T W,H' is supported")
    width = int(match.group(1))
    height = int(match.group(2) or width)
    if not width or not height:
        raise InputError(f"rule {text!r}: a torus of 0 cells (Golly's infinite strips are "
                         "not supported)")
    return rule, (width, height)


CONWAY = Rule(birth=1 << 3, survive=(1 << 2) | (1 << 3))
