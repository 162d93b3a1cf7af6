"""Grids of training runs, one CSV row per finished configuration, resumable.

A sweep writes ``OUT.csv`` (one row per finished configuration) and its sidecar
``OUT.json`` (the sweep's parameters and the command line) through
:func:`opauc_sim.results_cache.save_result`, which replaces the files atomically. After
each finished group the whole CSV is rewritten (old rows + new ones) to a temporary file
that is then renamed over the old one, so a sweep killed at any moment (even with
``kill -9``) leaves either the previous CSV or the new one, never a truncated file.
Rerunning the same command skips every configuration whose id is already in the CSV.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from opauc_sim.results_cache import save_result
from opauc_sim.train.config import TrainConfig, TrainResult, group_key
from opauc_sim.train.data import Split
from opauc_sim.train.runner import resolve_backend, train_many

__all__ = ["config_id", "done_ids", "parse_grid", "result_row", "run_sweep"]

_GRID_KEYS = {"M": int, "N": int, "rho": float}


def parse_grid(spec: str) -> list[dict[str, Any]]:
    """Parse ``"dns:M=1,2,3:N=200"`` into ``[{"sampler": "dns", "M": 1, "N": 200}, ...]``.

    The first field is the sampler (``rns``, ``dns`` or ``softmax``); each further field
    is ``KEY=V1,V2,...`` with KEY in {M, N, rho}; the grid is their product.
    """
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"grid must be a string like 'dns:M=1,5:N=200', got {spec!r}")
    sampler, *fields = spec.split(":")
    axes: dict[str, list] = {}
    for f in fields:
        key, sep, values = f.partition("=")
        if not sep or key not in _GRID_KEYS or not values:
            raise ValueError(
                f"grid field {f!r} in {spec!r} must be KEY=V1,V2,... with KEY in "
                f"{sorted(_GRID_KEYS)}"
            )
        try:
            axes[key] = [_GRID_KEYS[key](v) for v in values.split(",")]
        except ValueError:
            raise ValueError(f"grid field {f!r} in {spec!r} has a bad value") from None
    names = list(axes)
    return [
        {"sampler": sampler, **dict(zip(names, combo, strict=True))}
        for combo in itertools.product(*(axes[n] for n in names))
    ]


def config_id(
    config: TrainConfig,
    dataset: str,
    split_seed: int = 0,
    *,
    valid_frac: float = 0.1,
    backend: str = "torch",
) -> str:
    """A stable id of (dataset, split, backend, every training setting): a 16-hex digest.

    ``valid_frac`` and ``backend`` enter the digest only away from their first values
    (0.1 and torch), so that ids of rows written before they existed stay valid.
    """
    payload = {"dataset": str(dataset), "split_seed": int(split_seed), **config.to_dict()}
    if valid_frac != 0.1:
        payload["valid_frac"] = float(valid_frac)
    if backend != "torch":
        payload["backend"] = backend
    text = json.dumps(payload, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def result_row(
    result: TrainResult, dataset: str, split_seed: int = 0, *, valid_frac: float = 0.1
) -> dict[str, Any]:
    """One CSV row: the settings, the selected epoch, timings, valid_* and test_* metrics."""
    c = result.config
    row: dict[str, Any] = {
        "id": config_id(c, dataset, split_seed, valid_frac=valid_frac, backend=result.backend),
        "dataset": str(dataset),
        "split_seed": split_seed,
        "valid_frac": valid_frac,
        "label": c.label,
        "sampler": c.sampler,
        "M": c.M,
        "N": c.N,
        "rho": c.rho if c.sampler == "softmax" else np.nan,
        "weight_decay": c.weight_decay,
        "epochs": c.epochs,
        "lr": c.lr,
        "batch_size": c.batch_size,
        "dim": c.dim,
        "seed": c.seed,
        "authors_code": c.authors_code,
        "eval_every": c.eval_every,
        "select_metric": c.select_metric,
        "best_epoch": result.best_epoch,
        "device": result.device,
        "backend": result.backend,
        "threads": result.threads,
        "n_trained_together": result.n_trained_together,
        "epoch_seconds_median": float(np.median(result.epoch_seconds)),
        "eval_seconds_total": float(np.sum(result.eval_seconds)),
        "final_loss": result.history[-1]["loss"],
    }
    row.update({f"valid_{k}": v for k, v in result.valid.items()})
    row.update({f"test_{k}": v for k, v in result.test.items()})
    return row


def done_ids(out_csv: str | os.PathLike) -> set[str]:
    """Ids of the configurations already in ``out_csv`` (empty when it does not exist)."""
    path = Path(out_csv)
    if not path.exists():
        return set()
    return set(pd.read_csv(path, usecols=["id"], dtype={"id": str})["id"])


def _groups(configs: Sequence[TrainConfig], max_group: int) -> list[list[TrainConfig]]:
    # Softmax-v needs gradients through all N candidates, DNS only through its top M:
    # grouping them apart spares DNS the larger backward pass.
    by_key: dict[tuple, list[TrainConfig]] = {}
    for c in configs:
        by_key.setdefault((group_key(c), c.sampler == "softmax"), []).append(c)
    out = []
    for members in by_key.values():
        for start in range(0, len(members), max_group):
            out.append(members[start : start + max_group])
    return out


def run_sweep(
    split: Split,
    configs: Iterable[TrainConfig],
    out_csv: str | os.PathLike,
    *,
    dataset: str,
    split_seed: int = 0,
    valid_frac: float = 0.1,
    device: str = "auto",
    backend: str = "auto",
    threads: int | None = None,
    max_group: int = 1,
    progress: bool = False,
    params: dict[str, Any] | None = None,
    log: Callable[[str], None] | None = print,
) -> pd.DataFrame:
    """Train every configuration not yet in ``out_csv``; append one row per configuration.

    Parameters
    ----------
    split : Split
    configs : iterable of TrainConfig
        Duplicates (same id) are run once.
    out_csv : path
        ``results/NAME.csv``; the sidecar ``NAME.json`` is written beside it.
    dataset : str
        Recorded in each row and part of each configuration's id.
    split_seed : int, default 0
        The seed of ``split`` (part of the id).
    valid_frac : float, default 0.1
        The validation fraction of ``split`` (part of the id).
    device : str, default "auto"
    backend : {"auto", "numba", "torch"}, default "auto"
        See :func:`opauc_sim.train.runner.train_many` (part of the id).
    threads : int, optional
        Threads for Numba, BLAS and torch.
    max_group : int, default 1
        Up to this many compatible configurations train together (stacked, see
        :func:`opauc_sim.train.train_many`); 1 trains them one by one. A larger value
        helps a GPU; results do not depend on it beyond floating-point reordering.
    progress : bool, default False
        A tqdm bar per group.
    params : dict, optional
        Extra parameters for the sidecar (e.g. the grid specs).
    log : callable, optional
        Receives one line per skipped or finished group.

    Returns
    -------
    pandas.DataFrame
        The whole CSV after the sweep.
    """
    out_csv = Path(out_csv)
    backend, device = resolve_backend(backend, device)
    unique: dict[str, TrainConfig] = {}
    for c in configs:
        cid = config_id(c, dataset, split_seed, valid_frac=valid_frac, backend=backend)
        unique.setdefault(cid, c)
    finished = done_ids(out_csv)
    todo = [c for cid, c in unique.items() if cid not in finished]
    if log is not None and len(todo) < len(unique):
        log(f"skipping {len(unique) - len(todo)} finished configs already in {out_csv}")
    sidecar = {"dataset": dataset, "split_seed": split_seed, **(params or {})}
    for group in _groups(todo, max(1, int(max_group))):
        results = train_many(
            split, group, device=device, backend=backend, threads=threads, progress=progress
        )
        rows = pd.DataFrame(
            [result_row(r, dataset, split_seed, valid_frac=valid_frac) for r in results]
        )
        if out_csv.exists():
            rows = pd.concat([pd.read_csv(out_csv, dtype={"id": str}), rows], ignore_index=True)
        save_result(rows, out_csv.stem, params=sidecar, seed=split_seed, results_dir=out_csv.parent)
        if log is not None:
            log(f"finished {', '.join(r.config.label for r in results)} -> {out_csv}")
    if not out_csv.exists():
        return pd.DataFrame()
    return pd.read_csv(out_csv, dtype={"id": str})
