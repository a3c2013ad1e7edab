"""The docs gate: spec drift and docstrings.

Spec drift compares the command reference (docs/commands.md) with the CLI, every experiment
spec with its schema, and TEST-MATRIX.md with tests/.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from cybermesh_cli.errors import InputError

COMMANDS_BEGIN = "<!-- commands:begin -->"
COMMANDS_END = "<!-- commands:end -->"
_README_COMMAND = re.compile(r"`(cybermesh(?: [a-z][a-z-]*)+)")


def app_commands(app: typer.Typer) -> set[str]:
    """Every leaf command of the Typer app, as ``cybermesh <group> <command>``."""
    root = typer.main.get_command(app)

    def walk(command: Any, prefix: str) -> Iterator[str]:
        subcommands = getattr(command, "commands", None)  # a group (typer vendors click)
        if subcommands:
            if getattr(command, "invoke_without_command", False):
                yield prefix  # the group runs on its own too
            for name, sub in subcommands.items():
                yield from walk(sub, f"{prefix} {name}")
        else:
            yield prefix

    return set(walk(root, "cybermesh"))


def readme_commands(readme: Path) -> set[str]:
    """Commands listed in the README between the command-reference markers."""
    text = readme.read_text(encoding="utf-8")
    if COMMANDS_BEGIN not in text or COMMANDS_END not in text:
        raise InputError(f"{readme}: no command reference ({COMMANDS_BEGIN} ... {COMMANDS_END})")
    section = text.split(COMMANDS_BEGIN, 1)[1].split(COMMANDS_END, 1)[0]
    return set(_README_COMMAND.findall(section))


def command_drift(app: typer.Typer, readme: Path) -> list[str]:
    """Differences between a command reference (docs/commands.md) and the real CLI."""
    real, documented = app_commands(app), readme_commands(readme)
    return [f"{readme.name} lacks `{c}`" for c in sorted(real - documented)] + [
        f"{readme.name} documents `{c}`, which the CLI does not have"
        for c in sorted(documented - real)
    ]


def spec_drift(experiments: Path) -> list[str]:
    """Experiment and adapter training specs that do not validate against their schema."""
    from cybermesh_cli.paths import SCHEMAS_DIR
    from cybermesh_cli.spec import load_spec, load_yaml_file

    problems = []
    for path in sorted(experiments.glob("*.yaml")):
        try:
            load_spec(path)
        except InputError as exc:
            problems.append(str(exc))
    for path in sorted(experiments.glob("adapters/*.yaml")):
        try:
            load_yaml_file(path, SCHEMAS_DIR / "adapter.yaml")
        except InputError as exc:
            problems.append(str(exc))
    return problems


def matrix_drift(matrix: Path, tests: Path) -> list[str]:
    """Test files missing from TEST-MATRIX.md, and files it names that do not exist."""
    text = matrix.read_text(encoding="utf-8") if matrix.is_file() else ""
    named = set(re.findall(r"tests/(?:[\w/]+/)?test_\w+\.py", text))
    real = {str(p.relative_to(tests.parent)) for p in tests.rglob("test_*.py")}
    return [f"{matrix.name} lacks {f}" for f in sorted(real - named)] + [
        f"{matrix.name} names {f}, which does not exist" for f in sorted(named - real)
    ]


def _public_definitions(
    body: list[ast.stmt],
) -> Iterator[ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef]:
    """Yield module- and class-level functions and classes (nested helpers are not public)."""
    for node in body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            if node.name.startswith("_"):
                continue  # private, and so is everything inside it
            yield node
            if isinstance(node, ast.ClassDef):
                yield from _public_definitions(node.body)


def missing_docstrings(package: Path) -> list[str]:
    """Public modules, classes, functions and methods without a docstring."""
    problems = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        if ast.get_docstring(tree) is None:
            problems.append(f"{path}:1: module has no docstring")
        for node in _public_definitions(tree.body):
            if ast.get_docstring(node) is None:
                problems.append(f"{path}:{node.lineno}: {node.name} has no docstring")
    return problems
