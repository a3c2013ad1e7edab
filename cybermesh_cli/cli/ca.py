"""``cybermesh ca``: step, census and show RLE patterns."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterator

    from cybermesh_cli.substrate.detect import Detection
    from cybermesh_cli.substrate.rle import Pattern
    from cybermesh_cli.substrate.rules import Bounds, Rule


app = typer.Typer(help="Work with Life-like patterns (RLE files): step, census, show.",
                  no_args_is_help=True)

PatternArg = Annotated[Path, typer.Argument(help="An RLE pattern file.")]
GensOption = Annotated[int, typer.Option(min=0, max=10**9, help="Generations to run first.")]
RuleOption = Annotated[
    str | None, typer.Option(help="Rule such as B3/S23 (default: the file's, else B3/S23).")
]
TorusOption = Annotated[
    str | None, typer.Option(help="Run on a WIDTHxHEIGHT torus instead of the infinite plane.")
]


@dataclass(frozen=True)
class Loaded:
    """A pattern read and evolved: its cells, rule, bounded grid (None: the plane), background."""

    result: Pattern
    rule: Rule
    source: Pattern
    bounds: Bounds | None
    background: int

    @property
    def rule_text(self) -> str:
        """The rule as written back, with Golly's bounded-grid suffix."""
        return self.rule.name + (self.bounds.suffix if self.bounds else "")

    @property
    def torus(self) -> tuple[int, int] | None:
        """(width, height) of a torus bounded both ways, else None."""
        bounds = self.bounds
        return (bounds.width, bounds.height) if bounds and bounds.torus and bounds.width and \
            bounds.height else None

    def where(self) -> str:
        """Say where the pattern lives, and the background's state under a B0 rule."""
        return (self.bounds.describe() if self.bounds else "on the plane") + (
            ", background alive (cells shown differ from it)" if self.background else "")


