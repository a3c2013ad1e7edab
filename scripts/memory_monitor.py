"""Sample the resident memory of matching processes until stopped (policy: memory_monitor.py &).

Usage: python scripts/memory_monitor.py [--match REGEX] [--interval S] [--out FILE]
Writes ``seconds,rss_mb`` lines (default logs/memory-profile.txt), flushed every sample.
"""

import argparse
from pathlib import Path

from cybermesh_cli.gates.memory import monitor

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--match", default="pytest|cybermesh", help="regex on the command line")
parser.add_argument("--interval", type=float, default=0.5)
parser.add_argument("--out", type=Path, default=Path("logs/memory-profile.txt"))
args = parser.parse_args()
monitor(args.match, args.interval, args.out)
