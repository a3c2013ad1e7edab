"""``cybermesh adapter``: train, list, show and switch the LoRA adapters of the registry."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.markup import escape

if TYPE_CHECKING:
    from cybermesh_cli.pulses.registry import Registry

app = typer.Typer(help="LoRA adapters for the neural CA: train, list, show, switch.",
                  no_args_is_help=True)

RegistryOption = Annotated[
    Path | None,
    typer.Option(help="Registry folder (default: ./adapters if it exists, else the shipped "
                 "adapters; `train` writes to ./adapters)."),
]


def _registry(path: Path | None) -> Registry:
    from cybermesh_cli.paths import resource
    from cybermesh_cli.pulses.registry import Registry

    return Registry(path or resource("adapters"))


@app.command("train")
def train(
    spec_file: Annotated[Path, typer.Argument(help="Training spec (schemas/adapter.yaml).")],
    registry: RegistryOption = None,
) -> None:
    """Train the adapter a spec describes and save it, with the spec and its figures."""
    from cybermesh_cli.paths import SCHEMAS_DIR, resource
    from cybermesh_cli.pulses.training import train_adapter
    from cybermesh_cli.spec import load_yaml_file
    from cybermesh_cli.substrate.rules import parse_rule

    config = load_yaml_file(resource(spec_file), SCHEMAS_DIR / "adapter.yaml")
    parse_rule(config["rule"])
    from cybermesh_cli.pulses.registry import Registry

    target = Registry(registry or Path("adapters"))
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    console = Console()
    with Progress(f"training {config['name']}", BarColumn(), MofNCompleteColumn(),
                  "loss {task.fields[loss]}", TimeElapsedColumn(), console=console,
                  transient=True) as bar:
        task = bar.add_task("train", total=None, loss="- (sampling scenes)")
        trained = train_adapter(config, lambda step, loss: bar.update(
            task, completed=step, total=config["fit"]["steps"], loss=f"{loss:.5f}"))
    info = target.save(trained.model, config["name"], config, trained.metrics)
    console.print(f"saved [bold]{escape(info.name)}[/] to {escape(str(info.path))} "
                  f"({info.size_bytes:,} bytes): "
                  + ", ".join(f"{k} {v}" for k, v in trained.metrics.items()))


@app.command("list")
def list_adapters(
    registry: RegistryOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object an adapter.")] = (
        False),
) -> None:
    """List the registry's adapters with their purpose and size."""
    from rich.text import Text

    from cybermesh_cli.errors import InputError

    store = _registry(registry)
    if as_json:
        _print_adapters(store)
        return
    table = Table(title=Text(f"adapters in {store.root}"))
    for column in ("name", "rule", "rank", "noise", "bytes", "purpose"):
        table.add_column(column)
    for name in store.names():
        try:
            info = store.info(name)
        except InputError as exc:  # one broken folder does not hide the others
            table.add_row(Text(name), "", "", "", "", Text(f"BROKEN: {exc}", style="red"))
            continue
        t = info.training
        lora, noise = t.get("lora", {}), t.get("noise", {})
        table.add_row(Text(name), Text(str(t["rule"])), str(lora.get("rank", "?")),
                      Text(f"{noise.get('mode', '?')} {noise.get('rate', '?')}"),
                      f"{info.size_bytes:,}", Text(" ".join(info.purpose.split())[:60]))
    Console().print(table)


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Adapter name.")],
    registry: RegistryOption = None,
) -> None:
    """Show an adapter's training spec, training figures and files."""
    import yaml

    store = _registry(registry)
    info = store.info(name)
    console = Console()
    console.print(f"[bold]{escape(info.name)}[/]  {escape(str(info.path))}")
    console.print(yaml.safe_dump(info.training, sort_keys=False).rstrip(), highlight=False)
    console.print("metrics: " + ", ".join(f"{k} {v}" for k, v in info.metrics.items()))
    for item in sorted(info.path.iterdir()):
        console.print(f"  {item.name}  {item.stat().st_size:,} bytes", markup=False)


@app.command("switch")
def switch(
    name: Annotated[str, typer.Argument(help="Adapter to switch to.")],
    back_to: Annotated[
        str | None, typer.Option("--from", help="Adapter active before (default: the base).")
    ] = None,
    soups: Annotated[int, typer.Option(min=1, help="Random soups to check on.")] = 20,
    size: Annotated[int, typer.Option(min=3, help="Soup side.")] = 64,
    registry: RegistryOption = None,
) -> None:
    """Switch the neural CA to NAME and back, timing it; checks the base returns exactly."""
    import numpy as np

    from cybermesh_cli.pulses.adapters import PulseEngine
    from cybermesh_cli.pulses.persistence import kernel_stepper
    from cybermesh_cli.seeds import fixed_rng

    engine = PulseEngine.for_adapter(_registry(registry), name)
    cells = (fixed_rng("adapter-check").random((soups, size, size)) < 0.35).astype(np.uint8)
    kernel = kernel_stepper(engine.base.rule)(cells)
    engine.apply(cells, back_to)
    changed = engine.apply(cells, name)
    restored = engine.apply(cells, back_to)
    exact = back_to is not None or bool((restored == kernel).all())
    timings = {k: f"{np.median(v):.3f} ms" for k, v in engine.timings_ms.items() if v}
    differs = int((changed != kernel).any(axis=(1, 2)).sum())
    Console().print(f"{name}: changes the next state of {differs}/{soups} soups; switched back "
                    f"to {back_to or 'the base rule'}: "
                    + ("[green]identical to the Numba kernel[/]" if exact and back_to is None
                       else "done" if exact else "[red]DIFFERS from the Numba kernel[/]")
                    + f"  (median {timings})")
    if not exact:
        raise typer.Exit(1)


def _print_adapters(store: Registry) -> None:
    """Print every adapter as JSON: name, path, training spec, figures (or why it is broken)."""
    import json

    from cybermesh_cli.errors import InputError

    rows: list[dict[str, Any]] = []
    for name in store.names():
        try:
            info = store.info(name)
        except InputError as exc:
            rows.append({"name": name, "broken": str(exc)})
            continue
        rows.append({"name": name, "path": str(info.path), "bytes": info.size_bytes,
                     "training": info.training, "metrics": info.metrics})
    typer.echo(json.dumps(rows, indent=1, default=str))
