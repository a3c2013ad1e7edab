"""The run directory ``runs/<id>/``: spec, manifest, events, metrics, log and report."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cybermesh_cli.errors import InputError
from cybermesh_cli.files import read_regular
from cybermesh_cli.spec import Spec

SPEC_FILE = "spec.yaml"
MANIFEST_FILE = "manifest.json"
EVENTS_FILE = "events.jsonl"
METRICS_FILE = "metrics.json"
LOG_FILE = "run.log"
REPORT_FILE = "report.md"
MAX_JSON_BYTES = 1 << 26  # a run's manifest and metrics are kB; its largest figures a few MB
VECTORS_FILE = "vectors.safetensors"  # embedded keys and shards, so replay needs no embedder


def write_atomic(path: Path, text: str) -> None:
    """Write a file atomically (temp file, then rename): a reader never sees half a file, and
    a failed write (a full disk) leaves the old file and no temp file behind."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write JSON atomically (see :func:`write_atomic`)."""
    write_atomic(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def read_json(path: Path, limit: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """Read a JSON object written by :func:`write_json`; a ValueError names what is wrong.

    The file must be a regular file under ``limit`` bytes, nested at most a few hundred deep.
    """
    raw = read_regular(path, limit)
    try:
        data = json.loads(raw)
    except RecursionError:
        raise ValueError(f"{path}: JSON nested too deep") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return data


def new_run_folder(runs_dir: Path, name: str) -> Path:
    """Make ``<UTC time>-<name>`` in ``runs_dir``, with a numeric suffix if it is taken.

    The folder is made here, so two processes starting in the same second never share one.
    """
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    base = re.sub(r"[^a-z0-9_.-]", "-", f"{stamp}-{name}".lower())
    runs_dir.mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        folder = runs_dir / (base if n == 1 else f"{base}-{n}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise FileExistsError(f"{runs_dir}: 10,000 folders named {base}")


@dataclass
class RunRecord:
    """A run's folder and the files in it."""

    dir: Path
    manifest: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, runs_dir: Path, spec: Spec, manifest: dict[str, Any],
               run_id: str | None = None) -> RunRecord:
        """Make the folder (named ``run_id``, or a fresh id), write the spec and manifest."""
        if run_id is None:
            folder = new_run_folder(runs_dir, f"{spec.name}-s{spec.seed}")
        else:
            runs_dir.mkdir(parents=True, exist_ok=True)
            folder = runs_dir / run_id
            folder.mkdir()
        run_id = folder.name
        (folder / SPEC_FILE).write_text(spec.to_yaml())
        record = cls(dir=folder, manifest={"id": run_id, **manifest})
        record.save_manifest()
        return record

    @property
    def id(self) -> str:
        """The run's id (its folder name)."""
        return str(self.manifest["id"])

    def path(self, name: str) -> Path:
        """A file inside the run folder."""
        return self.dir / name

    def save_manifest(self) -> None:
        """Write manifest.json."""
        write_json(self.path(MANIFEST_FILE), self.manifest)
