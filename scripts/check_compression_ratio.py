"""Event log size against full per-tick state dumps of the same run.

Usage (the policy's form): python scripts/check_compression_ratio.py
    --baseline=full_state_dumps --compressed=event_logs [--run runs/<id>] [--min-ratio 20]
Without --run, the newest run under runs/ that simulates a grid.
"""

import argparse
import sys
from pathlib import Path

from cybermesh_cli.errors import InputError
from cybermesh_cli.phases import state_bytes
from cybermesh_cli.runs.compression import compression, newest_run_with_state

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--baseline", choices=["full_state_dumps"], default="full_state_dumps")
parser.add_argument("--compressed", choices=["event_logs"], default="event_logs")
parser.add_argument("--run", type=Path)
parser.add_argument("--min-ratio", type=float, default=20.0)
args = parser.parse_args()
try:
    run = args.run or newest_run_with_state(Path("runs"), state_bytes)
    result = compression(run, state_bytes)
except InputError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(2)
verdict = "ok" if result.ratio >= args.min_ratio else "TOO LARGE"
print(f"{verdict}: {run}: event log {result.log_bytes} B, full state dumps {result.dump_bytes} B "
      f"over {result.ticks} ticks: {result.ratio:.1f}x smaller (required {args.min_ratio}x)")
sys.exit(0 if result.ratio >= args.min_ratio else 1)
