"""The guarded torch import shared by the torch-backed modules of ``opauc_sim.train``."""

from __future__ import annotations

try:
    import torch
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "opauc_sim.train needs PyTorch for training; install the optional extra with "
        "pip install 'opauc-sim[train]'"
    ) from exc

__all__ = ["torch"]
