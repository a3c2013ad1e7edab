"""Pick the best torch device (MPS, then CUDA, then CPU) without importing torch at start-up."""

from __future__ import annotations

from functools import cache


@cache
def pick_device() -> str:
    """Return ``"mps"``, ``"cuda"`` or ``"cpu"``: the first one this machine can use."""
    import torch

    if torch.backends.mps.is_available():
        return "mps"
    if torch.cuda.is_available():
        return "cuda"
    return "cpu"
