"""Run the policy's gates in order as subprocesses of the project's own tools.

Each gate is a list of commands run in the project root; a gate passes when every command
exits 0 and no check says it could not do its job.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess  # noqa: S404 - fixed commands of the project's own tools
import sys
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path

GATE_ORDER = ("lint", "type", "unit", "docs", "perf", "security")
LOGS_DIR = "logs"
JUNIT_FILE = f"{LOGS_DIR}/test-results.xml"
BENCH_FILES = tuple(f"{LOGS_DIR}/benchmark-{run}.json" for run in (1, 2, 3))  # medians of 3
COMMAND_TIMEOUT_S = 3600  # a gate command's default limit (gate --timeout changes it)


@dataclass(frozen=True)
class GateConfig:
    """Where a project keeps its package and tests (``[tool.cybermesh.gates]``)."""

    root: Path
    package: str
    tests: str = "tests"
    benchmarks: str = "tests/gates/test_performance.py"

    @classmethod
    def load(cls, root: Path) -> GateConfig:
        """Read the config from ``root/pyproject.toml``."""
        pyproject = root / "pyproject.toml"
        data = tomllib.loads(pyproject.read_text()) if pyproject.is_file() else {}
        gates = data.get("tool", {}).get("cybermesh", {}).get("gates", {})
        return cls(
            root=root,
            package=gates.get("package", "cybermesh_cli"),
            tests=gates.get("tests", "tests"),
            benchmarks=gates.get("benchmarks", "tests/gates/test_performance.py"),
        )


@dataclass
class GateResult:
    """A gate's verdict, how long it took, the commands run and their combined output."""

    name: str
    passed: bool
    seconds: float
    summary: str
    commands: list[str] = field(default_factory=list)
    output: str = ""
    counts: list[str] = field(default_factory=list)  # each tool's closing count line


@dataclass(frozen=True)
class Step:
    """One command of a gate; ``verdict`` may fail it even when it exits 0 (returns a reason)."""

    argv: list[str]
    verdict: Callable[[int, str], str | None] | None = None
    skip_reason: str | None = None


def _tool(name: str) -> str:
    """Return a console tool installed beside this interpreter (the venv), else the bare name."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else name


def _pip_audit_verdict(code: int, output: str) -> str | None:
    unreachable = ("could not be audited", "ConnectionError", "NameResolution")
    if any(sign in output for sign in unreachable):
        return "pip-audit could not reach a vulnerability service: dependencies NOT audited"
    if code != 0:
        return f"pip-audit exited {code}: vulnerable or unauditable dependencies"
    return None


def _tracked_files(root: Path) -> list[str]:
    done = subprocess.run(  # noqa: S603
        ["git", "ls-files"], cwd=root, capture_output=True, text=True, check=False  # noqa: S607
    )
    if done.returncode == 0 and done.stdout.strip():
        return [f for f in done.stdout.splitlines() if (root / f).is_file()]
    files = root.rglob("*")
    return [str(p.relative_to(root)) for p in files if p.is_file() and ".venv" not in p.parts]


def _parallel() -> list[str]:
    """Run the suite on every core (pytest-xdist), a module's tests on one worker."""
    return ["-n", "auto", "--dist", "loadscope"] if find_spec("xdist") else []