def _load(path: Path, gens: int, rule: str | None, torus: str | None) -> Loaded:
    from cybermesh_cli.errors import InputError
    from cybermesh_cli.paths import pattern_path
    from cybermesh_cli.substrate.evolve import background, evolve_placed, parse_size
    from cybermesh_cli.substrate.rle import Pattern, read_rle
    from cybermesh_cli.substrate.rules import parse_rule_spec

    file = pattern_path(path)
    source = read_rle(file)
    parsed, bounds = parse_rule_spec(rule or source.rule or "B3/S23")
    bounds = parse_size(torus) if torus else bounds  # --torus overrides the file's suffix
    start = source.generation or 0
    try:
        placed = evolve_placed(source.placed, gens, parsed, bounds, start)
    except InputError as exc:
        raise InputError(f"{file}: {exc}") from None
    box = None
    if bounds and bounds.width and bounds.height:  # the whole grid, from its top-left cell
        box = (-(bounds.height // 2), -(bounds.width // 2), bounds.height, bounds.width)
    result = Pattern.placed_at(placed, generation=start + gens, box=box)
    return Loaded(result, parsed, source, bounds, background(parsed, start + gens))


@app.command("step")
def step(
    pattern_file: PatternArg,
    out: Annotated[Path, typer.Option("-o", "--output", help="File to write the result to (RLE).")],
    gens: GensOption = 1,
    rule: RuleOption = None,
    torus: TorusOption = None,
) -> None:
    """Advance a pattern GENS generations and write the result as RLE."""
    from cybermesh_cli.substrate.rle import Pattern, write_rle

    loaded = _load(pattern_file, gens, rule, torus)
    result = loaded.result
    mark = "(cybermesh ca step)"  # one such line, the last step's: rewriting is byte-stable
    comments = (*(c for c in loaded.source.comments if not c.endswith(mark)),
                f"#C {loaded.rule.name}, {gens} generations later {loaded.where()} {mark}")
    write_rle(Pattern(result.live, result.width, result.height, loaded.rule_text, comments,
                      result.position, result.generation), out)
    Console(stderr=True).print(Text(f"wrote {out}: {result.population} live cells, "
                                    f"{result.width}x{result.height}, {loaded.where()}"))


@app.command("census")
def census(
    pattern_file: Annotated[Path | None, typer.Argument(
        help="An RLE pattern file (or --soups N for a soup census).", show_default=False)] = None,
    gens: GensOption = 0,
    rule: RuleOption = None,
    torus: TorusOption = None,
    soups: Annotated[int | None, typer.Option(
        min=1, max=10**7, help="Census N random 16x16 soups (density 1/2) run to "
        "stabilisation on the plane, against Catagolue's figures.")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the soups.")] = 1,
    haul: Annotated[Path | None, typer.Option(
        help="With --soups: also write the census as apgsearch's haul text (apgcodes and "
             "counts), to set beside Catagolue's.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Count the objects in a pattern (after GENS generations) by apgcode, or run a soup census."""
    from cybermesh_cli.errors import InputError

    if soups is not None:
        if pattern_file is not None:
            raise InputError("ca census: give a pattern file or --soups N, not both")
        _soup_census(soups, seed, rule, as_json, haul)
        return
    if pattern_file is None:
        raise InputError("ca census: give a pattern file, or --soups N for a soup census")
    if haul is not None:
        raise InputError("--haul: a haul is a soup census's; give --soups N")

    loaded = _load(pattern_file, gens, rule, torus)
    parsed = loaded.rule
    groups: dict[str, dict[str, Any]] = defaultdict(lambda: {"positions": []})
    for found, (top, left) in _detections(loaded):
        group = groups[found.apgcode]
        group.update(apgcode=found.apgcode, name=found.name, kind=found.kind)
        group["positions"].append([round(found.centroid[0] + top, 3),
                                   round(found.centroid[1] + left, 3)])
    objects = sorted(groups.values(), key=lambda g: (-len(g["positions"]), g["apgcode"]))
    for group in objects:
        group["count"] = len(group["positions"])
    if as_json:
        typer.echo(json.dumps({"pattern": str(pattern_file), "rule": parsed.name, "gens": gens,
                               "torus": loaded.torus, "background": loaded.background,
                               "bounds": loaded.bounds.suffix if loaded.bounds else None,
                               "population": loaded.result.population, "objects": objects}))
        return
    table = Table(title=f"census of {pattern_file} after {gens} generations ({parsed.name})")
    for column in ("apgcode", "name", "kind", "count", "positions (y, x)"):
        table.add_column(column)
    for g in objects:
        shown = ", ".join(f"({y:g}, {x:g})" for y, x in g["positions"][:4])
        more = f" +{g['count'] - 4}" if g["count"] > 4 else ""
        table.add_row(g["apgcode"], g["name"], g["kind"], str(g["count"]), shown + more)
    Console().print(table)


def _detections(loaded: Loaded) -> Iterator[tuple[Detection, tuple[int, int]]]:
    """Objects found in a loaded pattern, each with the (row, column) its position is offset by.

    On the plane each far-apart group is detected in its own dense box, so a sparse pattern
    never needs its whole extent in memory.
    """
    import numpy as np

    from cybermesh_cli.substrate.detect import detect
    from cybermesh_cli.substrate.evolve import far_apart_groups

    if loaded.torus:
        cells = loaded.result.cells
        yield from ((found, (0, 0)) for found in detect(cells, torus=True, separate_unknown=True,
                                                         rule=loaded.rule) if cells.size)
        return
    for group in far_apart_groups(loaded.result.live, 2):
        top, left = (int(v) for v in group.min(axis=0))
        box = np.zeros(tuple(group.max(axis=0) - (top, left) + 1), np.uint8)
        box[group[:, 0] - top, group[:, 1] - left] = 1
        yield from ((found, (top, left)) for found in detect(box, torus=False,
                                                             separate_unknown=True,
                                                             rule=loaded.rule))


@app.command("show")
def show(
    pattern_file: PatternArg,
    gens: GensOption = 0,
    rule: RuleOption = None,
    torus: TorusOption = None,
) -> None:
    """Draw a pattern (after GENS generations) in the terminal."""
    from cybermesh_cli.substrate.render import render_live

    loaded = _load(pattern_file, gens, rule, torus)
    result = loaded.result
    console = Console()
    picture, scale = render_live(result.live, result.width, result.height,
                                 max_width=max(console.width - 1, 10))
    shown = f", drawn at 1:{scale} (a mark: any live cell in {scale}x{scale})" if scale > 1 else ""
    console.print(Text(f"{loaded.source.name or pattern_file.name}: {result.width}x"
                       f"{result.height}, {result.population} live cells, {loaded.rule.name}, "
                       f"generation {gens}, {loaded.where()}{shown}"))
    console.print(picture, highlight=False, markup=False)


def _soup_census(soups: int, seed: int, rule: str | None, as_json: bool,
                 haul_file: Path | None) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from cybermesh_cli import __version__
    from cybermesh_cli.files import replacing
    from cybermesh_cli.substrate.census import haul, soup_census
    from cybermesh_cli.substrate.rules import parse_rule

    parsed = parse_rule(rule or "B3/S23")
    with Progress("soups", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("soups", total=soups)
        result = soup_census(soups, seed, parsed,
                             progress=lambda done: bar.update(task, completed=done))
    if haul_file is not None:
        with replacing(haul_file) as partial:
            partial.write_text(haul(result, parsed, f"cybermesh-seed-{seed}", __version__))
    unknown = result.counts["unknown"] / max(result.objects, 1)
    summary = {"rule": parsed.name, "soups": result.soups, "seed": seed,
               "objects": result.objects, "unknown_fraction": round(unknown, 5),
               "unsettled_soups": result.unsettled,
               "soups_per_s": round(result.soups / max(result.seconds, 1e-9), 2),
               "mean_generations": round(result.generations / max(result.soups, 1), 1),
               "reference": "Catagolue b3s23/C1 (ship, tub: TOLLCASS)",
               "comparison": result.comparison(),
               "counts": dict(result.counts.most_common())}
    if as_json:
        typer.echo(json.dumps(summary))
        return
    table = Table(title=f"{soups} soups (seed {seed}, {parsed.name}): counts relative to the "
                  "block, against Catagolue b3s23/C1")
    for column in ("object", "apgcode", "count", "relative", "Catagolue", "difference"):
        table.add_column(column, justify="left" if column in ("object", "apgcode") else "right")
    for row in result.comparison():
        table.add_row(str(row["name"]), str(row["apgcode"]), str(row["count"]),
                      f"{row['relative']:.3f}", f"{row['reference']:.3f}",
                      f"{float(str(row['difference'])):+.1%}")
    console = Console()
    console.print(table)
    console.print(Text(f"{result.objects} objects, {unknown:.2%} unclassified, "
                       f"{result.unsettled} soups unsettled; {summary['soups_per_s']} soups/s, "
                       f"{summary['mean_generations']} generations a soup"))
