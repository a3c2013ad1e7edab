"""Gates on a throwaway tiny project, broken three ways.

Each break halts at the right gate, exits 1 and runs the failure protocol (ISSUE file, living
docs, captured logs).
"""

import json
import re
import subprocess
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from cybermesh_cli.gates.runner import _pip_audit_verdict
from tests.conftest import REPO, cli

PYPROJECT = """\
[project]
name = "tinypkg"
version = "0.0.1"

[tool.ruff]
line-length = 100
target-version = "py311"

[tool.ruff.lint]
select = ["E", "F", "W", "C", "N", "D", "UP", "S"]
ignore = ["D203", "D213"]

[tool.ruff.lint.per-file-ignores]
"tests/**" = ["S101", "D100", "D103"]

[tool.cybermesh.gates]
package = "tinypkg"
tests = "tests"
"""

MODULE = '''\
"""A tiny package the gate tests break on purpose."""


def double(x: int) -> int:
    """Return twice ``x``."""
    return 2 * x
'''

TEST = """\
from tinypkg import double


def test_double():
    assert double(2) == 4
"""


@pytest.fixture
def tiny(tmp_path):
    root = tmp_path / "tiny"
    (root / "tinypkg").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "tinypkg" / "__init__.py").write_text(MODULE)
    (root / "tests" / "test_tiny.py").write_text(TEST)
    (root / "conftest.py").write_text('"""Put the project root on sys.path."""\n')
    for doc in ("TROUBLESHOOTING.md", "REPLICATION-NOTES.md"):
        (root / doc).write_text((REPO / doc).read_text())
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*git, "add", "."], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "tiny"], cwd=root, check=True)
    return root


BREAKS = {
    "lint": ("tinypkg/__init__.py", MODULE + "\nimport os\n", "F401"),
    "type": ("tinypkg/__init__.py", MODULE.replace("return 2 * x", 'return "2" * x'),
             "Incompatible return value"),
    "unit": ("tests/test_tiny.py", TEST.replace("== 4", "== 5"), "assert 4 == 5"),
}


@pytest.mark.parametrize("gate", list(BREAKS))
def test_broken_project_halts_at_the_right_gate(tiny, gate):
    path, text, evidence = BREAKS[gate]
    (tiny / path).write_text(text)
    troubleshooting_before = (tiny / "TROUBLESHOOTING.md").read_text()
    done = cli("gate", "validate", "--root", str(tiny), "--offline", cwd=tiny, timeout=600)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert re.search(rf"FAIL {gate}\b", out)
    assert "FAILURE DETECTED - HALTING FOR HUMAN INPUT" in out
    order = ["lint", "type", "unit"]
    for earlier in order[: order.index(gate)]:
        assert re.search(rf"PASS {earlier}\b", out)
    for later in order[order.index(gate) + 1:]:
        assert not re.search(rf"(PASS|FAIL) {later}\b", out)

    (issue,) = tiny.glob("ISSUE-*.md")
    text = issue.read_text()
    head = text.split("---")[1]
    assert f'title: "[FAILURE] [{gate}/Validate]' in head and 'status: "open"' in head
    assert f"**Gate Failed**: {gate}" in text and evidence in text
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tiny, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert f"**Commit**: {sha}" in text and "**Branch**: main" in text
    assert path in text  # the modified file is listed
    assert "${" not in text  # every template field filled

    added = (tiny / "TROUBLESHOOTING.md").read_text()[len(troubleshooting_before):]
    assert f"### [{gate}]" in added and evidence in added and "**Tags**:" in added
    assert f"**{gate} gate failed" in (tiny / "REPLICATION-NOTES.md").read_text()

    (logs,) = (tiny / "logs").glob("failure-*")
    names = {p.name for p in logs.iterdir()}
    assert {f"{gate}-output.log", "git-context.txt", "git-status.txt",
            "process-snapshot.txt", "disk-usage.txt", "memory-usage.txt"} <= names
    assert evidence in (logs / f"{gate}-output.log").read_text()
    # the unit gate's own junit is kept; no gate runs the suite again to make one
    assert ("test-results.xml" in names) == (gate == "unit")
    if gate == "unit":
        assert "<testsuite" in (logs / "test-results.xml").read_text()
    assert "tiny" in (logs / "git-context.txt").read_text()


HANGING = """\
import subprocess
import time
from pathlib import Path


def test_hangs():
    child = subprocess.Popen(["sleep", "300"])
    Path("child.pid").write_text(str(child.pid))
    time.sleep(300)
"""


def test_a_gate_past_its_limit_keeps_its_output_and_stops_what_it_started(tiny):
    (tiny / "tests" / "test_hang.py").write_text(HANGING)
    began = time.monotonic()
    done = cli("gate", "unit", "--root", str(tiny), "--timeout", "15", "--json", cwd=tiny,
               timeout=300)
    assert done.returncode == 1 and time.monotonic() - began < 120
    assert re.search(r"FAIL unit\b", done.stderr) and "timed out after 15 s" in done.stderr
    verdict = json.loads(done.stdout)  # --json: the verdicts alone on stdout
    assert verdict["passed"] is False and verdict["gates"][0]["gate"] == "unit"
    assert Path(verdict["issue_file"]).is_file()
    pid = int((tiny / "child.pid").read_text())
    for _ in range(50):  # the test's own child went with pytest's process group
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the hanging test's child {pid} is still running")
    (logs,) = (tiny / "logs").glob("failure-*")
    assert "timed out after 15 s" in (logs / "unit-output.log").read_text()


def test_pip_audit_that_audited_nothing_fails():
    output = textwrap.dedent("""\
        No known vulnerabilities found
        numpy  Dependency not found on PyPI and could not be audited: numpy (2.4.6)
        """)
    assert "NOT audited" in _pip_audit_verdict(0, output)
    assert _pip_audit_verdict(1, "Found 2 known vulnerabilities in 1 package") is not None
    assert _pip_audit_verdict(0, "No known vulnerabilities found\n") is None
