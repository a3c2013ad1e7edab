"""Catagolue's own encoder (lifelib, which apgsearch runs) as the oracle of periods and apgcodes.

Every Life file of tests/data/rle is handed to lifelib as coordinates, never through this
tool's RLE writer. Where this tool's period search finds a period, lifelib's ``apgcode`` must
be the same string (periods up to 312 among them); where it finds none, lifelib must find no
period within 1,024 generations either.
"""

import lifelib
import numpy as np
import pytest

from cybermesh_cli.errors import InputError
from cybermesh_cli.substrate.rle import read_rle
from cybermesh_cli.substrate.rules import CONWAY, parse_rule_spec
from cybermesh_cli.substrate.separate import periodicity
from tests.conftest import REPO, needs_program

pytestmark = pytest.mark.slow  # run by `make test`, left out of `make check`

needs_program("g++", "g++")  # lifelib compiles its Life kernel on first use (about 30 s)
CORPUS = sorted((REPO / "tests" / "data" / "rle").glob("*.rle"))
MAX_CELLS = 300 * 300  # larger boxes (guns, breeders, huge sparse boxes) are left to test_golly


def _life_files() -> list[tuple[str, np.ndarray]]:
    """Each unbounded Life file of the corpus with a box this test steps densely."""
    files = []
    for path in CORPUS:
        try:
            pattern = read_rle(path)
            rule, bounds = parse_rule_spec(pattern.rule or "B3/S23")
        except InputError:
            continue
        if rule == CONWAY and bounds is None and 0 < pattern.width * pattern.height <= MAX_CELLS:
            files.append((path.name, pattern))
    return files


@pytest.fixture(scope="module")
def lifetree():
    return lifelib.load_rules("b3s23").lifetree(memory=2000)


def test_every_periodic_life_file_gets_catagolues_apgcode_and_no_other_is_periodic(lifetree):
    named, long_periods, aperiodic = 0, 0, 0
    mismatches = []
    for name, pattern in _life_files():
        theirs = lifetree.pattern("")
        theirs[pattern.live[:, ::-1]] = np.ones(len(pattern.live), np.uint64)  # lifelib: (x, y)
        ours = periodicity(pattern.cells)
        if ours is None:
            found = theirs.oscar(maxexp=10, eventual_oscillator=False, verbose=False,
                                 allow_guns=False)
            if found:
                mismatches.append((name, "no period", found))
            aperiodic += 1
            continue
        if ours.apgcode != theirs.apgcode:
            mismatches.append((name, ours.apgcode, theirs.apgcode))
        named += 1
        long_periods += ours.period > 60
    assert mismatches == []
    assert named >= 1000 and long_periods >= 60 and aperiodic >= 500, (named, long_periods,
                                                                        aperiodic)
