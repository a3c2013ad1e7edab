"""Spec drift: the command reference (docs/commands.md), experiment specs, TEST-MATRIX.md."""

import sys
from pathlib import Path

from cybermesh_cli.cli import app
from cybermesh_cli.gates.docs import command_drift, spec_drift, matrix_drift

ROOT = Path(__file__).resolve().parents[1]

problems = (
    command_drift(app, ROOT / "docs" / "commands.md")
    + spec_drift(ROOT / "experiments")
    + matrix_drift(ROOT / "TEST-MATRIX.md", ROOT / "tests")
)
for problem in problems:
    print(problem)
print(f"spec drift: {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
