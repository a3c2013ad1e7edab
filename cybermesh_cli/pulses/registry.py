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
from collections.abc import Callable
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
        return sorted(p.name for p in self.root.iterdir() if not p.name.startswith(".")
                      and any((p / f).is_file() for f in (CONFIG, WEIGHTS, TRAINING)))

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
        training = _mapping(path / TRAINING, lambda text: yaml.safe_load(text))
        hidden = training.get("hidden")
        if not isinstance(hidden, int) or not 1 <= hidden <= 4096 or not isinstance(
                training.get("rule"), str):
            raise InputError(f"{path / TRAINING}: needs a rule and hidden units (1-4096)")
        metrics_file = path / METRICS
        metrics = _mapping(metrics_file, json.loads) if metrics_file.is_file() else {}
        check_weights(path, _mapping(path / CONFIG, json.loads), hidden)
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


TARGETS = {"update.hidden": ("in", "hidden"), "update.out": ("hidden", "out")}  # 1x1 layers
MAX_HEADER = 1 << 20  # bytes of a safetensors header; a LoRA adapter's is under 1 kB


def _mapping(path: Path, parse: Callable[[str], Any]) -> dict[str, Any]:
    """Read a YAML or JSON file that must hold a mapping; one line if it does not."""
    try:
        data = parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: unreadable ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping, not {type(data).__name__}")
    return data


def check_weights(path: Path, config: dict[str, Any], hidden: int) -> None:
    """Check the PEFT config and the weights' header against the network, before PEFT reads.

    Only the two 1x1 layers may be adapted (LoRA on the circular convolution pads with zeros
    and breaks the torus); every tensor must have the shape the network's layers imply.
    """
    targets = config.get("target_modules")
    rank = config.get("r")
    if config.get("peft_type") != "LORA" or not isinstance(rank, int) or not 1 <= rank <= 4096:
        raise InputError(f"{path / CONFIG}: expected a LoRA config with a rank r of 1-4096")
    if not isinstance(targets, list) or not targets or not set(targets) <= set(TARGETS):
        raise InputError(f"{path / CONFIG}: target_modules must be among "
                         f"{sorted(TARGETS)} (got {targets!r})")
    sizes = {"in": 9, "hidden": hidden, "out": 1}
    expected = {}
    for target in targets:
        source, sink = TARGETS[target]
        expected[f"base_model.model.{target}.lora_A.weight"] = [rank, sizes[source], 1, 1]
        expected[f"base_model.model.{target}.lora_B.weight"] = [sizes[sink], rank, 1, 1]
    header = _safetensors_header(path / WEIGHTS)
    found = {k: v.get("shape") for k, v in header.items() if k != "__metadata__"
             and isinstance(v, dict)}
    if found != expected:
        wrong = sorted(set(found) ^ set(expected)) or sorted(
            k for k in found if found[k] != expected[k])
        raise InputError(f"{path / WEIGHTS}: tensors do not fit this network (hidden "
                         f"{hidden}, rank {rank}): first mismatch {wrong[0]}")


def _safetensors_header(path: Path) -> dict[str, Any]:
    """Read a safetensors file's JSON header without trusting its declared length."""
    try:
        with path.open("rb") as handle:
            prefix = handle.read(8)
            size = path.stat().st_size
            length = int.from_bytes(prefix, "little") if len(prefix) == 8 else -1
            if not 2 <= length <= min(MAX_HEADER, size - 8):
                raise InputError(f"{path}: not a safetensors file (header of {length} bytes "
                                 f"in a {size}-byte file)")
            header = json.loads(handle.read(length))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: unreadable safetensors header ({type(exc).__name__})"
                         ) from None
    if not isinstance(header, dict):
        raise InputError(f"{path}: the safetensors header is not a mapping")
    return header
