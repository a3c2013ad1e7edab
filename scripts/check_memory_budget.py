"""Check a memory profile's peak against a budget: --threshold=6GB --phase=X [--profile FILE]."""

import argparse
import sys
from pathlib import Path

from cybermesh_cli.gates.memory import parse_size, peak_mb

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--threshold", required=True, help="e.g. 6GB, 512MB")
parser.add_argument("--phase", default="?")
parser.add_argument("--profile", type=Path, default=Path("logs/memory-profile.txt"))
args = parser.parse_args()
peak, budget = peak_mb(args.profile), parse_size(args.threshold)
verdict = "ok" if peak <= budget else "OVER BUDGET"
print(f"{verdict}: phase {args.phase} peak {peak:.0f} MiB, budget {budget:.0f} MiB")
sys.exit(0 if peak <= budget else 1)
