"""The policy's failure protocol: capture logs, update the living docs, write ISSUE-<time>.md.

Run on any failed gate or failed run; the caller then prints the halt message and exits 1.
"""

from __future__ import annotations

import platform
import shutil
import subprocess  # noqa: S404 - fixed git and pytest commands
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from string import Template

import psutil

from cybermesh_cli.paths import TEMPLATES_DIR

HALT_MESSAGE = "FAILURE DETECTED - HALTING FOR HUMAN INPUT"
SEVERITY = {"lint": "P2", "type": "P2", "docs": "P2", "unit": "P1", "perf": "P1", "security": "P0"}
PITFALLS_HEADING = "## Known Pitfalls to Avoid Next Run"


@dataclass(frozen=True)
class Failure:
    """What failed, where, and the output that shows it."""

    gate: str
    task: str
    summary: str
    output: str
    command: str
    stage: str = "Validate"


@dataclass(frozen=True)
class ProtocolResult:
    """Where the protocol put things."""

    issue_file: Path
    logs_dir: Path


def _run(argv: list[str], cwd: Path, timeout: float = 60) -> str:
    try:
        done = subprocess.run(  # noqa: S603
            argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"({argv[0]} failed: {exc})"
    return done.stdout + done.stderr


def _snapshots(logs: Path, root: Path) -> None:
    processes = [
        f"{p.info['pid']:>7} {p.info['name']} {' '.join(p.info['cmdline'] or [])[:200]}"
        for p in psutil.process_iter(["pid", "name", "cmdline"])
        if "python" in (p.info["name"] or "")
    ]
    (logs / "process-snapshot.txt").write_text("\n".join(processes) + "\n")
    disk = shutil.disk_usage(root)
    (logs / "disk-usage.txt").write_text(
        f"{root}: total {disk.total >> 20} MiB, used {disk.used >> 20} MiB, "
        f"free {disk.free >> 20} MiB\n"
    )
    mem = psutil.virtual_memory()
    (logs / "memory-usage.txt").write_text(
        f"total {mem.total >> 20} MiB, available {mem.available >> 20} MiB, "
        f"used {mem.used >> 20} MiB ({mem.percent}%)\n"
    )
    if in_repository(root):
        (logs / "git-context.txt").write_text(_run(["git", "log", "--oneline", "-10"], root))
        (logs / "git-status.txt").write_text(_run(["git", "status", "--porcelain"], root))


def capture_logs(root: Path, failure: Failure, stamp: str) -> Path:
    """Step 1: the gate's output, pytest's junit XML, git, process, disk and memory snapshots."""
    logs = root / "logs" / f"failure-{stamp}"
    logs.mkdir(parents=True, exist_ok=True)
    (logs / f"{failure.gate}-output.log").write_text(f"$ {failure.command}\n{failure.output}")
    junit = root / "logs" / "test-results.xml"  # the failed run's own, never a second run's
    if failure.gate == "unit" and junit.is_file():
        shutil.copy(junit, logs / "test-results.xml")
    _snapshots(logs, root)
    return logs


def _append_troubleshooting(root: Path, failure: Failure, when: str, logs: Path) -> None:
    tail = "\n".join(failure.output.strip().splitlines()[-15:])
    entry = f"""
### [{failure.gate}] {failure.summary} ({when})
**Context**: `cybermesh` {failure.stage} stage, {failure.gate} gate: {failure.task}
**Symptom**: `{failure.command}` failed: {failure.summary}
**Error Snippet**:
```
{tail}
```
**Probable Cause**: To be confirmed by a human; the full output is in `{logs.relative_to(root)}`.
**Quick Fix**: Re-run `{failure.command}`, read the first error and fix it.
**Permanent Fix**: Pending human review of the ISSUE file.
**Prevention**: Run `cybermesh gate validate` before committing.
**Tags**: {failure.gate}, {failure.stage.lower()}, {SEVERITY.get(failure.gate, "P1")}
"""
    path = root / "TROUBLESHOOTING.md"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(entry)


def _add_pitfall(root: Path, failure: Failure, when: str) -> None:
    path = root / "REPLICATION-NOTES.md"
    text = path.read_text(encoding="utf-8") if path.is_file() else f"{PITFALLS_HEADING}\n"
    if PITFALLS_HEADING not in text:
        text = text.rstrip("\n") + f"\n\n{PITFALLS_HEADING}\n"
    line = f"- **{failure.gate} gate failed ({when})**: {failure.summary}; see the ISSUE file.\n"
    head, _, rest = text.partition(PITFALLS_HEADING)
    section, sep, after = rest.partition("\n## ")
    path.write_text(head + PITFALLS_HEADING + section.rstrip("\n") + "\n" + line
                    + (("\n## " + after) if sep else ""), encoding="utf-8")


def in_repository(path: Path) -> bool:
    """Say whether ``path`` lies in a git repository (git is asked only where one is)."""
    return any((folder / ".git").exists() for folder in (path, *path.parents))


def checkout_of(path: Path) -> Path | None:
    """Return the cybermesh checkout holding ``path`` (its living docs are the policy's), if any."""
    for folder in (path, *path.parents):
        project = folder / "pyproject.toml"
        if (folder / ".git").exists() and project.is_file() and \
                'name = "cybermesh-cli"' in project.read_text(errors="replace"):
            return folder
    return None


def _git(root: Path, *args: str) -> str:
    if not in_repository(root):
        return "none (not a git repository)"
    return _run(["git", *args], root).strip() or "unknown"


def write_issue(root: Path, failure: Failure, stamp: str, when: str, logs: Path) -> Path:
    """Step 4: ISSUE-<stamp>.md from templates/ISSUE-template.md, every field from real context."""
    template_path = root / "templates" / "ISSUE-template.md"
    if not template_path.is_file():
        template_path = TEMPLATES_DIR / "ISSUE-template.md"
    modified = _run(["git", "status", "--porcelain"], root).strip().splitlines() \
        if in_repository(root) else []
    collected = sorted(p.name for p in logs.iterdir())
    fields = {
        "gate": failure.gate,
        "stage": failure.stage,
        "brief": failure.summary.replace('"', "'")[:120],
        "date": when,
        "severity": SEVERITY.get(failure.gate, "P1"),
        "task": failure.task,
        "steps": "\n".join([
            f"1. `cd {root}`",
            f"2. `{failure.command}`",
            f"3. Compare with the output captured in `{logs.relative_to(root)}/`",
        ]),
        "error": "\n".join(failure.output.strip().splitlines()[-60:]),
        "commit": _git(root, "rev-parse", "HEAD"),
        "branch": _git(root, "rev-parse", "--abbrev-ref", "HEAD"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "modified": ", ".join(m[3:] for m in modified) or "none",
        "logs": "\n".join(f"- [x] `{logs.relative_to(root)}/{name}`" for name in collected),
        "blocking": f"The {failure.gate} gate must pass before the next gate runs.",
    }
    issue = root / f"ISSUE-{stamp}.md"
    n = 1
    while issue.exists():
        n += 1
        issue = root / f"ISSUE-{stamp}-{n}.md"
    issue.write_text(Template(template_path.read_text()).safe_substitute(fields))
    return issue


def run_failure_protocol(root: Path, failure: Failure,
                         living_docs: bool = True) -> ProtocolResult:
    """Run steps 1 to 4 of the policy's protocol; step 5 (halt) is the caller's exit.

    ``living_docs`` False (outside the project's checkout) keeps steps 1 and 4, the logs and
    the ISSUE file, in ``root`` and leaves TROUBLESHOOTING.md and REPLICATION-NOTES.md alone.
    """
    now = datetime.now(UTC)
    stamp, when = now.strftime("%Y%m%d-%H%M%S"), now.strftime("%Y-%m-%d %H:%M:%S")
    logs = capture_logs(root, failure, stamp)
    if living_docs:
        _append_troubleshooting(root, failure, when, logs)
        _add_pitfall(root, failure, when)
    return ProtocolResult(issue_file=write_issue(root, failure, stamp, when, logs), logs_dir=logs)
