"""Connecting a sweep to Ray the way Ray users do: a local instance, HOST:PORT, ray:// or auto.

Token authentication (Ray's default) works without setup on the machine that started the
head: a driver that has a token sends it (``RAY_AUTH_MODE=token``), which a cluster without
authentication accepts too. An unreachable head, a refused token, a version mismatch or a
GPU request no node can meet is one line with a hint, within 30 seconds. Ray's banners and
warnings (printed by C++ code straight to the terminal) go to the sweep's ``ray.log``.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cybermesh_cli.errors import InputError

PROBE_TIMEOUT_S = 3.0
TOKEN_FILE = Path("~/.ray/auth_token")


@contextmanager
def quiet(log: Path) -> Iterator[None]:
    """Send this process's stdout and stderr (file descriptors 1 and 2) to ``log``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def has_token() -> bool:
    """Whether this machine can present a Ray authentication token."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return True
    path = os.environ.get("RAY_AUTH_TOKEN_PATH")
    return Path(path).expanduser().is_file() if path else TOKEN_FILE.expanduser().is_file()


def probe(address: str) -> None:
    """Refuse in one line a HOST:PORT (or ray://HOST:PORT) where nothing listens."""
    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise InputError(f"--address {address!r}: expected HOST:PORT, ray://HOST:PORT or auto")
    try:
        with socket.create_connection((host, int(port)), timeout=PROBE_TIMEOUT_S):
            pass
    except OSError as exc:
        raise InputError(f"--address {address}: no Ray head answers there ({exc.strerror or exc}"
                         "); start one with `ray start --head --port=PORT`, or check the host "
                         "and port (see TROUBLESHOOTING.md)") from None


def connect(address: str | None, workers: int, gpus_per_run: float, log: Path,
            env_vars: dict[str, str]) -> None:
    """Start a local Ray (``address`` None) or join a cluster; one-line errors, quietly.

    Call it before anything imports ray: Ray reads ``RAY_AUTH_MODE`` when first imported.
    """
    if address is not None:
        if address != "auto":
            probe(address)
        if "RAY_AUTH_MODE" not in os.environ and has_token():
            os.environ["RAY_AUTH_MODE"] = "token"
    import ray

    runtime_env = {"env_vars": env_vars}
    if address is None:
        os.environ.pop("RAY_ADDRESS", None)  # a stale address must not hijack a local sweep
        with quiet(log):  # "local": a new instance even if an address file names another
            ray.init(address="local", num_cpus=workers, include_dashboard=False,
                     log_to_driver=False, logging_level=logging.WARNING,
                     runtime_env=runtime_env, _node_ip_address="127.0.0.1")
    else:
        try:
            with quiet(log):
                ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING,
                         runtime_env=runtime_env)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise InputError(_explain(address, exc, log)) from None
    resources = ray.cluster_resources()  # type: ignore[no-untyped-call]
    available = float(resources.get("GPU", 0))
    if gpus_per_run > available:
        with quiet(log):
            ray.shutdown()
        raise InputError(f"--gpus-per-run {gpus_per_run:g}: the cluster has {available:g} "
                         "GPUs; no run could ever start")


def _explain(address: str, exc: Exception, log: Path) -> str:
    """One line for a failed connection, from the exception and what Ray logged."""
    logged = log.read_text(errors="replace") if log.is_file() else ""
    text = f"{exc}"
    if "InvalidAuthToken" in logged or "InvalidAuthToken" in text:
        return (f"--address {address}: the cluster refused this machine's token; copy the "
                "head's ~/.ray/auth_token here or set RAY_AUTH_TOKEN (see TROUBLESHOOTING.md)")
    if "version mismatch" in text.lower():
        first = text.strip().splitlines()[0]
        return f"--address {address}: {first} (install the head's Ray version here)"
    if address == "auto":
        return ("--address auto: no running Ray cluster found on this machine; start one with "
                "`ray start --head`, or give HOST:PORT")
    return f"--address {address}: cannot join the cluster ({text.splitlines()[0]}); see {log}"
