"""Train, validate, select, test: the orchestration shared by both engines (no torch).

An *engine* holds the model state of a group of configurations and runs epochs:
:class:`opauc_sim.train.numba_engine.NumbaEngine` (Numba, CPU; the default there) or
:class:`opauc_sim.train.torch_engine.TorchEngine` (PyTorch; GPUs, and the reference). This
module picks one (:func:`resolve_backend`), runs the epochs, ranks the validation slice
every ``eval_every`` epochs, keeps the best epoch, and reports its test metrics.

Threads: a command sets them once, at its boundary (:func:`opauc_sim._threads.limit_threads`);
:func:`train_many` called with ``threads=n`` runs inside the same context manager.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from opauc_sim._cost import Cost, check_memory
from opauc_sim._definitions import ranking_columns
from opauc_sim._validation import check_choice
from opauc_sim.train.config import TrainConfig, TrainResult, column_k, group_key, selection_keys
from opauc_sim.train.data import Split
from opauc_sim.train.evaluation import evaluate_ranking, mean_metrics

__all__ = [
    "BACKENDS",
    "estimate_cost",
    "resolve_backend",
    "set_threads",
    "train",
    "train_many",
]

# Seconds per unit on one core of this project's machine (fused trainer, the paper's
# largest data set, float32;
# benchmarks/bench_train.py): scoring one candidate of dimension d costs about
# _SCORE_S * d, Softmax-v's weights about _SOFTMAX_FACTOR times more, and one dense Adam
# step about _ADAM_S per parameter. A full-ranking evaluation costs about _EVAL_S per
# (user, item) score. Estimates are meant to be right within a factor of about two.
_SCORE_S = 0.9e-9
_SOFTMAX_FACTOR = 2.5
_ADAM_S = 3e-9
_EVAL_S = 4e-9
# Full-item DNS: one score of a GEMM row costs about _GEMM_S * d, and its pass through
# the top-M selection about _SELECT_S.
_GEMM_S = 0.03e-9
_SELECT_S = 1e-9

BACKENDS = ("auto", "numba", "torch")


def set_threads(n: int) -> int:
    """Deprecated: use ``with opauc_sim._threads.limit_threads(n):`` (or ``train(...,
    threads=n)``). Sets ``n`` threads in Numba, BLAS and torch for good; returns ``n``."""
    import warnings

    from opauc_sim._threads import limit_threads
    from opauc_sim._validation import find_stack_level

    warnings.warn(
        "set_threads is deprecated: use opauc_sim._threads.limit_threads(n) as a context "
        "manager, or pass threads=n to train / train_many",
        DeprecationWarning,
        stacklevel=find_stack_level(),
    )
    limiter = limit_threads(n)
    _KEPT.append(limiter)
    return limiter.__enter__()


_KEPT: list[Any] = []  # set_threads' limiters, never exited


def _current_threads() -> int:
    import numba

    return int(numba.get_num_threads())


def resolve_backend(backend: str = "auto", device: str = "auto") -> tuple[str, str]:
    """``(backend, device)`` to run: ``"auto"`` picks Numba on the CPU, torch on CUDA.

    ``device="auto"`` means CUDA when an NVIDIA driver is loaded and torch is installed and
    sees a GPU, else the CPU (torch is not imported when there is no driver).
    The Numba backend runs on the CPU only.
    """
    check_choice("backend", backend, BACKENDS)
    if not isinstance(device, str):
        raise TypeError(f"device must be a string, got {device!r}")
    check_choice("device", device.split(":")[0], ("auto", "cpu", "cuda"))
    if device == "auto":
        device = "cpu"
        # Importing torch takes seconds; without an NVIDIA driver there is no CUDA to find.
        if (
            backend != "numba"
            and os.path.exists("/proc/driver/nvidia/version")
            and importlib.util.find_spec("torch") is not None
        ):
            import torch

            if torch.cuda.is_available():
                device = "cuda"
    if backend == "auto":
        backend = "numba" if device == "cpu" else "torch"
    if backend == "numba" and device != "cpu":
        raise ValueError(f"backend 'numba' runs on the CPU only, got device {device!r}")
    return backend, device


def _make_engine(split: Split, configs: Sequence[TrainConfig], backend: str, device: str):
    if backend == "numba":
        from opauc_sim.train.numba_engine import NumbaEngine

        return NumbaEngine(split, configs)
    from opauc_sim.train.torch_engine import TorchEngine

    return TorchEngine(split, configs, device)


def estimate_cost(split: Split, configs: Sequence[TrainConfig]) -> Cost:
    """Memory (bytes) and time (s, on one core) of training ``configs`` one after another.

    Memory is that of one group trained together (tables, gradients, Adam's moments and
    the kept epoch's copy, in float32, plus the per-batch buffers); time adds up every
    configuration's epochs and evaluations.
    """
    configs = list(configs)
    first = configs[0]
    n_params = (split.n_users + split.n_items) * first.dim
    n_pairs = split.train.nnz
    batch = min(first.batch_size, max(n_pairs, 1))
    table_bytes = 5 * 4 * n_params * len(configs) * (len(first.ks) if first.per_k else 1)
    if first.full_items:
        m = max(c.M for c in configs)
        rows = min(256, batch)
        buffer_bytes = rows * (split.n_items * 4 + m * 24 + first.dim * 4) + batch * 12
    else:
        buffer_bytes = batch * (first.N * (8 + 4) + first.N * 16 + 64 * 8 + first.dim * 4)
    eval_bytes = 2e7 * (4 + 8 + 2) if split.n_items else 0
    seconds = 0.0
    n_batches = -(-n_pairs // batch)
    for c in configs:
        epoch = n_pairs * _pair_seconds(split, c) + n_batches * n_params * _ADAM_S
        n_evals = (c.epochs // c.eval_every + 1) if c.eval_every else 0
        evaluation = (n_evals * 0.5 + 1) * split.n_users * split.n_items * _EVAL_S
        seconds += c.epochs * epoch + evaluation
    label = configs[0].label if len(configs) == 1 else f"{len(configs)} configurations"
    return Cost(
        bytes=float(table_bytes + buffer_bytes + eval_bytes),
        seconds=seconds,
        what=f"training {label} for {first.epochs} epochs on {n_pairs:,} pairs",
    )


def _pair_seconds(split: Split, config: TrainConfig) -> float:
    """Seconds per training pair of one epoch: scoring the candidates (and, for all
    items, the user's share of the score rows: one GEMM row per pair in pair batching,
    one per user and epoch in user batching)."""
    if config.full_items:
        rows_per_pair = (
            1.0 if config.batching == "pair" else split.n_users / max(split.train.nnz, 1)
        )
        return (
            rows_per_pair * split.n_items * (_GEMM_S * config.dim + _SELECT_S)
            + _SCORE_S * config.dim * config.M
        )
    return _SCORE_S * config.dim * (config.N + 1) * config.spec.cost_factor


def _check_split(split: Split, config: TrainConfig) -> None:
    if split.train.nnz == 0:
        raise ValueError("the training split is empty: no interaction to train on")
    if split.n_items < 2:
        raise ValueError(f"the data set has {split.n_items} item(s); ranking needs at least 2")
    if config.eval_every > 0 and split.valid.nnz == 0:
        raise ValueError(
            f"eval_every={config.eval_every} needs a validation slice, but the split has "
            "none (valid_frac 0): use eval_every=0 to train to the last epoch"
        )


def train_many(
    split: Split,
    configs: Sequence[TrainConfig],
    *,
    device: str = "auto",
    backend: str = "auto",
    threads: int | None = None,
    progress: bool = False,
    test: bool = True,
    keep_embeddings: bool = False,
) -> list[TrainResult]:
    """Train several configurations together (stacked), one result per configuration.

    Parameters
    ----------
    split : Split
        ``train`` is fitted, ``valid`` picks the epoch, ``test`` is reported.
    configs : sequence of TrainConfig
        Must share :func:`~opauc_sim.train.config.group_key` (everything but sampler, M,
        rho, weight_decay).
    device : {"auto", "cpu", "cuda"} or "cuda:N", default "auto"
    backend : {"auto", "numba", "torch"}, default "auto"
        ``"numba"``: the fused CPU trainer (:mod:`opauc_sim.train.numba_engine`); ``"torch"``:
        the PyTorch engine; ``"auto"``: Numba on the CPU, torch on CUDA.
    threads : int, optional
        Threads for Numba, BLAS and torch for this call
        (:func:`opauc_sim._threads.limit_threads`); default: leave them as they are.
    progress : bool, default False
        A tqdm bar with the loss, the last validation metric and the thread count.
    test : bool, default True
        Evaluate each configuration's selected epoch on the test items.
    keep_embeddings : bool, default False
        Return the selected epoch's embeddings (NumPy) in each result.

    Returns
    -------
    list of TrainResult

    Notes
    -----
    With ``eval_every > 0`` the validation slice is ranked every ``eval_every`` epochs
    and after the last (without the AUC column unless it is the selection metric, which
    halves the evaluation time); the epoch with the best ``select_metric`` is kept. With
    ``eval_every = 0`` nothing is validated and the last epoch is kept. The test metrics
    are the kept epoch's, with the training and validation items masked.

    Users with no non-positive item cannot have negatives and are left out of training.
    Seeded runs are deterministic on the CPU: bit-identical for any thread count with the
    Numba backend. The two backends use different random streams (initialisation, order,
    candidates), so their runs agree in distribution, not draw for draw; their
    mathematics is the same (tested on shared draws).
    """
    configs = list(configs)
    _check_group(split, configs)
    check_memory(estimate_cost(split, configs))  # before any allocation
    backend, device = resolve_backend(backend, device)
    if backend == "torch":
        from opauc_sim.train import require_torch

        require_torch()  # a clear ImportError before any work
    if threads is not None:
        from opauc_sim._threads import limit_threads

        with limit_threads(threads, torch=backend == "torch"):
            return _train_many(split, configs, device, backend, progress, test, keep_embeddings)
    return _train_many(split, configs, device, backend, progress, test, keep_embeddings)


def _train_many(split, configs, device, backend, progress, test, keep_embeddings):
    """:func:`train_many` once the threads are set: train, then assemble the results."""
    engine = _make_engine(split, configs, backend, device)
    n_threads = _current_threads()
    bar = _progress_bar(configs, backend, n_threads) if progress else None
    log = _fit(engine, split, configs, bar)
    results = []
    for c, config in enumerate(configs):
        share = _heldout_share(engine, split, c, config, log.diverged[c])
        diverged = log.diverged[c]
        kept = log.kept[c]
        if not kept:  # no validation: the last epoch (or the one that diverged)
            last = log.last_epoch if diverged is None else diverged
            kept = {"last": _KeptEpoch(epoch=last, state=engine.snapshot(c), valid={})}
        final = _final_key(config, kept)
        test_metrics: dict[str, float] = {}
        if test:
            test_metrics = _test_metrics(engine, split, c, config, kept, diverged, log)
        engine.restore(c, kept[final].state)
        state = kept[final].state
        user_e, item_e = engine.to_numpy(state) if keep_embeddings else (None, None)
        results.append(
            TrainResult(
                config=config,
                device=str(device),
                best_epoch=kept[final].epoch,
                valid=_assemble(config, kept, lambda k: k.valid),
                test=test_metrics,
                history=log.histories[c],
                epoch_seconds=log.epoch_seconds,
                eval_seconds=log.eval_seconds,
                n_trained_together=len(configs),
                backend=backend,
                threads=n_threads,
                user_embedding=user_e,
                item_embedding=item_e,
                diverged_epoch=diverged,
                best_epochs={k: v.epoch for k, v in kept.items()} if config.per_k else {},
                stopped_epoch=log.stopped[c],
                heldout_share=share,
            )
        )
    return results


def _heldout_share(engine, split: Split, c: int, config: TrainConfig, diverged) -> float | None:
    """DNS(M, all): the share of held-out items among the top M of the non-training items
    at the last epoch (:func:`~opauc_sim.train.false_negatives.top_m_heldout_share`);
    None for other samplers and for a diverged run."""
    if not config.full_items or diverged is not None:
        return None
    from opauc_sim.train.false_negatives import top_m_heldout_share

    user_w, item_w = engine.to_numpy(engine.snapshot(c))
    return top_m_heldout_share(user_w, item_w, split, config.M)


def _final_key(config: TrainConfig, kept: dict[str, _KeptEpoch]) -> str:
    """The selection whose epoch is *the* kept one: the largest K's with one per K."""
    if "last" in kept:
        return "last"
    return list(selection_keys(config))[-1]


def _assemble(config: TrainConfig, kept: dict[str, _KeptEpoch], part) -> dict[str, float]:
    """Metrics taken from each selection's epoch: with one selection per K, a column at
    cut-off K from K's epoch and a column without K (``auc``) from the largest K's."""
    final = kept[_final_key(config, kept)]
    if "last" in kept or not config.per_k:
        return dict(part(final))
    by_k = {column_k(key): kept[key] for key in selection_keys(config)}
    out = {}
    for column, value in part(final).items():
        k = column_k(column)
        out[column] = value if k is None or k not in by_k else part(by_k[k]).get(column, value)
    return out


def _test_metrics(
    engine, split: Split, c: int, config: TrainConfig, kept, diverged, log
) -> dict[str, float]:
    """Configuration ``c``'s test metrics at its kept epochs (each evaluated once): NaN
    at an epoch whose tables are the diverged ones (NaN scores rank nothing)."""
    by_epoch: dict[int, dict[str, float]] = {}
    for k in kept.values():
        if k.epoch in by_epoch:
            continue
        if diverged is not None and k.epoch >= diverged:
            by_epoch[k.epoch] = dict.fromkeys(ranking_columns(config.ks, auc=True), np.nan)
            continue
        engine.restore(c, k.state)
        by_epoch[k.epoch] = _timed_metrics(
            split.test, engine.scorer(c), split.train_all, config, log.eval_seconds
        )
    return _assemble(config, kept, lambda k: by_epoch[k.epoch])


@dataclass
class _KeptEpoch:
    """The epoch a configuration keeps: its best on validation so far, or its last.

    Attributes
    ----------
    epoch : int
        1-based.
    state : object
        The engine's snapshot of the configuration's tables at that epoch.
    valid : dict of str to float
        Its validation metrics (empty without validation).
    value : float
        Its ``select_metric`` on validation (-inf without validation).
    """

    epoch: int
    state: Any
    valid: dict[str, float]
    value: float = -np.inf


@dataclass
class _FitLog:
    """What the epochs of one group leave: per-configuration histories, kept epochs and
    the first epoch whose loss was not finite (None while it is), and the shared timings."""

    histories: list[list[dict[str, float]]]
    kept: list[dict[str, _KeptEpoch]]
    diverged: list[int | None]
    stopped: list[int | None]
    last_epoch: int = 0
    epoch_seconds: list[float] = field(default_factory=list)
    eval_seconds: list[float] = field(default_factory=list)


def _check_group(split: Split, configs: list[TrainConfig]) -> None:
    """Refuse an empty group, a group that cannot share draws, and an unusable split."""
    if not configs:
        raise ValueError("configs must not be empty")
    if len({group_key(c) for c in configs}) != 1:
        raise ValueError(
            "configs trained together must agree on all settings but sampler, M, rho "
            "and weight_decay"
        )
    _check_split(split, configs[0])


def _progress_bar(configs: list[TrainConfig], backend: str, n_threads: int):
    """A tqdm bar over the epochs (None without tqdm, the extra ``progress``)."""
    from opauc_sim._optional import progress_bar

    first = configs[0]
    desc = first.label if len(configs) == 1 else f"{len(configs)} configs (N={first.N})"
    return progress_bar(
        total=first.epochs, desc=f"{desc} [{backend}, {n_threads} thr]", unit="epoch"
    )


def _timed_metrics(
    truth,
    scorer,
    exclude,
    config: TrainConfig,
    seconds: list[float],
    *,
    auc: bool = True,
) -> dict[str, float]:
    """Mean full-ranking metrics of ``scorer`` on ``truth``; the time goes to ``seconds``."""
    t0 = time.perf_counter()
    metrics = mean_metrics(evaluate_ranking(truth, scorer, exclude=exclude, ks=config.ks, auc=auc))
    seconds.append(time.perf_counter() - t0)
    return metrics


def _fit(engine, split: Split, configs: list[TrainConfig], bar) -> _FitLog:
    """Run every epoch; validate when due and keep each configuration's best epochs.

    Each selection (:func:`~opauc_sim.train.config.selection_keys`: one, or one per K)
    keeps the epoch with its best validation value; an epoch kept by several is copied
    once. A configuration whose mean epoch loss is not finite has diverged: it is
    validated no more (its scores are NaN). With ``patience`` a configuration whose last
    ``patience`` validations improved no selection has stopped: it is validated no more.
    Once every configuration of the group has diverged or stopped, the epochs end.
    """
    first = configs[0]
    n_cfg = len(configs)
    log = _FitLog(
        histories=[[] for _ in configs],
        kept=[{} for _ in configs],
        diverged=[None] * n_cfg,
        stopped=[None] * n_cfg,
    )
    stale = [0] * n_cfg
    post: dict[str, str] = {}  # the bar's values; validation values stay until renewed
    for epoch in range(1, first.epochs + 1):
        engine.sync()
        t0 = time.perf_counter()
        losses = engine.epoch()
        engine.sync()
        log.epoch_seconds.append(time.perf_counter() - t0)
        log.last_epoch = epoch
        is_eval = first.eval_every > 0 and (epoch == first.epochs or epoch % first.eval_every == 0)
        post["loss"] = f"{float(np.mean(losses)):.4f}"
        for c, config in enumerate(configs):
            row: dict[str, float] = {"epoch": epoch, "loss": float(losses[c])}
            if log.diverged[c] is None and not np.isfinite(row["loss"]):
                log.diverged[c] = epoch
            if is_eval and log.diverged[c] is None and log.stopped[c] is None:
                valid = _validate(engine, split, c, config, log, epoch)
                row.update({f"valid_{k}": v for k, v in valid.items()})
                stale[c] = 0 if valid.pop("_improved") else stale[c] + 1
                if config.patience and stale[c] >= config.patience:
                    log.stopped[c] = epoch
                _post_validation(post, config, log.kept, c, n_cfg)
            log.histories[c].append(row)
        if bar is not None:
            bar.set_postfix(post)
            bar.update(1)
        if all(
            d is not None or s is not None for d, s in zip(log.diverged, log.stopped, strict=True)
        ):
            break  # nothing left to train: every configuration diverged or stopped
    if bar is not None:
        bar.close()
    return log


def _validate(engine, split, c: int, config: TrainConfig, log, epoch) -> dict:
    """Validation metrics of configuration ``c`` now; updates its kept epochs and says,
    under the key ``_improved``, whether any selection improved."""
    keys = selection_keys(config)
    valid = _timed_metrics(
        split.valid,
        engine.scorer(c),
        split.train,
        config,
        log.eval_seconds,
        auc="auc" in keys.values(),
    )
    improved = False
    state = None
    for key, metric in keys.items():
        value = valid[metric]
        kept = log.kept[c].get(key)
        if kept is None or value > kept.value:
            state = engine.snapshot(c) if state is None else state
            log.kept[c][key] = _KeptEpoch(epoch, state, valid, value)
            improved = True
    return {**valid, "_improved": improved}


def _post_validation(post: dict, config: TrainConfig, kept, c: int, n_cfg: int) -> None:
    """The progress bar's validation value: the (last) selection's best so far."""
    key = list(selection_keys(config))[-1]
    if n_cfg == 1:
        post[f"valid {key}"] = f"{kept[c][key].value:.4f}"
    elif c == n_cfg - 1:
        top = max(k[key].value for k in kept if key in k)
        post[f"best valid {key}"] = f"{top:.4f}"


def train(
    split: Split,
    config: TrainConfig,
    *,
    device: str = "auto",
    backend: str = "auto",
    threads: int | None = None,
    progress: bool = False,
    test: bool = True,
    keep_embeddings: bool = False,
) -> TrainResult:
    """Train MF with BPR and ``config``'s sampler on ``split``; select on validation.

    See :func:`train_many` (this is its one-configuration case) for the parameters.

    Examples
    --------
    >>> import scipy.sparse as sp, numpy as np
    >>> from opauc_sim.train import split_per_user
    >>> rng = np.random.default_rng(0)
    >>> split = split_per_user(sp.csr_matrix(rng.random((30, 40)) < 0.3), seed=0)
    >>> result = train(split, TrainConfig(sampler="dns", M=2, N=8, epochs=2), device="cpu")
    >>> result.backend, sorted(result.test)[:3]
    ('numba', ['auc', 'ndcg@20', 'ndcg@5'])
    """
    return train_many(
        split,
        [config],
        device=device,
        backend=backend,
        threads=threads,
        progress=progress,
        test=test,
        keep_embeddings=keep_embeddings,
    )[0]
