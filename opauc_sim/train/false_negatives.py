"""How often hard negatives are false negatives: held-out positives among the chosen ones.

A sampler only knows the training interactions, so it treats a user's held-out items
(validation and test) as negatives. This module measures, for a trained model, how much
of what DNS(M, N) keeps and of what Softmax-v(rho, N) weighs falls on those held-out
items, against the share among uniform draws:

- ``dns``: the fraction of the M kept candidates (the top M of N uniform draws from the
  user's non-training items) that are held-out positives;
- ``softmax``: the weight mass ``sum_k w_k [j_k held out]`` of Softmax-v over the N draws;
- ``uniform``: the fraction of all N draws that are held out (the base rate,
  ``|held-out_u| / n_neg_u`` in expectation).

Each is averaged over a uniform sample of training pairs (u, i), the unit a sampler
works on, with the candidates drawn and scored by the fused trainer's own kernels
(:mod:`opauc_sim.train.numba_engine`), so the measurement sees exactly what training sees.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from opauc_sim._validation import check_int
from opauc_sim.train import numba_engine, samplers
from opauc_sim.train.config import TrainConfig
from opauc_sim.train.data import Split

__all__ = [
    "false_negative_shares",
    "save_shares",
    "share_configs",
    "shares_cost",
    "shares_protocol",
    "top_m_heldout_share",
]


def _member(keys_sorted: np.ndarray, users: np.ndarray, items: np.ndarray, n_items: int):
    """Whether each (user, item) is in the sorted key set ``u * n_items + i``."""
    query = users.astype(np.int64) * n_items + items.astype(np.int64)
    if keys_sorted.size == 0:
        return np.zeros(query.shape, dtype=bool)
    pos = np.searchsorted(keys_sorted, query).clip(max=keys_sorted.size - 1)
    return keys_sorted[pos] == query


def false_negative_shares(
    user_w: np.ndarray,
    item_w: np.ndarray,
    split: Split,
    *,
    ms: Sequence[int] = (1, 5, 20),
    rhos: Sequence[float] = (0.1, 1.0, 10.0),
    n: int = 200,
    n_pairs: int = 100_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Shares of held-out positives among DNS's kept and Softmax-v's weighted candidates.

    Parameters
    ----------
    user_w, item_w : ndarray, shape (n_users, dim) and (n_items, dim)
        A trained model's embeddings (scores are ``user_w @ item_w.T``).
    split : Split
        ``train`` defines the negatives (candidates are drawn from non-training items);
        ``valid + test`` are the held-out positives.
    ms : sequence of int, default (1, 5, 20)
        DNS's M values (at N = ``n``).
    rhos : sequence of float, default (0.1, 1, 10)
        Softmax-v's rho values (at N = ``n``).
    n : int, default 200
        Candidates per pair.
    n_pairs : int, default 100,000
        Training pairs sampled uniformly (with replacement) to average over.
    seed : int, default 0

    Returns
    -------
    pandas.DataFrame
        One row per (sampler, parameter): columns ``sampler`` (``uniform``, ``dns``,
        ``softmax``), ``M``, ``rho``, ``N``, ``share`` (the mean share defined in the module
        docstring), ``se`` (its standard error over pairs) and ``n_pairs``.
    """
    configs = share_configs(ms=ms, rhos=rhos, n=n, n_pairs=n_pairs)
    n, n_pairs = int(n), int(n_pairs)
    user_w = np.ascontiguousarray(user_w)
    item_w = np.ascontiguousarray(item_w, dtype=user_w.dtype)
    uniform, per_config = _per_pair_shares(user_w, item_w, split, configs, n, n_pairs, seed)
    rows = [{"sampler": "uniform", "M": np.nan, "rho": np.nan, "N": n, **_mean_se(uniform)}]
    for config, values in zip(configs, per_config, strict=True):
        dns = not config.spec.weighs_all
        rows.append(
            {
                "sampler": config.sampler,
                "M": config.M if dns else np.nan,
                "rho": np.nan if dns else config.rho,
                "N": n,
                **_mean_se(values),
            }
        )
    out = pd.DataFrame(rows)
    out["n_pairs"] = n_pairs
    return out


def share_configs(
    *, ms: Sequence[int], rhos: Sequence[float], n: int, n_pairs: int
) -> list[TrainConfig]:
    """The sampler settings :func:`false_negative_shares` measures, its arguments checked.

    Call it before training a model to measure: every argument is checked here (M in
    [1, N], rho > 0, N and the pairs >= 1), each error naming the argument.
    """
    n = check_int("n", n, low=1)
    check_int("n_pairs", n_pairs, low=1)
    ms = [check_int("ms", m, low=1, high=n) for m in ms]
    configs = [TrainConfig(sampler=samplers.DNS, M=m, N=n, weight_decay=0.0) for m in ms]
    configs += [TrainConfig(sampler=samplers.SOFTMAX, rho=r, N=n, weight_decay=0.0) for r in rhos]
    return configs


