"""Every public module, class and function of the package has a docstring."""

import sys
from pathlib import Path

from cybermesh_cli.gates.docs import missing_docstrings

ROOT = Path(__file__).resolve().parents[1]

problems = missing_docstrings(ROOT / "cybermesh_cli")
for problem in problems:
    print(problem)
print(f"docstrings: {len(problems)} missing")
sys.exit(1 if problems else 0)
