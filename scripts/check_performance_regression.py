"""Check pytest-benchmark JSON files against benchmarks/speedups.yaml and the stored baseline.

Usage: python scripts/check_performance_regression.py [RUN.json ...] [--update-baseline]

With several runs each speedup is the median of the runs' (the perf gate makes three).
"""

import sys
from pathlib import Path

from cybermesh_cli.gates.perf import check_speedups, save_baseline

ROOT = Path(__file__).resolve().parents[1]
args = [a for a in sys.argv[1:] if not a.startswith("--")]
benches = [Path(a) for a in args] or [ROOT / "logs" / "benchmark.json"]
baseline = ROOT / "benchmarks" / "baseline.json"

checks = check_speedups(benches, ROOT / "benchmarks" / "speedups.yaml", baseline)
for c in checks:
    stored = f"{c.stored:.2f}x" if c.stored else "none"
    verdict = "ok" if c.passed else "REGRESSION"
    print(f"{verdict:<10} {c.name}: {c.speedup:.2f}x over {c.baseline} "
          f"(required {c.required:.2f}x, stored {stored}, tolerance {c.tolerance:.0%})")
if "--update-baseline" in sys.argv:
    save_baseline(checks, baseline)
    print(f"baseline written to {baseline}")
sys.exit(0 if all(c.passed for c in checks) else 1)