def shares_cost(n_configs: int, n_pairs: int):
    """The memory of :func:`false_negative_shares`: per sampled pair, its index, the uniform
    share and one share per setting (float64), and the copy that averages them."""
    from opauc_sim._cost import Cost

    n_pairs = int(n_pairs)
    what = f"{n_pairs:,} pairs x {n_configs + 1} shares (--n-pairs)"
    return Cost(8.0 * n_pairs * (n_configs + 3), 0.0, what)


def _per_pair_shares(
    user_w: np.ndarray,
    item_w: np.ndarray,
    split: Split,
    configs: list[TrainConfig],
    n: int,
    n_pairs: int,
    seed: int,
) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """Per sampled pair, batch by batch: the held-out share among uniform draws, and
    among each configuration's kept (DNS) or weighted (Softmax-v) candidates."""
    train = sp.csr_matrix(split.train)
    held = sp.csr_matrix(split.valid + split.test, dtype=bool).tocoo()
    n_items = split.n_items
    keys = np.sort(held.row.astype(np.int64) * n_items + held.col.astype(np.int64))
    counts = np.diff(train.indptr)
    users_all = np.repeat(np.arange(split.n_users, dtype=np.int64), counts)
    items_all = train.indices.astype(np.int64)
    ok = (counts < n_items)[users_all]  # users with no negative to draw are left out
    users_all, items_all = users_all[ok], items_all[ok]
    pick = np.random.default_rng(seed).integers(0, len(users_all), n_pairs)
    exclude = numba_engine._csr64(train)
    key = np.uint64(numba_engine._stream_key(seed, 3))
    uniform: list[np.ndarray] = []
    per_config: list[list[np.ndarray]] = [[] for _ in configs]
    batch = 4096
    for start in range(0, n_pairs, batch):
        idx = pick[start : start + batch]
        u, i = users_all[idx], items_all[idx]
        cand = np.empty((len(idx), n), dtype=np.int64)
        bloom = np.empty((len(idx), numba_engine._BLOOM_WORDS), dtype=np.uint64)
        numba_engine.draw_candidates(cand, u, key, start, n_items, exclude, bloom)
        is_held = _member(keys, np.repeat(u, n), cand.ravel(), n_items).reshape(cand.shape)
        uniform.append(is_held.mean(axis=1))
        for config, values in zip(configs, per_config, strict=True):
            t = numba_engine.batch_terms(user_w, item_w, u, i, cand, config)
            if not config.spec.weighs_all:
                sel = t["sel"]
                hit = _member(keys, np.repeat(u, sel.shape[1]), sel.ravel(), n_items)
                values.append(hit.reshape(sel.shape).mean(axis=1))
            else:
                w = t["weight"].astype(np.float64)
                values.append((w * is_held).sum(axis=1))
    return uniform, per_config


def _mean_se(values: list[np.ndarray]) -> dict[str, float]:
    """``share`` (the mean over pairs) and ``se`` (its standard error)."""
    v = np.concatenate(values)
    se = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0
    return {"share": float(v.mean()), "se": se}


def shares_protocol(config: TrainConfig, n_pairs: int) -> dict[str, set[str]]:
    """What the rows of one shares table share: the model measured and the pairs."""
    from opauc_sim.train.sweep_files import SHARES, protocol_of

    row = {
        "model": config.label,
        "recipe": "authors" if config.authors_code else "project",
        "epochs": config.epochs,
        "weight_decay": config.weight_decay,
        "n_pairs": int(n_pairs),
    }
    return protocol_of(pd.DataFrame([row]), SHARES)


def check_shares_out(
    out_csv: str | os.PathLike, *, dataset: str, config: TrainConfig, n_pairs: int
) -> Path:
    """Check, before any training, that ``out_csv`` may take this data set's shares.

    It must end in ``.csv``; if it exists, it must be a shares table (not a sweep's CSV
    or anything else), and its rows of other data sets must be of the same model and pairs
    (:func:`shares_protocol`): one table compares data sets under one protocol.

    Returns
    -------
    pathlib.Path
        The file (a symlink resolved).

    Raises
    ------
    ResultsError
    """
    from opauc_sim.results_cache import ResultsError
    from opauc_sim.train.sweep_files import SHARES, _differences, check_out, protocol_of, read_rows

    out = check_out(out_csv, kind=SHARES)
    rows = read_rows(out, kind=SHARES)
    others = rows[rows["dataset"].astype(str) != str(dataset)] if len(rows) else rows
    if len(others):
        diff = _differences(protocol_of(others, SHARES), shares_protocol(config, n_pairs), "here")
        if diff:
            raise ResultsError(
                f"--out {str(out_csv)!r} holds the shares of other data sets under another "
                f"model or pairs ({'; '.join(diff)}): they would not be comparable; choose "
                f"another --out"
            )
    return out


