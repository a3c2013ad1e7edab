"""Phase 4 end to end: criteria, figures, plot, replay, and a tampered log caught."""

import json

import orjson

from tests.conftest import cli, run_spec, tampered_copy


def test_pulse_run_passes_and_replays(tmp_path):
    run = run_spec(tmp_path, "phase4.yaml")
    metrics = json.loads((run / "metrics.json").read_text())
    assert all(c["passed"] for c in metrics["criteria"]) and len(metrics["criteria"]) == 5
    figures = metrics["figures"]
    persistence = figures["persistence"]
    assert persistence["trials"] == 1000 and persistence["ci"][0] > 0.30
    assert persistence["pulsed_mean_ticks"] > persistence["base_mean_ticks"]
    assert figures["switching"]["base_equals_kernel"] == 100
    assert len(figures["wave"]["completed_at"]) == 25
    assert (run / "pulses.png").stat().st_size > 1000
    assert (run / "adapters" / "glider-guard" / "adapter_model.safetensors").is_file()
    done = cli("replay", str(run), cwd=tmp_path)
    assert done.returncode == 0 and "re-simulation verified" in done.stdout

    copy, line, _ = tampered_copy(run, lambda raw: b'"state.digest"' in raw and b'"tick":5,' in raw,
                                  lambda e: e["payload"].update(population=-1))
    tampered = cli("replay", str(copy), cwd=tmp_path)
    assert tampered.returncode == 1 and f"line {line}" in tampered.stdout
    events = [orjson.loads(x) for x in (run / "events.jsonl").read_bytes().splitlines()]
    fronts = [e["payload"]["complete"] for e in events if e["type"] == "wave.front"]
    assert fronts == sorted(fronts) and fronts[-1] == 25
