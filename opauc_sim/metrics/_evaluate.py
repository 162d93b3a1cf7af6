"""All metrics of every row in one kernel pass: :func:`evaluate`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from opauc_sim._definitions import (
    AUC_COLUMN,
    DEFAULT_BETAS,
    DEFAULT_KS,
    DEFAULT_TOPK,
    beta_column,
    normalize_area,
    opauc_k_column,
    topk_column,
)
from opauc_sim.metrics._docs import fill_docs
from opauc_sim.metrics._driver import Stats, graded_ndcg, run, warn_undefined_rows
from opauc_sim.metrics._inputs import _Input, _prepare
from opauc_sim.metrics._options import Options, check_options


@fill_docs
def evaluate(
    y_true,
    y_score,
    *,
    ks=DEFAULT_KS,
    betas=DEFAULT_BETAS,
    exclude=None,
    opauc_ks=(),
    normalize: str | None = None,
    topk=DEFAULT_TOPK,
    graded: bool = False,
    auc: bool = True,
    keep_float32: bool = False,
) -> pd.DataFrame:
    """Every metric of every row in one pass: Top-K metrics, AUC and OPAUC(beta).

    Parameters
    ----------
    {arrays}
    {options}
    auc : bool, default True
        Compute the ``auc`` column. AUC needs every negative of a row placed; without it
        the kernel stops as soon as every K and beta is complete, which is faster on long
        rows with few positives (full-ranking evaluation during training).
    keep_float32 : bool, default False
        Rank float32 scores as float32 instead of converting them to float64. The values
        and so every metric are the same (the conversion is exact); it saves a pass over
        the scores at the cost of a second compiled version of the kernel on first use.
        Used by the training evaluation.

    Returns
    -------
    pandas.DataFrame
        One row per input row (one row for 1-D input), indexed by the input DataFrame's
        index when ``y_score`` (or ``y_true``) is one, with columns ``<metric>@K`` for each
        K and each of ``topk``, ``auc``, ``opauc@<beta>`` (beta formatted with ``:g``) for
        each beta, ``opauc@K/n_neg`` for each of ``opauc_ks``, and ``n_pos``, ``n_neg``
        (counts after ``exclude``). Undefined values are ``nan``, with one
        UndefinedMetricWarning per call.

    Notes
    -----
    One selection is shared by all metrics: per row the positives are sorted once and every
    negative placed against them once. Ties follow each metric's rule (see
    :mod:`opauc_sim.metrics`). With ``exclude``, a row left with fewer than K items still divides
    Precision@K by K. Graded NDCG needs one sort per row on top of the kernel pass.

    Raises
    ------
    ValueError
        Shape mismatch (of ``y_true`` or ``exclude``), NaN scores, labels outside {{0, 1}},
        bad or empty ``ks``, bad ``betas``/``opauc_ks``/``topk``/``normalize``.
    TypeError
        Non-numeric input.

    Examples
    --------
    >>> df = evaluate([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5], ks=(1, 2), betas=(0.5,))
    >>> df[["recall@2", "ndcg@2", "auc", "opauc@0.5"]].round(4).to_dict("records")
    [{{'recall@2': 0.5, 'ndcg@2': 0.6131, 'auc': 0.5, 'opauc@0.5': 0.25}}]
    >>> import pandas as pd
    >>> scores = pd.DataFrame([[0.9, 0.1], [0.2, 0.8]], index=["ann", "bob"])
    >>> evaluate(pd.DataFrame([[1, 0], [1, 0]], index=["ann", "bob"]), scores,
    ...          ks=(1,), betas=(), topk=("mrr",))["mrr@1"].to_dict()
    {{'ann': 1.0, 'bob': 0.0}}
    """
    opts = check_options(ks, betas, opauc_ks, normalize, topk)
    inp = _prepare(y_true, y_score, exclude, graded=graded, keep_float32=keep_float32)
    df = evaluate_input(inp, opts, graded=graded, auc=auc)
    warn_undefined_rows(df["n_pos"].to_numpy(), df["n_neg"].to_numpy())
    return df


def evaluate_input(inp: _Input, opts: Options, *, graded: bool, auc: bool) -> pd.DataFrame:
    """:func:`evaluate` on an input already in the canonical form, without the warning."""
    return pd.DataFrame(evaluate_columns(inp, opts, graded=graded, auc=auc), index=inp.index)


def evaluate_columns(
    inp: _Input, opts: Options, *, graded: bool, auc: bool
) -> dict[str, np.ndarray]:
    """:func:`evaluate`'s columns, in their order, as arrays (no DataFrame: a caller that
    evaluates in chunks builds one frame at the end, not one per chunk)."""
    stats = run(inp, opts.ks, opts.betas, opts.opauc_ks, want_auc=bool(auc), topk=opts.topk)
    graded_values = graded_ndcg(inp, opts.ks) if graded and "ndcg" in opts.topk else None
    columns = _topk_columns(stats, opts, graded_values)
    if auc:
        columns[AUC_COLUMN] = stats.per_pair(stats.auc_pairs)
    columns.update(_opauc_columns(stats, opts))
    columns["n_pos"] = stats.n_pos.astype(np.int64)
    columns["n_neg"] = stats.n_neg.astype(np.int64)
    return columns


def _topk_columns(stats: Stats, opts: Options, graded_values) -> dict[str, np.ndarray]:
    """``<metric>@K`` for every K and every metric of ``opts.topk``, in that order."""
    columns = {}
    for t, k in enumerate(opts.ks):
        for name in opts.topk:
            graded = graded_values[t] if graded_values is not None and name == "ndcg" else None
            columns[topk_column(name, k)] = stats.topk(name, t, k, graded)
    return columns


def _opauc_columns(stats: Stats, opts: Options) -> dict[str, np.ndarray]:
    """``opauc@<beta>`` for every fixed beta, then ``opauc@K/n_neg`` for every K."""
    columns = {}
    for b, beta in enumerate(opts.betas):
        area = stats.per_pair(stats.area[:, b])
        columns[beta_column(beta)] = normalize_area(area, beta, opts.normalize)
    for b, k in enumerate(opts.opauc_ks, start=len(opts.betas)):
        area = stats.per_pair(stats.area[:, b])
        row_beta = np.minimum(k / np.maximum(stats.n_neg, 1.0), 1.0)
        columns[opauc_k_column(k)] = normalize_area(area, row_beta, opts.normalize)
    return columns
