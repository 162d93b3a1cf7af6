"""Grids of training runs, one CSV row per finished configuration, resumable.

A sweep writes ``OUT.csv`` (one row per finished configuration) and its sidecar
``OUT.json`` (the sweep's parameters and the command line) through
:func:`opauc_sim.results_cache.save_result`, which replaces the files atomically. After
each finished group the whole CSV is rewritten (old rows + new ones) to a temporary file
that is then renamed over the old one, so a sweep killed at any moment (even with
``kill -9``) leaves either the previous CSV or the new one, never a truncated file.
Rerunning the same command skips every configuration whose id is already in the CSV.

With ``executor=`` (e.g. :class:`opauc_sim.distributed.DaskCluster`) the groups train on
other processes or machines, and this process remains the only writer: each finished
group's rows go through the same save path, under the same lock, so everything below
holds unchanged.

Safety checks, all made before any training, live with the files in
:mod:`opauc_sim.train.sweep_files` (the output's name and owner, the lock, the reader
that drops cut and repeated rows).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from opauc_sim.results_cache import command_line
from opauc_sim.train.config import ADDED_DEFAULTS, TrainConfig, TrainResult, group_key
from opauc_sim.train.data import Split
from opauc_sim.train.runner import resolve_backend, train_many
from opauc_sim.train.sweep_files import (
    ADDED_COLUMNS,
    SWEEP_COLUMNS,
    _commands,
    check_out,
    done_ids,
    expected_protocol,
    lock_out,
    merge_sweeps,
    read_rows,
    save_rows,
)

__all__ = [
    "ADDED_COLUMNS",
    "SWEEP_COLUMNS",
    "check_out",
    "check_protocol",
    "config_id",
    "done_ids",
    "lock_out",
    "merge_sweeps",
    "parse_grid",
    "read_rows",
    "result_row",
    "run_sweep",
]


def parse_grid(spec: str) -> list[dict[str, Any]]:
    """Parse ``"dns:M=1,2,3:N=200"`` into ``[{"sampler": "dns", "M": 1, "N": 200}, ...]``.

    The first field is a sampler of :data:`opauc_sim.train.samplers.SAMPLERS`; each
    further field is ``KEY=V1,V2,...`` with KEY one of that sampler's parameters; the
    grid is their product. A parameter left out takes the commands' default (N = 200,
    alpha = 0.75), or is refused where there is none (DNS's M, Softmax-v's rho), as
    ``opauc-sim train`` does. Every point is checked as a configuration would be.
    """
    from opauc_sim.train import samplers

    if not isinstance(spec, str) or not spec:
        raise ValueError(f"grid must be a string like 'dns:M=1,5:N=200', got {spec!r}")
    name, *fields = spec.split(":")
    try:
        sampler = samplers.get(name)
    except ValueError:
        raise ValueError(
            f"grid {spec!r}: the sampler must be one of {list(samplers.names())}, got {name!r}"
        ) from None
    axes: dict[str, list] = {}
    for f in fields:
        key, sep, values = f.partition("=")
        if not sampler.params:
            raise ValueError(f"grid {spec!r}: {name} takes no parameters, got {f!r}")
        if not sep or key not in sampler.params or not values or key in axes:
            raise ValueError(
                f"grid field {f!r} in {spec!r} must be KEY=V1,V2,... with KEY one of "
                f"{name}'s parameters {list(sampler.params)}, each once"
            )
        try:
            axes[key] = [samplers.PARAMS[key].check(_typed(key, v)) for v in values.split(",")]
        except (TypeError, ValueError) as exc:
            raise ValueError(f"grid field {f!r} in {spec!r}: {exc}") from None
    for key in sampler.params:
        if key not in axes:
            default = samplers.PARAMS[key].cli_default
            if default is None:
                raise ValueError(f"grid {spec!r} needs {key}=... ({samplers.PARAMS[key].help})")
            axes[key] = [default]
    names = list(axes)
    points = [
        {"sampler": name, **dict(zip(names, combo, strict=True))}
        for combo in itertools.product(*(axes[n] for n in names))
    ]
    for point in points:
        try:
            TrainConfig(**point)
        except ValueError as exc:
            raise ValueError(f"grid {spec!r}: {exc}") from None
    return points


def _typed(key: str, text: str) -> Any:
    """A grid value's text as its parameter's type (N may be ``all``)."""
    from opauc_sim.train import samplers

    param = samplers.PARAMS[key]
    if key == "N":
        return text
    try:
        return param.type(text)
    except ValueError:
        raise ValueError(f"{key} must be {param.type.__name__}, got {text!r}") from None


def config_id(
    config: TrainConfig,
    dataset: str,
    split_seed: int = 0,
    *,
    valid_frac: float = 0.1,
    backend: str = "torch",
) -> str:
    """A stable id of (dataset, split, backend, every training setting): a 16-hex digest.

    ``valid_frac``, ``backend`` and the fields of
    :data:`~opauc_sim.train.config.ADDED_DEFAULTS` enter the digest only away from their
    first values (0.1, torch, ...), so that ids of rows written before they existed stay
    valid.
    """
    settings = config.to_dict()
    for name, first in ADDED_DEFAULTS.items():
        if settings[name] == first:
            del settings[name]
    payload = {"dataset": str(dataset), "split_seed": int(split_seed), **settings}
    if valid_frac != 0.1:
        payload["valid_frac"] = float(valid_frac)
    if backend != "torch":
        payload["backend"] = backend
    text = json.dumps(payload, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


#: TrainConfig fields a row leaves out: the cut-offs ``ks`` are in the names of the metric
#: columns, and ``init_std`` (in the id all the same) is left out so that a sweep CSV keeps
#: the columns it was started with when it is resumed.
_NOT_IN_ROW = ("init_std", "ks")


def result_row(
    result: TrainResult, dataset: str, split_seed: int = 0, *, valid_frac: float = 0.1
) -> dict[str, Any]:
    """One CSV row: the settings, the selected epoch, timings, valid_* and test_* metrics.

    The settings are :meth:`TrainConfig.to_dict` less :data:`_NOT_IN_ROW`, with ``rho``
    NaN for the samplers that have none (likewise ``alpha``).
    """
    c = result.config
    settings = {k: v for k, v in c.to_dict().items() if k not in _NOT_IN_ROW}
    for name in ("rho", "alpha"):
        if name not in c.spec.params:
            settings[name] = np.nan
    row: dict[str, Any] = {
        "id": config_id(c, dataset, split_seed, valid_frac=valid_frac, backend=result.backend),
        "dataset": str(dataset),
        "split_seed": split_seed,
        "valid_frac": valid_frac,
        "label": c.label,
        **settings,
        "best_epoch": result.best_epoch,
        "device": result.device,
        "backend": result.backend,
        "threads": result.threads,
        "n_trained_together": result.n_trained_together,
        "epoch_seconds_median": float(np.median(result.epoch_seconds)),
        "eval_seconds_total": float(np.sum(result.eval_seconds)),
        "final_loss": result.history[-1]["loss"],
        "diverged_epoch": np.nan if result.diverged_epoch is None else result.diverged_epoch,
    }
    if c.patience:
        row["stopped_epoch"] = np.nan if result.stopped_epoch is None else result.stopped_epoch
    if result.heldout_share is not None:
        row["heldout_share"] = result.heldout_share
    row.update({f"best_epoch_{k}": v for k, v in result.best_epochs.items()})
    row.update({f"valid_{k}": v for k, v in result.valid.items()})
    row.update({f"test_{k}": v for k, v in result.test.items()})
    return row


def _groups(configs: Sequence[TrainConfig], max_group: int) -> list[list[TrainConfig]]:
    # Softmax-v needs gradients through all N candidates, DNS only through its top M:
    # grouping them apart spares DNS the larger backward pass.
    by_key: dict[tuple, list[TrainConfig]] = {}
    for c in configs:
        by_key.setdefault((group_key(c), c.spec.weighs_all), []).append(c)
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
    executor: Any | None = None,
    source: Any | None = None,
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
        Receives one line per skipped, finished or failed group.
    executor : optional
        None (default): train here, one group after another. Otherwise an object whose
        ``train_groups(source, groups, device=, backend=, threads=)`` yields ``(group,
        results)`` as groups finish elsewhere, ``results`` being the exception of a group
        that failed for good, e.g. :class:`opauc_sim.distributed.DaskCluster`. This
        process stays the only writer: rows are appended here, under the lock.
    source : optional
        What the executor's workers load the split from
        (:class:`opauc_sim.distributed.SplitSource`); default: ``split`` itself.

    Returns
    -------
    pandas.DataFrame
        The whole CSV after the sweep. With an executor, ``attrs["failed"]`` lists
        ``(label, error)`` of the configurations that failed for good (not written: a
        rerun tries them again); it is empty otherwise.
    """
    shown = out_csv
    out_csv = check_out(out_csv)
    backend, device = resolve_backend(backend, device)
    unique = _by_id(configs, dataset, split_seed, valid_frac, backend)
    protocol = _protocol_of(unique.values(), dataset, valid_frac)
    with lock_out(out_csv):
        check_out(out_csv)  # again, now that no other sweep can write it
        rows_done = read_rows(out_csv, log, protocol=protocol)
        finished = set(rows_done["id"]) if "id" in rows_done else set()
        todo = [c for cid, c in unique.items() if cid not in finished]
        if log is not None and len(todo) < len(unique):
            log(f"skipping {len(unique) - len(todo)} finished configs already in {shown}")
        save = dict(
            out_csv=out_csv,
            params={"dataset": dataset, "split_seed": split_seed, **(params or {})},
            seed=split_seed,
            extra={"kind": "sweep", "commands": _commands(out_csv, [command_line()])},
        )
        if rows_done.attrs.get("dropped") and not todo:
            save_rows(rows_done, **save)  # nothing to train: still write the cleaned rows
        data = split if executor is None or source is None else source
        groups = _groups(todo, max(1, int(max_group)))
        outcomes = _train_groups(
            data, groups, executor, device=device, backend=backend, threads=threads,
            progress=progress,
        )  # fmt: skip
        row_of = functools.partial(
            result_row, dataset=dataset, split_seed=split_seed, valid_frac=valid_frac
        )
        failed = _write_outcomes(outcomes, rows_done, row_of, save, log, shown)
        final = read_rows(out_csv)
        final.attrs["failed"] = failed
        return final


