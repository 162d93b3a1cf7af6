"""The guarded torch import shared by the torch-backed modules of ``opauc_sim.train``."""

from __future__ import annotations

try:
    import torch
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    from opauc_sim._optional import install_hint

    raise ImportError(
        "opauc_sim.train's torch engine needs PyTorch, the optional extra train; "
        + install_hint("train")
    ) from exc

__all__ = ["torch"]
