"""Validate event logs against schemas/events.yaml: python scripts/validate_event_logs.py LOG..."""

import sys
from pathlib import Path

from cybermesh_cli.errors import InputError
from cybermesh_cli.runs.events import read_events

status = 0
for name in sys.argv[1:] or ["logs/events.jsonl"]:
    try:
        read = read_events(Path(name))
    except (InputError, OSError) as exc:
        print(f"invalid: {exc}")
        status = 1
        continue
    torn = f", torn line {read.truncated_line}" if read.truncated_line else ""
    print(f"ok: {name}: {len(read.events)} events{torn}")
sys.exit(status)