def _protocol_of(configs, dataset: str, valid_frac: float):
    """The protocol every row of the sweep's CSV must share (None for no configuration),
    after checking that ``configs`` share one (:func:`check_protocol`)."""
    configs = list(configs)
    if not configs:
        return None
    check_protocol(configs, dataset=dataset, valid_frac=valid_frac)
    return expected_protocol(dataset=dataset, valid_frac=valid_frac, config=configs[0])


def _described(config: TrainConfig) -> str:
    """``RNS (wd 0.0001, seed 0)``: a finished run told apart from the grid's others."""
    return f"{config.label} (wd {config.weight_decay:g}, seed {config.seed})"


def check_protocol(configs: Iterable[TrainConfig], *, dataset: str, valid_frac: float) -> None:
    """Refuse configurations whose rows could not share one CSV (:data:`PROTOCOL`)."""
    seen: dict[str, set[str]] = {}
    for c in configs:
        for name, values in expected_protocol(
            dataset=dataset, valid_frac=valid_frac, config=c
        ).items():
            seen.setdefault(name, set()).update(values)
    mixed = [f"{n} {', '.join(sorted(v))}" for n, v in seen.items() if len(v) > 1]
    if mixed:
        raise ValueError(
            f"these configurations are of several protocols ({'; '.join(mixed)}): their rows "
            f"would not be comparable in one CSV; run one sweep per protocol"
        )


