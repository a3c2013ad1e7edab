"""Pick the best torch device (MPS, then CUDA, then CPU) without importing torch at start-up."""

from __future__ import annotations

from functools import cache


@cache
def pick_device() -> str:
    """Return ``"mps"``, ``"cuda"`` or ``"cpu"``: the first one this machine can use.

    Without torch (no [ml] extra) nothing runs on an accelerator: ``"cpu"``.
    """
    try:
        import torch
    except ModuleNotFoundError:
        return "cpu"

    if torch.backends.mps.is_available():
        return "mps"
    if torch.cuda.is_available():
        return "cuda"
    return "cpu"
