"""Long tables: :func:`evaluate_long` on ``(user, item, score)`` rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from opauc_sim._definitions import DEFAULT_BETAS, DEFAULT_KS, DEFAULT_TOPK
from opauc_sim._validation import check_choice
from opauc_sim.metrics._docs import fill_docs
from opauc_sim.metrics._driver import warn_undefined_rows
from opauc_sim.metrics._evaluate import evaluate_input
from opauc_sim.metrics._inputs import _from_matrices
from opauc_sim.metrics._options import check_options
from opauc_sim.metrics._tables import UNSCORED, long_columns, pivot


@fill_docs
def evaluate_long(
    scores: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    user: str = "user",
    item: str = "item",
    score: str = "score",
    relevance: str | None = None,
    exclude: pd.DataFrame | None = None,
    items=None,
    unscored: str = "bottom",
    ks=DEFAULT_KS,
    betas=DEFAULT_BETAS,
    opauc_ks=(),
    normalize: str | None = None,
    topk=DEFAULT_TOPK,
    graded: bool = False,
    auc: bool = True,
) -> pd.DataFrame:
    """:func:`evaluate` on long tables: ``(user, item, score)`` rows and ``(user, item)`` truth.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per scored (user, item) pair, with columns ``user``, ``item``, ``score``
        (named by those arguments). A pair may appear once. Scores are real, not NaN.
    truth : pandas.DataFrame
        The relevant (user, item) pairs, columns ``user`` and ``item``; with
        ``relevance=``, a column of relevance values (a pair is a positive when its value
        is above 0; with ``graded`` NDCG uses it as the gain, values below 0 as 0).
    exclude : pandas.DataFrame, optional
        (user, item) pairs removed before ranking (training interactions), columns ``user``
        and ``item``. Pairs naming a user or item absent from both tables are ignored.
    items : sequence, optional
        The item catalogue each user is ranked over. Default: every item that appears in
        ``scores`` or ``truth``. Must contain every item of both tables.
    unscored : {{"bottom", "drop", "miss"}}, default "bottom"
        What happens to an item of the catalogue that has no score for a user (see Notes).
    {options}
    auc : bool, default True
        Compute the ``auc`` column (see :func:`evaluate`).

    Returns
    -------
    pandas.DataFrame
        :func:`evaluate`'s columns, one row per user of ``scores`` or ``truth``, indexed
        by the user ids (sorted where they can be).

    Notes
    -----
    {unscored}

    Scores of any real type are compared exactly (Python integers of any size included).
    The tables are pivoted into dense ``n_users x n_items`` matrices (about 10 bytes per
    cell); evaluate very large catalogues in chunks of users.

    Raises
    ------
    ValueError
        A missing column; a missing id (NaN, None); ids of one kind in one table and of
        another in the other (numbers against strings: they never match); a repeated
        (user, item) in ``scores`` (or in ``truth`` with ``relevance=``); NaN scores or
        relevance; an item outside ``items``; a bad ``unscored``; and as :func:`evaluate`.
    TypeError
        ``scores``, ``truth`` or ``exclude`` not a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({{"user": [1, 1, 1, 2, 2], "item": ["a", "b", "c", "a", "c"],
    ...                        "score": [0.9, 0.5, 0.1, 0.3, 0.6]}})
    >>> truth = pd.DataFrame({{"user": [1, 2], "item": ["b", "b"]}})
    >>> df = evaluate_long(scores, truth, ks=(2,), betas=(), topk=("recall",))
    >>> df[["recall@2", "auc"]].to_dict("list")  # user 2 did not score "b": it ranks last
    {{'recall@2': [1.0, 0.0], 'auc': [0.5, 0.0]}}
    """
    check_choice("unscored", unscored, UNSCORED)
    opts = check_options(ks, betas, opauc_ks, normalize, topk)
    rows = _long_rows(scores, truth, exclude, user, item, score, relevance)
    gains, mat, excl, miss, users = pivot(
        *rows, unscored=unscored, items=items, relevance=bool(relevance is not None)
    )
    inp = _from_matrices(gains, mat, excl, miss, users.rename(user), graded=graded)
    df = evaluate_input(inp, opts, graded=graded, auc=auc)
    warn_undefined_rows(df["n_pos"].to_numpy(), df["n_neg"].to_numpy())
    return df


def _long_rows(scores, truth, exclude, user, item, score, relevance):
    """The ``(users, items, values)`` of ``scores`` and ``truth`` (relevance 1 without a
    ``relevance`` column) and the ``(users, items)`` of ``exclude`` (or None)."""
    s_rows = long_columns(scores, "scores", {"user": user, "item": item, "score": score})
    cols = {"user": user, "item": item}
    if relevance is not None:
        cols["relevance"] = relevance
    t_cols = long_columns(truth, "truth", cols)
    t_rows = (*t_cols[:2], t_cols[2] if relevance is not None else np.ones(len(truth)))
    x_rows = None
    if exclude is not None:
        x_rows = long_columns(exclude, "exclude", {"user": user, "item": item})
    return s_rows, t_rows, x_rows