def _by_id(
    configs: Iterable[TrainConfig], dataset: str, split_seed: int, valid_frac: float, backend: str
) -> dict[str, TrainConfig]:
    """Each configuration under its :func:`config_id`; of equal ids the first is kept."""
    unique: dict[str, TrainConfig] = {}
    for c in configs:
        cid = config_id(c, dataset, split_seed, valid_frac=valid_frac, backend=backend)
        unique.setdefault(cid, c)
    return unique


def _train_groups(
    split: Any,
    groups: list[list[TrainConfig]],
    executor: Any | None,
    *,
    device: str,
    backend: str,
    threads: int | None,
    progress: bool,
) -> Iterable[tuple[list[TrainConfig], Any]]:
    """``(group, results)`` as groups finish: here, one after another, or on ``executor``
    (where ``results`` is the exception of a group that failed for good)."""
    if executor is not None:
        return executor.train_groups(split, groups, device=device, backend=backend, threads=threads)
    return (
        (
            group,
            train_many(
                split, group, device=device, backend=backend, threads=threads, progress=progress
            ),
        )
        for group in groups
    )


def _write_outcomes(
    outcomes: Iterable[tuple[list[TrainConfig], Any]],
    rows_done: pd.DataFrame,
    row_of: Callable[[TrainResult], dict[str, Any]],
    save: dict[str, Any],
    log: Callable[[str], None] | None,
    shown: Any = None,
) -> list[tuple[str, str]]:
    """Rewrite the CSV (old rows + new ones) after each group that finished, as it finishes.

    A group whose outcome is an exception (it failed for good on an executor) is not
    written; returns ``(label, error)`` of each of its configurations.
    """
    failed: list[tuple[str, str]] = []
    for group, results in outcomes:
        if isinstance(results, BaseException):
            error = " ".join(f"{type(results).__name__}: {results}".split())
            failed += [(c.label, error) for c in group]
            if log is not None:
                labels = ", ".join(c.label for c in group)
                log(f"failed twice, not written (a rerun tries again): {labels}: {error}")
            continue
        new = pd.DataFrame([row_of(r) for r in results])
        rows_done = new if rows_done.empty else pd.concat([rows_done, new], ignore_index=True)
        rows_done = rows_done.drop_duplicates("id", keep="first").reset_index(drop=True)
        path = save_rows(rows_done, **save)
        if log is not None:
            what = ", ".join(_described(r.config) for r in results)
            log(f"finished {what} -> {shown if shown is not None else path}")
            for r in results:
                if r.diverged_epoch is not None:
                    log(
                        f"{r.config.label} (wd {r.config.weight_decay:g}) diverged at epoch "
                        f"{r.diverged_epoch} (non-finite loss): its row says so and has "
                        f"NaN test metrics unless an earlier epoch was validated"
                    )
    return failed
