"""End-to-end runs of phase 0: the run folder, criteria, replay, kill and interrupt."""

import csv
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

import orjson

from tests.conftest import REPO, cli

RUN_FILES = {"spec.yaml", "manifest.json", "events.jsonl", "metrics.json", "run.log", "report.md"}


def _only_run(tmp_path):
    (run,) = (tmp_path / "runs").iterdir()
    return run


def test_phase0_run_writes_a_complete_record_and_replays(tmp_path, phase0_spec):
    done = cli("run", str(phase0_spec), "--seed", "3", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    run = _only_run(tmp_path)
    assert RUN_FILES <= {p.name for p in run.iterdir()}
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "passed" and manifest["seed"] == 3
    assert manifest["git"]["sha"] != "unknown" and manifest["device"] == "cpu"
    if importlib.util.find_spec("torch") is not None:  # the [ml] extra: the pinned CPU wheel
        assert manifest["packages"]["torch"].startswith("2.13.0")
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["criteria"] and all(c["passed"] for c in metrics["criteria"])
    assert "phase_0_setup.living_docs.min_coverage" in (run / "report.md").read_text()
    replayed = cli("replay", str(run), cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "re-simulation verified 2460 events" in replayed.stdout  # 60 ticks x (40 + 1)
    log = run / "events.jsonl"  # a finished run's log cut since: corruption, not a kill
    raw = log.read_bytes()
    middle = raw.index(b"\n", len(raw) // 2)
    whole_lines = raw.count(b"\n", 0, middle + 1)
    for cut, found in ((middle - 5, f"torn at line {whole_lines}"),
                       (middle + 1, f"cut after line {whole_lines}")):
        log.write_bytes(raw[:cut])
        damaged = cli("replay", str(run), cwd=tmp_path)
        assert damaged.returncode == 1, damaged.stdout + damaged.stderr
        assert "diverged" in damaged.stdout and "the manifest says passed" in damaged.stdout
        assert found in " ".join(damaged.stdout.split())


def test_a_run_of_the_old_seeding_scheme_is_refused_in_one_line(tmp_path, phase0_spec):
    assert cli("run", str(phase0_spec), cwd=tmp_path).returncode == 0
    run = _only_run(tmp_path)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["seeding"] == {"scheme": 2, "streams": {"soak": 1}}
    del manifest["seeding"]  # what cybermesh 0.1 wrote: positional spawns
    (run / "manifest.json").write_text(json.dumps(manifest))
    done = cli("replay", str(run), cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "recorded under seeding scheme 1; this cybermesh re-simulates scheme 2" in done.stderr
    assert cli("replay", str(run), "--no-resimulate", cwd=tmp_path).returncode == 0


def test_same_seed_same_log_apart_from_wall_clock(tmp_path, phase0_spec):
    for _ in range(2):
        assert cli("run", str(phase0_spec), cwd=tmp_path).returncode == 0
    logs = []
    for run in sorted((tmp_path / "runs").iterdir()):
        events = [orjson.loads(line) for line in (run / "events.jsonl").read_bytes().splitlines()]
        logs.append([{k: v for k, v in e.items() if k != "t"} for e in events
                     if e["type"] != "setup.checked"])
    assert logs[0] == logs[1]


def test_corrupted_event_names_its_tick(tmp_path, phase0_spec):
    assert cli("run", str(phase0_spec), cwd=tmp_path).returncode == 0
    log = _only_run(tmp_path) / "events.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if b'"tick":17,' in line)
    event = orjson.loads(lines[index])
    event["payload"]["value"] += 1
    lines[index] = orjson.dumps(event) + b"\n"
    log.write_bytes(b"".join(lines))
    done = cli("replay", str(log.parent), cwd=tmp_path)
    assert done.returncode == 1
    assert f"diverged at tick 17, line {index + 1}" in done.stdout


def _start_long_run(tmp_path, phase0_spec):
    proc = subprocess.Popen(
        [sys.executable, "-m", "cybermesh_cli", "run", str(phase0_spec),
         "--set", "duration.ticks=5000000", "--no-protocol"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        logs = list((tmp_path / "runs").glob("*/events.jsonl"))
        if logs and logs[0].stat().st_size > 200_000:
            return proc, logs[0]
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the run did not start writing events")


def test_sigkill_leaves_a_readable_prefix(tmp_path, phase0_spec):
    proc, log = _start_long_run(tmp_path, phase0_spec)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    lines = log.read_bytes().split(b"\n")
    complete = [orjson.loads(line) for line in lines[:-1]]  # every complete line parses
    assert complete[-1]["type"] != "run.end"
    done = cli("replay", str(log.parent), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "killed" in done.stdout
    assert f"re-simulation verified {len(complete) - 2} events" in done.stdout


def test_interrupt_ends_the_log_with_run_end_and_exit_130(tmp_path, phase0_spec):
    proc, log = _start_long_run(tmp_path, phase0_spec)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    last = orjson.loads(log.read_bytes().splitlines()[-1])
    assert last["type"] == "run.end" and last["payload"]["status"] == "interrupted"
    manifest = json.loads((log.parent / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert cli("replay", str(log.parent), cwd=tmp_path).returncode == 0


def test_runs_list_shows_each_run(tmp_path, phase0_spec):
    assert cli("run", str(phase0_spec), cwd=tmp_path).returncode == 0
    done = cli("runs", "list", cwd=tmp_path)
    assert done.returncode == 0
    assert "phase0-setup" in done.stdout and "passed" in done.stdout and "5/5" in done.stdout


def test_replay_takes_a_run_folder_anywhere_and_refuses_what_is_not_one(tmp_path, phase0_spec):
    out = tmp_path / "elsewhere" / "runs"
    assert cli("run", str(phase0_spec), "--out", str(out), cwd=tmp_path).returncode == 0
    (run,) = out.iterdir()
    other = tmp_path / "other"
    other.mkdir()
    (tmp_path / "link").symlink_to(run)
    for path in (str(run), "../elsewhere/runs/" + run.name, str(tmp_path / "link")):
        done = cli("replay", path, cwd=other)
        assert done.returncode == 0, (path, done.stderr)
    (other / "events.jsonl").write_bytes((run / "events.jsonl").read_bytes())
    for path in (str(other), str(REPO), str(tmp_path / "missing")):
        done = cli("replay", path, cwd=tmp_path)
        assert done.returncode == 2, path
        assert "run folder" in done.stderr and "Traceback" not in done.stderr


def test_runs_list_filters_compare_marks_differences_and_export_reads_back(tmp_path, phase0_spec):
    import pyarrow.parquet as pq

    for seed in ("1", "2"):
        done = cli("run", str(phase0_spec), "--seed", seed, "--json", cwd=tmp_path)
        assert done.returncode == 0 and json.loads(done.stdout)["status"] == "passed"
    listed = json.loads(cli("runs", "list", "runs", "--json", "--sort", "id",
                            cwd=tmp_path).stdout)
    assert [r["seed"] for r in listed] == [1, 2]
    assert json.loads(cli("runs", "list", "runs", "--json", "--phase", "3",
                          cwd=tmp_path).stdout) == []
    assert len(json.loads(cli("runs", "list", "runs", "--json", "--status", "passed",
                              "--since", "2000-01-01", cwd=tmp_path).stdout)) == 2
    a, b = (r["path"] for r in listed)
    rows = json.loads(cli("runs", "compare", a, b, "--json", cwd=tmp_path).stdout)
    marked = {r["name"] for r in rows if r["differs"]}
    assert "seed" in marked and "status" not in marked
    assert cli("runs", "export", "runs", "--csv", cwd=tmp_path).returncode == 0
    with (tmp_path / "runs" / "runs.csv").open(newline="") as handle:
        records = list(csv.DictReader(handle))
    assert sorted(r["spec.seed"] for r in records) == ["1", "2"] and records[0]["git_sha"]
    assert cli("runs", "export", "runs", "--parquet", cwd=tmp_path).returncode == 0
    table = pq.read_table(tmp_path / "runs" / "runs.parquet").to_pylist()
    assert sorted(r["seed"] for r in table) == [1, 2]
    assert any(k.endswith(".passed") and table[0][k] is True for k in table[0])
    bad = cli("runs", "compare", a, str(tmp_path), cwd=tmp_path)
    assert bad.returncode == 2 and "not a run folder" in bad.stderr


def test_json_from_replay_adapter_list_and_sweep(tmp_path, phase0_spec):
    done = cli("run", str(phase0_spec), "--json", cwd=tmp_path)
    run = json.loads(done.stdout)["run"]
    replayed = json.loads(cli("replay", run, "--json", cwd=tmp_path).stdout)
    assert replayed["verified"] == 2460 and replayed["divergence"] is None
    adapters = json.loads(cli("adapter", "list", "--json", cwd=tmp_path).stdout)
    assert {a["name"] for a in adapters} == {"glider-guard", "dust-guard"}
    swept = cli("sweep", str(phase0_spec), "--seeds", "0..1", "--backend", "serial", "--json",
                "--out", "sw", cwd=tmp_path)
    result = json.loads(swept.stdout)
    assert [r["status"] for r in result["results"]] == ["passed", "passed"]
    assert result["sweep"].startswith("sw")


def test_a_failed_run_outside_a_checkout_keeps_the_protocol_in_its_own_folder(tmp_path):
    """The failure protocol writes living docs only in the project's checkout."""
    done = cli("run", str(REPO / "experiments" / "phase3.yaml"), "--set", "duration.ticks=40",
               "--set", "phase3.embedder.backend=hash", cwd=tmp_path)
    assert done.returncode == 1 and "HALTING FOR HUMAN INPUT" in done.stderr, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]  # nothing else written here
    run = _only_run(tmp_path)
    (issue,) = run.glob("ISSUE-*.md")
    text = issue.read_text()
    assert "delivery.min_delivered_lower_ci" in text and "Gate Failed**: criteria" in text
    assert "not a git repository" in text and "fatal" not in text
    assert (run / "logs").is_dir() and issue.name in done.stderr


def test_runs_list_follows_a_linked_run_folder_once_and_survives_a_loop(tmp_path, phase0_spec):
    assert cli("run", str(phase0_spec), cwd=tmp_path).returncode == 0
    run = _only_run(tmp_path)
    (run / "loop_a").symlink_to("loop_b")  # a loop of links inside the run folder
    (run / "loop_b").symlink_to("loop_a")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "linked").symlink_to(run, target_is_directory=True)
    (elsewhere / "again").symlink_to(run, target_is_directory=True)
    done = cli("runs", "list", str(elsewhere), "--json", cwd=tmp_path)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert [r["id"] for r in json.loads(done.stdout)] == [run.name]
