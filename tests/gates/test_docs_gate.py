"""The docs gate's checks catch drift, and pass on this repository."""

import typer

from cybermesh_cli.cli import app
from cybermesh_cli.gates.docs import (
    app_commands,
    command_drift,
    missing_docstrings,
    matrix_drift,
)
from tests.conftest import REPO


def test_repository_has_no_drift():
    assert command_drift(app, REPO / "docs" / "commands.md") == []
    assert matrix_drift(REPO / "TEST-MATRIX.md", REPO / "tests") == []
    assert missing_docstrings(REPO / "cybermesh_cli") == []


def test_app_commands_are_leaves():
    commands = app_commands(app)
    assert {"cybermesh run", "cybermesh gate validate", "cybermesh spec check"} <= commands
    assert "cybermesh gate" not in commands


def test_drift_is_reported_both_ways(tmp_path):
    extra = typer.Typer()
    extra.command("alpha")(lambda: None)
    extra.command("beta")(lambda: None)
    readme = tmp_path / "README.md"
    readme.write_text("<!-- commands:begin -->\n`cybermesh alpha` and `cybermesh gamma`\n"
                      "<!-- commands:end -->\n")
    assert command_drift(extra, readme) == [
        "README.md lacks `cybermesh beta`",
        "README.md documents `cybermesh gamma`, which the CLI does not have",
    ]


def test_matrix_drift_and_docstrings(tmp_path):
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_a.py").write_text("")
    matrix = tmp_path / "TEST-MATRIX.md"
    matrix.write_text("| tests/test_b.py | b |\n")
    assert matrix_drift(matrix, tests) == [
        "TEST-MATRIX.md lacks tests/test_a.py",
        "TEST-MATRIX.md names tests/test_b.py, which does not exist",
    ]
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "m.py").write_text('"""Doc."""\n\ndef public():\n    pass\n\ndef _private():\n'
                                  "    pass\n")
    assert missing_docstrings(package) == [f"{package / 'm.py'}:3: public has no docstring"]
