"""Per test file: how many tests ran and how long they took, from the unit gate's junit XML.

Usage: python scripts/test_durations.py [logs/test-results.xml]

Prints the markdown table that TEST-MATRIX.md's "Durations" section holds: seconds summed over
each file's tests (setup included, as pytest's junit counts them) and its slowest test. With
pytest-xdist the files run side by side, so the sum is more than the wall-clock time.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from xml.etree import ElementTree  # noqa: S405 - the gate's own junit file, not untrusted input


def durations(junit: Path) -> list[tuple[str, int, float, float]]:
    """(file, tests, seconds, slowest test's seconds) per test file, slowest file first."""
    per_file: dict[str, list[float]] = defaultdict(list)
    for case in ElementTree.parse(junit).iter("testcase"):  # noqa: S314
        module = case.get("classname", "").split("::")[0]
        name = module.replace(".", "/") + ".py" if module else "?"
        per_file[name].append(float(case.get("time", 0)))
    rows = [(name, len(times), sum(times), max(times)) for name, times in per_file.items()]
    return sorted(rows, key=lambda row: -row[2])


def main() -> None:
    """Print the table for the junit file given (default: the unit gate's)."""
    junit = Path(sys.argv[1] if len(sys.argv) > 1 else "logs/test-results.xml")
    rows = durations(junit)
    print("| test file | tests | seconds | slowest test (s) |")
    print("|---|---|---|---|")
    for name, count, seconds, slowest in rows:
        print(f"| {name} | {count} | {seconds:.0f} | {slowest:.0f} |")
    print(f"| all | {sum(r[1] for r in rows)} | {sum(r[2] for r in rows):.0f} | |")


if __name__ == "__main__":
    main()
