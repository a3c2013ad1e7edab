"""The seed study: sweep phases over many seeds and write docs/seeds.md.

Usage: python scripts/seed_study.py [--phases 1,3,6] [--seeds 0..15] [--out runs/seeds]
       [--backend ray|serial] [--doc docs/seeds.md]

Each phase's bundled spec runs as an ordinary sweep (resumable: running the study again only
runs what is missing). The page has a table per phase: each criterion's pass rate with its 95%
Wilson interval, and its mean with a 95% bootstrap interval (`cybermesh sweep report`'s
statistics).
"""

import argparse
import subprocess  # noqa: S404 - runs this project's own CLI
import sys
from datetime import UTC, datetime
from pathlib import Path

from cybermesh_cli.paths import EXPERIMENTS_DIR
from cybermesh_cli.spec import load_spec
from cybermesh_cli.sweeps.report import aggregate, write_report

SPECS = {8: "memory.yaml"}  # the phases whose spec is not phase<N>.yaml

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--phases", default="0,1,2,3,4,5,6,7,8")
parser.add_argument("--seeds", default="0..15")
parser.add_argument("--out", type=Path, default=Path("runs/seeds"))
parser.add_argument("--backend", default="ray", choices=["ray", "serial"])
parser.add_argument("--doc", type=Path, default=Path("docs/seeds.md"))
args = parser.parse_args()

sections = []
for phase in (int(p) for p in args.phases.split(",")):
    spec = EXPERIMENTS_DIR / SPECS.get(phase, f"phase{phase}.yaml")
    command = [sys.executable, "-m", "cybermesh_cli", "sweep", str(spec), "--seeds", args.seeds,
               "--out", str(args.out), "--backend", args.backend]
    print("$", " ".join(command[2:]), flush=True)
    subprocess.run(command, check=False)  # noqa: S603 - our own CLI; failed runs are data
    name = load_spec(spec).name
    folder = max((f for f in args.out.glob(f"{name}-*") if (f / "sweep.json").is_file()),
                 key=lambda f: f.stat().st_mtime)
    write_report(folder)
    plan, points = aggregate(folder)
    rows = ["| criterion | passed | 95% Wilson | mean | 95% bootstrap |", "|---|---|---|---|---|"]
    for key, stat in sorted(points[0].criteria.items()):
        rate_low, rate_high = stat.rate_interval()
        low, high = stat.interval()
        rows.append(f"| `{key.split('.', 1)[1]}` | {sum(stat.passed)}/{len(stat.passed)} | "
                    f"[{rate_low:.3f}, {rate_high:.3f}] | {stat.mean:.4g} | "
                    f"[{low:.4g}, {high:.4g}] |")
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(points[0].statuses.items()))
    sections += [f"## Phase {phase} (`experiments/{spec.name}`)", "",
                 f"{len(plan['seeds'])} seeds ({args.seeds}); runs: {statuses}; sweep "
                 f"`{folder.name}`.", "", *rows, ""]

args.doc.parent.mkdir(parents=True, exist_ok=True)
args.doc.write_text("\n".join([
    "# Seed study", "",
    f"Written by `python scripts/seed_study.py --phases {args.phases} --seeds {args.seeds}` on "
    f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, on a 2-core machine. Pass rates carry 95% Wilson "
    "intervals; means carry 95% percentile-bootstrap intervals over the seeds.", "",
    *sections]))
print(f"wrote {args.doc}")
