"""Sweeps on a real two-node Ray cluster, started here as users start one (no mock of Ray).

The head and a second node each start with `ray start --block` from their own folder, bound to
127.0.0.1, and are stopped by the process ids this test started.
"""

from tests.conftest import needs

needs("ml", "ray")

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import REPO, assert_sweep_passed, cli

pytestmark = pytest.mark.slow  # run by `make test`, left out of `make check`

RAY = str(Path(sys.executable).parent / "ray")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args, folder, env):
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([RAY, "start", "--block", "--node-ip-address=127.0.0.1",
                             "--num-cpus=1", "--disable-usage-stats", *args], cwd=folder,
                            env=env, stdout=(folder / "ray.out").open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def _wait_nodes(address, env, count, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = subprocess.run([RAY, "status", f"--address={address}"], env=env,
                              capture_output=True, text=True, timeout=30, check=False)
        if done.stdout.count("node_") >= count:
            return
        time.sleep(1)
    raise AssertionError(f"the cluster at {address} never had {count} nodes")


def _stop(processes):
    family = []
    for proc in processes:
        family += psutil.Process(proc.pid).children(recursive=True)
    for proc in reversed(processes):
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    gone, alive = psutil.wait_procs(family, timeout=20)
    for leftover in alive:
        leftover.kill()
    assert not alive, f"left running: {[p.pid for p in alive]}"


@pytest.fixture(scope="module", params=["token", "disabled"])
def cluster(request, tmp_path_factory):
    """Start a head and a second node, with token authentication (Ray's default) or none."""
    root = tmp_path_factory.mktemp(f"cluster-{request.param}")
    env = {**os.environ, "RAY_AUTH_MODE": request.param}
    port = _free_port()
    address = f"127.0.0.1:{port}"
    head = _start(["--head", f"--port={port}", "--include-dashboard=false",
                   f"--temp-dir=/tmp/cmray-{port}"], root / "head", env)
    processes = [head]
    try:
        time.sleep(3)
        processes.append(_start([f"--address={address}"], root / "node", env))
        _wait_nodes(address, env, 2)
        yield root, address, request.param
    finally:
        _stop(processes)


def _spec(folder):
    """Write a phase-3 spec whose corpus exists only here: workers must be sent it."""
    (folder / "mine").mkdir(parents=True)
    corpus = (REPO / "experiments" / "data" / "topics.yaml").read_text()
    (folder / "mine" / "topics.yaml").write_text(corpus)
    spec = (REPO / "experiments" / "phase3.yaml").read_text()
    spec = spec.replace("experiments/data/topics.yaml", "mine/topics.yaml")
    spec = spec.replace("backend: local", "backend: hash").replace("ticks: 2000", "ticks: 300")
    (folder / "small.yaml").write_text(spec)
    return "small.yaml"


def test_a_sweep_on_the_cluster_writes_every_run_here_and_resumes(cluster, tmp_path):
    _, address, auth = cluster
    spec = _spec(tmp_path)
    env_args = ("sweep", spec, "--seeds", "0..3", "--address", address, "--out", "out")
    done = cli(*env_args, cwd=tmp_path, timeout=240)
    # 300 ticks judge at most 12 shards: no Wilson lower bound reaches 0.95, so every run is
    # judged "failed" on delivery alone (exit 1), and the sweep still writes every run here
    assert done.returncode == 1, done.stdout + done.stderr
    assert "InvalidAuthToken" not in done.stderr and "Token authentication" not in done.stderr
    (folder,) = (tmp_path / "out").iterdir()
    runs = sorted(folder.glob("p0-s*"))
    assert [r.name for r in runs] == [f"p0-s{s}" for s in range(4)]
    for run in runs:
        assert json.loads((run / "manifest.json").read_text())["status"] == "failed"
        failed = {c["key"].rsplit(".", 2)[-2] for c in json.loads(
            (run / "metrics.json").read_text())["criteria"] if not c["passed"]}
        assert failed == {"delivery"}
    replayed = cli("replay", str(runs[0]), cwd=tmp_path)
    assert replayed.returncode == 0 and "re-simulation verified" in replayed.stdout
    again = cli(*env_args, cwd=tmp_path, timeout=240)
    assert again.returncode == 0 and "4 finished before, 0 to run" in " ".join(
        again.stderr.split()), again.stderr
    assert (folder / "ray.log").is_file(), auth


def test_an_unreachable_head_is_one_line_within_30_s(tmp_path):
    started = time.monotonic()
    done = cli("sweep", str(REPO / "experiments" / "phase1.yaml"), "--seeds", "0..1",
               "--address", f"127.0.0.1:{_free_port()}", "--out", "out", cwd=tmp_path)
    assert done.returncode == 2 and "no Ray head answers there" in done.stderr
    assert time.monotonic() - started < 30 and "Traceback" not in done.stderr


def test_a_stale_ray_address_does_not_hijack_a_local_sweep(tmp_path):
    env = {**os.environ, "RAY_ADDRESS": f"127.0.0.1:{_free_port()}"}
    done = subprocess.run([sys.executable, "-m", "cybermesh_cli", "sweep",
                           str(REPO / "experiments" / "phase1.yaml"), "--seeds", "0..1",
                           "--workers", "2", "--out", "out"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=240, check=False)
    (folder,) = (tmp_path / "out").iterdir()
    assert_sweep_passed(done, folder)
    assert "Traceback" not in done.stderr and "Token authentication" not in done.stderr
