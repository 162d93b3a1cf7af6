"""Optional training path: matrix factorisation with RNS, DNS(M, N) and Softmax-v(rho, N).

Data I/O (:mod:`opauc_sim.train.data`) and the evaluation
(:mod:`opauc_sim.train.evaluation`) need only NumPy/SciPy. The model, the samplers, the
loop and the sweep need PyTorch, the optional extra ``train``::

    pip install 'opauc-sim[train]'

Importing this package never imports torch; the torch-backed names are loaded on first
use and raise an ``ImportError`` saying how to install the extra when torch is missing.
"""

from __future__ import annotations

import importlib

from opauc_sim.train.data import (
    DATASETS,
    DataFetchError,
    Interactions,
    Split,
    default_cache_dir,
    fetch_dataset,
    load_dataset,
    load_split,
    read_inter,
    read_lightgcn,
    split_per_user,
    split_train_test,
    write_lightgcn,
)
from opauc_sim.train.evaluation import evaluate_ranking, mean_metrics

_TORCH_NAMES = {
    "NegativeMask": "opauc_sim.train.samplers",
    "TrainConfig": "opauc_sim.train.loop",
    "TrainResult": "opauc_sim.train.loop",
    "train": "opauc_sim.train.loop",
    "train_many": "opauc_sim.train.loop",
    "resolve_device": "opauc_sim.train.loop",
    "run_sweep": "opauc_sim.train.sweep",
}

__all__ = [
    "DATASETS",
    "DataFetchError",
    "Interactions",
    "Split",
    "default_cache_dir",
    "evaluate_ranking",
    "fetch_dataset",
    "load_dataset",
    "load_split",
    "mean_metrics",
    "read_inter",
    "read_lightgcn",
    "require_torch",
    "split_per_user",
    "split_train_test",
    "write_lightgcn",
    *_TORCH_NAMES,
]


def require_torch():
    """Import and return torch, or raise ImportError saying how to install it."""
    return importlib.import_module("opauc_sim.train._torch").torch


def __getattr__(name: str):
    if name in _TORCH_NAMES:
        return getattr(importlib.import_module(_TORCH_NAMES[name]), name)
    raise AttributeError(f"module 'opauc_sim.train' has no attribute {name!r}")
