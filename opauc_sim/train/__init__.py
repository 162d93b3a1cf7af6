"""Optional training path: matrix factorisation with RNS, DNS(M, N) and Softmax-v(rho, N).

Data I/O (:mod:`opauc_sim.train.data`, the splits, over :mod:`~opauc_sim.train.formats`
and :mod:`~opauc_sim.train.fetch`), the evaluation
(:mod:`opauc_sim.train.evaluation`), the settings (:mod:`opauc_sim.train.config`), the
fused CPU trainer (:mod:`opauc_sim.train.numba_engine`), the orchestration
(:mod:`opauc_sim.train.runner`) and the sweep need only NumPy/SciPy/Numba. The PyTorch
engine (:mod:`opauc_sim.train.torch_engine`, for GPUs and as the reference) needs the optional
extra ``train`` (in a clone of opauc-sim; the package is on no index)::

    pip install -e '.[train]'

Importing this package never imports torch; the torch-backed names are loaded on first
use and raise an ``ImportError`` saying how to install the extra when torch is missing.
"""

from __future__ import annotations

import importlib

from opauc_sim.train.config import TrainConfig, TrainResult
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
from opauc_sim.train.runner import set_threads, train, train_many

_TORCH_NAMES = {
    "NegativeMask": "opauc_sim.train.torch_samplers",
    "TorchEngine": "opauc_sim.train.torch_engine",
    "resolve_device": "opauc_sim.train.torch_engine",
}

__all__ = [
    "DATASETS",
    "DataFetchError",
    "Interactions",
    "Split",
    "TrainConfig",
    "TrainResult",
    "default_cache_dir",
    "evaluate_ranking",
    "fetch_dataset",
    "load_dataset",
    "load_split",
    "mean_metrics",
    "read_inter",
    "read_lightgcn",
    "require_torch",
    "run_sweep",
    "set_threads",
    "split_per_user",
    "split_train_test",
    "train",
    "train_many",
    "write_lightgcn",
    *_TORCH_NAMES,
]


def require_torch():
    """Import and return torch, or raise ImportError saying how to install it."""
    return importlib.import_module("opauc_sim.train._torch").torch


def __getattr__(name: str):
    if name == "run_sweep":
        from opauc_sim.train.sweep import run_sweep

        return run_sweep
    if name in _TORCH_NAMES:
        return getattr(importlib.import_module(_TORCH_NAMES[name]), name)
    raise AttributeError(f"module 'opauc_sim.train' has no attribute {name!r}")
