"""Check the torch and PEFT path on an accelerator: exactness against the Numba kernel, and speed.

Run on a machine with CUDA: ``python scripts/gpu_check.py --out gpu.json``. For each grid size it
steps the base neural CA on the accelerator and on the CPU (torch) beside the Numba kernel, checks
that every generation agrees cell for cell, and reports the median time a generation (CUDA
synchronised) with the accelerator's speed-up over torch on the CPU and over Numba, all measured in
this one run. It then applies the shipped glider-guard adapter through PEFT on both devices and
reports how many cells agree (float sums may round differently on another device).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from cybermesh_cli.paths import resource
from cybermesh_cli.pulses.adapters import PulseEngine
from cybermesh_cli.pulses.nca import NeuralCA
from cybermesh_cli.seeds import fixed_rng
from cybermesh_cli.pulses.registry import Registry
from cybermesh_cli.substrate.grid import Grid
from cybermesh_cli.substrate.rules import parse_rule

RULE = parse_rule("B3/S23")


def _median_ms(work: Callable[[], object], repeats: int, sync: Callable[[], None]) -> float:
    times = []
    for _ in range(repeats):
        sync()
        started = time.perf_counter()
        work()
        sync()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _exact_and_timed(size: int, gens: int, device: str) -> dict[str, object]:
    """Step one soup ``gens`` generations on ``device``, the CPU and Numba; compare and time."""
    rng = fixed_rng(f"gpu-check-{size}")
    soup = (rng.random((size, size)) < 0.35).astype(np.uint8)
    accel, cpu = NeuralCA(RULE, 64).to(device), NeuralCA(RULE, 64)
    grid = Grid(soup, RULE, torus=True)
    state = torch.from_numpy(soup).float()[None, None].to(device)
    mismatched = 0
    for _ in range(gens):
        state = accel.step(state)
        grid.step(1)
        mismatched += int((state[0, 0].cpu().numpy().astype(np.uint8) != grid.cells).sum())

    def sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    on_accel = torch.from_numpy(soup).float()[None, None].to(device)
    on_cpu = torch.from_numpy(soup).float()[None, None]
    with torch.no_grad():
        accel_ms = _median_ms(lambda: accel.step(on_accel), 30, sync)
        cpu_ms = _median_ms(lambda: cpu.step(on_cpu), 5 if size > 1024 else 15, lambda: None)
    numba_ms = _median_ms(lambda: grid.step(1), 30, lambda: None)
    return {"size": size, "generations_compared": gens, "cells_mismatched": mismatched,
            f"{device}_ms": round(accel_ms, 4), "torch_cpu_ms": round(cpu_ms, 3),
            "numba_ms": round(numba_ms, 4),
            "torch_cpu_over_accel": float(f"{cpu_ms / accel_ms:.3g}"),
            "numba_over_accel": float(f"{numba_ms / accel_ms:.3g}")}


def _adapter_agreement(device: str) -> dict[str, object]:
    """Apply glider-guard through PEFT on ``device`` and on the CPU; count agreeing cells."""
    registry = Registry(resource("adapters"))
    rng = fixed_rng("gpu-check-adapter")
    cells = (rng.random((16, 128, 128)) < 0.3).astype(np.uint8)
    engines = {name: PulseEngine(NeuralCA(RULE, 64), registry, name) for name in (device, "cpu")}
    outputs = {name: engine.apply(cells, "glider-guard") for name, engine in engines.items()}
    for engine in engines.values():
        for _ in range(20):
            engine.apply(cells, "glider-guard")
    agree = float((outputs[device] == outputs["cpu"]).mean())
    return {"adapter": "glider-guard", "batch": list(cells.shape), "agreement": agree,
            "changed_vs_base": int((outputs["cpu"] != engines["cpu"].apply(cells, None)).sum()),
            **{f"{name}_apply_ms_median": round(statistics.median(e.timings_ms["apply"]), 3)
               for name, e in engines.items()}}


def main() -> None:
    """Run the checks and write them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sizes", default="256,1024,4096")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    report: dict[str, object] = {
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "torch": torch.__version__, "numba_threads": __import__("numba").get_num_threads(),
        "grids": [_exact_and_timed(int(s), 50, device) for s in args.sizes.split(",")],
        "adapter": _adapter_agreement(device),
    }
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
