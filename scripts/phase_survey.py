"""Name every periodic object of the RLE corpus from several phases and orientations.

python scripts/phase_survey.py [--phases 4] [--orientations 2]

Prints each object whose answers differ from the whole's apgcode: "phase-dependent" when
phases disagree with each other, "split" when every phase gives the same parts (a
pseudo-object whose parts never interact), then the totals.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from cybermesh_cli.errors import InputError
from cybermesh_cli.substrate.detect import detect
from cybermesh_cli.substrate.rle import read_rle
from cybermesh_cli.substrate.rules import CONWAY, parse_rule_spec
from cybermesh_cli.substrate.separate import periodicity

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "rle"
MAX_CELLS = 300 * 300
MAX_PHASE_CELLS = 60 * 60


def _oriented(cells: np.ndarray, turn: int) -> np.ndarray:
    """Rotate by quarter turns, reflected for ``turn`` 4-7: the 8 orientations."""
    turned = np.rot90(cells, turn % 4)
    return turned[:, ::-1] if turn >= 4 else turned


def _answers(phases: tuple[np.ndarray, ...], count: int, turns: list[int]) -> set[tuple[str, ...]]:
    """Sorted apgcodes detect finds from ``count`` phases spread over the period, each turned."""
    picked = sorted({int(i) for i in np.linspace(0, len(phases) - 1, min(len(phases), count))})
    return {tuple(sorted(d.apgcode for d in detect(np.pad(_oriented(phases[i], turn), 12),
                                                    torus=False, separate_unknown=True)))
            for i in picked for turn in turns}


def main() -> None:
    """Survey the corpus and print the objects named differently by phase."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", type=int, default=4)
    parser.add_argument("--orientations", type=int, default=2, choices=range(1, 9))
    args = parser.parse_args()
    turns = [0, 5, 1, 4, 2, 7, 3, 6][:args.orientations]
    checked, dependent, split = 0, 0, 0
    for path in sorted(CORPUS.glob("*.rle")):
        try:
            pattern = read_rle(path)
            rule, bounds = parse_rule_spec(pattern.rule or "B3/S23")
        except InputError:
            continue  # a rule this tool refuses (test_golly lists them)
        if rule != CONWAY or bounds is not None or pattern.width * pattern.height > MAX_CELLS:
            continue
        whole = periodicity(pattern.cells)
        if whole is None or whole.period == 1 or max(p.size for p in whole.phases) > \
                MAX_PHASE_CELLS:
            continue
        checked += 1
        seen = _answers(whole.phases, args.phases, turns)
        if seen == {(whole.apgcode,)}:
            continue
        verdict = "phase-dependent" if len(seen) > 1 else "split"
        dependent += verdict == "phase-dependent"
        split += verdict == "split"
        print(f"{path.name}: {verdict}, period {whole.period}, parts "
              f"{sorted(len(answer) for answer in seen)}", flush=True)
    print(f"{checked} oscillators and spaceships: {checked - dependent - split} named whole "
          f"every time, {split} split the same way every time, {dependent} phase-dependent")


if __name__ == "__main__":
    main()
