"""One driver per policy phase, imported only when a run needs it (keeps start-up fast)."""

from __future__ import annotations

import importlib
from typing import Any

from cybermesh_cli.errors import InputError
from cybermesh_cli.phases.base import PhaseDriver
from cybermesh_cli.spec import Spec

_DRIVERS: dict[int, str] = {
    0: "cybermesh_cli.phases.phase0",
    1: "cybermesh_cli.phases.phase1",
    2: "cybermesh_cli.phases.phase2",
    3: "cybermesh_cli.phases.phase3",
    4: "cybermesh_cli.phases.phase4",
    5: "cybermesh_cli.phases.phase5",
    6: "cybermesh_cli.phases.phase6",
    7: "cybermesh_cli.phases.phase7",
    8: "cybermesh_cli.phases.phase8",
}


def available_phases() -> list[int]:
    """Phases that have a driver."""
    return sorted(_DRIVERS)


def load_driver(phase: int) -> PhaseDriver:
    """Import and return the driver for ``phase``."""
    if phase not in _DRIVERS:
        have = ", ".join(map(str, available_phases()))
        raise InputError(f"phase {phase}: no driver yet (available: {have})")
    module = importlib.import_module(_DRIVERS[phase])
    driver: PhaseDriver = module.DRIVER
    return driver


def required_extras(spec: Spec) -> list[str]:
    """Return the pip extras a spec's run needs, so a missing one is reported before it runs."""
    block = spec.block(f"phase{spec.phase}")
    backend = str(block.get("embedder", {}).get("backend", ""))
    extras = {"local": ["ml"], "auto": ["ml", "ollama"], "ollama": ["ollama"]}.get(backend, [])
    if spec.phase in (4, 7):
        extras.append("ml")
    if spec.phase == 7:
        extras.append("dashboard")
    if spec.phase == 8:
        extras.append("index")
    return sorted(set(extras))


def preflight(spec: Spec) -> None:
    """Check what a run needs beyond the schema before anything is written: extras, the world."""
    from cybermesh_cli.extras import require

    for extra in required_extras(spec):
        require(extra, f"{spec.path} (phase {spec.phase})")
    block = spec.data.get(f"phase{spec.phase}", {})
    _check_corpus(spec, block)
    _check_ollama(spec, block)
    _check_rule(spec, block)
    _check_adapters(spec, block)
    if spec.phase == 3:
        from cybermesh_cli.world import WorldConfig

        try:
            WorldConfig.from_block(spec.block("phase3"))
        except InputError as exc:
            raise InputError(f"{spec.path}: phase3.{exc}") from None


def _check_adapters(spec: Spec, block: Any) -> None:
    """Refuse an adapter the registry lacks, or holds pickled or broken, before a run folder."""
    if not isinstance(block, dict) or not isinstance(block.get("registry"), str):
        return
    from cybermesh_cli.paths import resource
    from cybermesh_cli.pulses.registry import Registry

    registry = Registry(resource(block["registry"]))
    for key in ("adapter", "other_adapter"):
        if isinstance(block.get(key), str):
            try:
                registry.info(block[key])
            except InputError as exc:
                raise InputError(f"{spec.path}: phase{spec.phase}.{key}: {exc}") from None


def _check_rule(spec: Spec, block: Any) -> None:
    """Refuse a rule string the substrate cannot run, before a run folder is made."""
    from cybermesh_cli.substrate.rules import parse_rule

    if isinstance(block, dict) and isinstance(block.get("rule"), str):
        try:
            parse_rule(block["rule"])
        except InputError as exc:
            raise InputError(f"{spec.path}: phase{spec.phase}.rule: {exc}") from None


def _check_corpus(spec: Spec, block: Any) -> None:
    """Refuse a corpus that is not a file (the user's, else the bundled one)."""
    from cybermesh_cli.paths import resource

    if isinstance(block, dict) and isinstance(block.get("corpus"), str):
        path = resource(block["corpus"])
        if not path.is_file():
            raise InputError(f"{spec.path}: phase{spec.phase}.corpus: {block['corpus']}: no "
                             "such file")


def _check_ollama(spec: Spec, block: Any) -> None:
    """Refuse an ``ollama`` embedder whose host does not answer (``auto`` falls back itself)."""
    import socket
    from urllib.parse import urlsplit

    embedder = block.get("embedder") if isinstance(block, dict) else None
    if not isinstance(embedder, dict) or embedder.get("backend") != "ollama":
        return
    from cybermesh_cli.shards.embedders import ollama_host

    host = ollama_host(embedder.get("host"))
    parts = urlsplit(host if "://" in host else f"http://{host}")
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 11434),
                                      timeout=2.0):
            pass
    except OSError:
        raise InputError(f"{spec.path}: phase{spec.phase}.embedder: ollama at {host}: no server "
                         "answers (start one with `ollama serve`, or use embedder.backend: "
                         "local)") from None


def state_bytes(spec: Spec) -> int | None:
    """Bytes of one full state dump of the world ``spec`` simulates (None: no grid)."""
    return load_driver(spec.phase).state_bytes(spec)
