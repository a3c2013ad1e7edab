"""The adapter registry: a folder of named LoRA adapters (no torch needed to read it).

Each adapter is a folder ``<registry>/<name>/`` holding PEFT's ``adapter_model.safetensors`` and
``adapter_config.json``, the spec it was trained from (``training.yaml``) and its training
figures (``metrics.json``). A folder with a pickled ``.bin`` adapter is refused.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cybermesh_cli.errors import InputError

WEIGHTS = "adapter_model.safetensors"
CONFIG = "adapter_config.json"
TRAINING = "training.yaml"
METRICS = "metrics.json"
PICKLED = ("adapter_model.bin", "pytorch_model.bin")
RUN_COPY = "adapters"  # a run folder keeps copies of the adapters it used, for replay
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class AdapterInfo:
    """What the registry knows of one adapter."""

    name: str
    path: Path
    training: dict[str, Any]
    metrics: dict[str, Any]

    @property
    def purpose(self) -> str:
        """The training spec's stated purpose."""
        return str(self.training.get("purpose", ""))

    @property
    def size_bytes(self) -> int:
        """Size of the weights file."""
        return (self.path / WEIGHTS).stat().st_size


class Registry:
    """A folder of named adapters."""

    def __init__(self, root: Path) -> None:
        """Use ``root`` (it need not exist until something is saved)."""
        self.root = root

    def names(self) -> list[str]:
        """Adapters present, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / CONFIG).is_file())

    def info(self, name: str) -> AdapterInfo:
        """Check and describe ``name``; one-line errors for anything missing or unsafe."""
        check_name(name)
        path = self.root / name
        if not path.is_dir():
            have = ", ".join(self.names()) or "none"
            raise InputError(f"{path}: no adapter {name!r} in the registry (have: {have})")
        pickled = [p for p in PICKLED if (path / p).exists()]
        if pickled:
            raise InputError(f"{path / pickled[0]}: pickled adapter weights are refused; "
                            f"save them as {WEIGHTS}")
        for required in (WEIGHTS, CONFIG, TRAINING):
            if not (path / required).is_file():
                raise InputError(f"{path}: {required} is missing")
        training = yaml.safe_load((path / TRAINING).read_text(encoding="utf-8"))
        metrics_file = path / METRICS
        metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
        return AdapterInfo(name, path, training, metrics)

    def copy_to(self, names: list[str], root: Path) -> Registry:
        """Copy the named adapters (each checked) into a new registry at ``root``."""
        for name in names:
            shutil.copytree(self.info(name).path, root / name)
        return Registry(root)

    def save(self, model: Any, name: str, training: dict[str, Any],
             metrics: dict[str, Any]) -> AdapterInfo:
        """Write ``model``'s adapter ``name`` with its spec and figures, replacing any old one.

        Written into a temporary folder first and swapped in, so a failure leaves the old
        adapter intact.
        """
        check_name(name)
        self.root.mkdir(parents=True, exist_ok=True)
        staging = self.root / f".{name}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        model.save_pretrained(str(staging), selected_adapters=[name], safe_serialization=True)
        nested = staging / name  # PEFT writes adapters not named "default" into a subfolder
        if nested.is_dir():
            for item in nested.iterdir():
                item.rename(staging / item.name)
            nested.rmdir()
        (staging / "README.md").unlink(missing_ok=True)  # PEFT's model-card stub for the Hub
        (staging / TRAINING).write_text(yaml.safe_dump(training, sort_keys=False))
        (staging / METRICS).write_text(json.dumps(metrics, indent=2) + "\n")
        target = self.root / name
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
        return self.info(name)


def check_name(name: str) -> None:
    """Adapter names are folder names: lower-case letters, digits, ``-`` and ``_``."""
    if not NAME.match(name):
        raise InputError(f"adapter name {name!r}: use lower-case letters, digits, '-' and '_'")