def gate_steps(name: str, cfg: GateConfig, offline: bool = False) -> list[Step]:
    """Return the commands a gate runs, in order (the policy's commands, adapted to this layout)."""
    py = sys.executable
    if name == "lint":
        return [Step([_tool("ruff"), "check", ".", "--output-format=concise"])]
    if name == "type":
        return [Step([_tool("mypy"), cfg.package, "--strict"])]
    if name == "unit":
        return [Step([py, "-m", "pytest", "-q", "--tb=short", "--benchmark-disable",
                      *_parallel(), "--durations=15", f"--junit-xml={JUNIT_FILE}", cfg.tests])]
    if name == "docs":
        return [Step([py, "scripts/check_spec_drift.py"]),
                Step([py, "scripts/check_docstrings.py"])]
    if name == "perf":
        return [
            *(Step([py, "-m", "pytest", cfg.benchmarks, "--benchmark-only", "-q",
                    f"--benchmark-json={run}"]) for run in BENCH_FILES),
            Step([py, "scripts/check_performance_regression.py", *BENCH_FILES]),
        ]
    if name == "security":
        audit = Step([_tool("pip-audit"), "--progress-spinner=off", "--timeout=20"],
                     _pip_audit_verdict,
                     "--offline: pip-audit skipped, dependencies NOT audited" if offline else None)
        return [
            audit,
            Step([_tool("detect-secrets-hook"), "--baseline", ".secrets.baseline",
                  *_tracked_files(cfg.root)]),
            Step([_tool("yamale"), "-s", "schemas/experiment.yaml",
                  *sorted(str(p.relative_to(cfg.root))
                          for p in (cfg.root / "experiments").glob("*.yaml"))]),
            Step([_tool("yamale"), "-s", "schemas/corpus.yaml", "experiments/data"]),
            Step([_tool("yamale"), "-s", "schemas/adapter.yaml", "experiments/adapters"]),
            Step([_tool("yamale"), "-s", "schemas/thresholds.yaml",
                  "tests/performance_thresholds.yaml"]),
        ]
    raise ValueError(f"unknown gate {name!r}; gates are {', '.join(GATE_ORDER)}")


_HEADLINES = (
    re.compile(r"^=*\s*(\d+ (?:passed|failed|error).* in [\d.]+s.*?)\s*=*$", re.M),  # pytest
    re.compile(r"^(Success: no issues found in \d+ source files)$", re.M),  # mypy
    re.compile(r"^(All checks passed!)$", re.M),  # ruff
    re.compile(r"^(spec drift: \d+ problem\(s\)|docstrings: \d+ missing)$", re.M),
)


def headline(output: str) -> str | None:
    """Return the line a tool ends with that counts what it checked (pytest's closing line)."""
    for pattern in _HEADLINES:
        found = pattern.findall(output)
        if found:
            return str(found[-1]).strip()
    return None


def _short(argv: Sequence[str]) -> str:
    shown = [Path(argv[0]).name, *argv[1:]]
    return " ".join(shown[:8]) + (" ..." if len(shown) > 8 else "")


def run_step(argv: Sequence[str], cwd: Path, env: dict[str, str],
             timeout: float) -> tuple[int, str]:
    """Run one command in its own process group; return its exit code and output.

    Past ``timeout`` seconds the whole group is killed (servers a test started included) and
    the output printed so far is kept, with a last line saying so: exit 124.
    """
    try:
        process = subprocess.Popen(  # noqa: S603
            argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True)
    except FileNotFoundError:
        return 127, f"{argv[0]}: not installed"
    try:
        output, _ = process.communicate(timeout=timeout)
        return process.returncode, output
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return 124, f"{output}\ntimed out after {timeout:g} s (the output above is all it printed)"


def run_gate(name: str, cfg: GateConfig, offline: bool = False,
             timeout: float = COMMAND_TIMEOUT_S) -> GateResult:
    """Run one gate in ``cfg.root`` and return its verdict (each command within ``timeout``)."""
    (cfg.root / LOGS_DIR).mkdir(exist_ok=True)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    start = time.perf_counter()
    result = GateResult(name=name, passed=True, seconds=0.0, summary="ok")
    skipped: list[str] = []
    for step in gate_steps(name, cfg, offline):
        command = _short(step.argv)
        result.commands.append(command)
        if step.skip_reason:
            skipped.append(step.skip_reason)
            result.output += f"$ {command}\nSKIPPED: {step.skip_reason}\n"
            continue
        code, output = run_step(step.argv, cfg.root, env, timeout)
        result.output += f"$ {command}\n{output}\n[exit {code}]\n"
        line = headline(output)
        if line:
            result.counts.append(line)
        reason = step.verdict(code, output) if step.verdict else (
            None if code == 0 else f"`{command}` exited {code}")
        if reason:
            result.passed, result.summary = False, reason
            break
    result.seconds = time.perf_counter() - start
    if result.passed:
        result.summary = "; ".join(["ok", *result.counts, *skipped])
    return result