def save_shares(
    out_csv: str | os.PathLike,
    table: pd.DataFrame,
    *,
    dataset: str,
    config: TrainConfig,
    test: Mapping[str, float],
    n_pairs: int,
    seed: int,
    log=None,
) -> pd.DataFrame:
    """Write one data set's shares into ``out_csv`` (with its sidecar); return the file's rows.

    The rows gain the data set, the model (label, recipe, epochs, weight decay) and its
    test NDCG@50; rows of other data sets already in ``out_csv`` are kept, this data set's
    are replaced, so one file collects the table for several data sets. The file is read
    and rewritten under its lock, by the sweeps' checked reader (a cut row is dropped and
    said to ``log``; a foreign file, or other data sets' rows of another model, refused).
    """
    from opauc_sim.train.sweep_files import SHARES, lock_out, read_rows, save_rows

    table = table.copy()
    table.insert(0, "dataset", dataset)
    table.insert(1, "model", config.label)
    table["recipe"] = "authors" if config.authors_code else "project"
    table["epochs"] = config.epochs
    table["weight_decay"] = config.weight_decay
    table["model_test_ndcg@50"] = test.get("ndcg@50", np.nan)
    out = check_shares_out(out_csv, dataset=dataset, config=config, n_pairs=n_pairs)
    with lock_out(out, who="false-negatives run"):
        out = check_shares_out(out_csv, dataset=dataset, config=config, n_pairs=n_pairs)
        old = read_rows(out, log, kind=SHARES)
        if len(old):
            table = _replace_rows(old, table, dataset)
        names = list(dict.fromkeys(table["dataset"].astype(str)))
        params = {
            "dataset": dataset,  # the data set this write replaced; "datasets": all of them
            "datasets": names,
            "model": config.to_dict(),
            "n_pairs": n_pairs,
        }
        save_rows(table, out, params=params, seed=seed)  # a sidecar as before: no "kind"
    return table


def _replace_rows(old: pd.DataFrame, new: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """``old`` with ``dataset``'s rows replaced by ``new``, where they stood (appended if
    ``old`` has none), so that rewriting one data set leaves the others' order alone."""
    mine = (old["dataset"].astype(str) == dataset).to_numpy()
    if not mine.any():
        return pd.concat([old, new], ignore_index=True)
    at = int(np.flatnonzero(mine)[0])
    rest = old[~mine]
    before = rest[rest.index < old.index[at]]
    after = rest[rest.index > old.index[at]]
    return pd.concat([before, new, after], ignore_index=True)


def top_m_heldout_share(
    user_w: np.ndarray, item_w: np.ndarray, split: Split, m: int, *, chunk: int = 256
) -> float:
    """The share of held-out items among DNS(M, all)'s negatives, as training sees them.

    For every training user, the top ``m`` of the items that are not its training items
    (the candidates of ``N="all"`` without the oracle control), selected as the trainer
    selects them; the share that are validation or test items, averaged over training
    pairs (a user counts once per training pair, the unit of the loss).

    Parameters
    ----------
    user_w, item_w : ndarray
        A model's embeddings (scores ``user_w @ item_w.T``).
    split : Split
    m : int
        DNS's M.
    chunk : int, default 256
        Users scored per GEMM.

    Returns
    -------
    float
    """
    from opauc_sim.train.numba_engine import _csr64
    from opauc_sim.train.numba_kernels import _top_m_hits

    m = check_int("m", m, low=1)
    excl = _csr64(split.train)
    held = _csr64(split.valid + split.test)
    weights = np.diff(split.train.indptr).astype(np.float64)
    users = np.flatnonzero(weights > 0).astype(np.int64)
    shares = np.empty(len(users))
    for start in range(0, len(users), chunk):
        rows = users[start : start + chunk]
        scores = np.ascontiguousarray(user_w[rows] @ item_w.T)
        _top_m_hits(
            scores,
            rows,
            m,
            excl.indptr,
            excl.indices,
            held.indptr,
            held.indices,
            shares[start : start + chunk],
        )
    ok = np.isfinite(shares)
    return float(np.average(shares[ok], weights=weights[users][ok])) if ok.any() else np.nan
