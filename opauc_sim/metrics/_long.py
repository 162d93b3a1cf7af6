"""Long tables: :func:`evaluate_long` on ``(user, item, score)`` rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from opauc_sim._definitions import DEFAULT_BETAS, DEFAULT_KS, DEFAULT_TOPK
from opauc_sim._validation import check_choice
from opauc_sim.metrics._docs import _fill_docs
from opauc_sim.metrics._evaluate import evaluate
from opauc_sim.metrics._inputs import UNSCORED, _long_columns, _pivot


@_fill_docs
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
    unscored : {{"bottom", "drop"}}, default "bottom"
        What happens to an item of the catalogue that has no score for a user (see Notes).
    {options}

    Returns
    -------
    pandas.DataFrame
        :func:`evaluate`'s columns, one row per user of ``scores`` or ``truth``, indexed
        by the user ids (sorted where they can be).

    Notes
    -----
    For each user, every item of the catalogue is excluded (a pair in ``exclude``), scored,
    or unscored:

    * ``unscored="bottom"``: unscored items are ranked **below every scored item of the
      user, tied with each other**; each is a positive if it is in ``truth``, else a
      negative. So an unscored positive counts in Recall's ``n_pos`` and is never a hit
      (as ranx and trec_eval count relevant documents that were not retrieved) unless K
      reaches into the tied bottom group, where it gets its expected share; and every
      unscored negative counts in AUC/OPAUC as a negative that every scored positive beats
      (a pair of an unscored positive and an unscored negative counts 1/2, as a tie).
      This is the full-ranking evaluation of a model that scored only some items.
      Filling with ``-inf`` gives the same except where a scored item itself is ``-inf``
      (here it still ranks above the unscored ones).
    * ``unscored="drop"``: unscored items are **removed**, as if excluded: neither positive
      nor negative nor rank. An unscored positive is lost from ``n_pos``. This is the
      sampled-candidates evaluation, where each user is ranked over their own candidates
      only; AUC and OPAUC then count only pairs of scored items.

    The tables are pivoted into dense ``n_users x n_items`` matrices (about 10 bytes per
    cell); evaluate very large catalogues in chunks of users.

    Raises
    ------
    ValueError
        A missing column, a repeated (user, item) pair in ``scores``, NaN scores, an item
        outside ``items``, a bad ``unscored``, and as :func:`evaluate`.
    TypeError
        ``scores``, ``truth`` or ``exclude`` not a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({{"user": [1, 1, 1, 2, 2], "item": ["a", "b", "c", "a", "c"],
    ...                        "score": [0.9, 0.5, 0.1, 0.3, 0.6]}})
    >>> truth = pd.DataFrame({{"user": [1, 2], "item": ["b", "b"]}})
    >>> df = evaluate_long(scores, truth, ks=(2,), betas=(), topk=("recall",))
    >>> df["recall@2"].to_dict()  # user 2 did not score "b": it ranks last
    {{1: 1.0, 2: 0.0}}
    >>> df["auc"].to_dict()
    {{1: 0.5, 2: 0.0}}
    """
    check_choice("unscored", unscored, UNSCORED)
    rows = _long_rows(scores, truth, exclude, user, item, score, relevance)
    gains, mat, excl, users = _pivot(*rows, unscored=unscored, items=items)
    options = dict(ks=ks, betas=betas, opauc_ks=opauc_ks, normalize=normalize, topk=topk)
    df = evaluate(gains if graded else gains > 0, mat, exclude=excl, graded=graded, **options)
    df.index = users.rename(user)
    return df


def _long_rows(scores, truth, exclude, user, item, score, relevance):
    """The ``(users, items, values)`` of ``scores`` and ``truth`` (relevance 1 without a
    ``relevance`` column) and the ``(users, items)`` of ``exclude`` (or None)."""
    s_rows = _long_columns(scores, "scores", {"user": user, "item": item, "score": score})
    cols = {"user": user, "item": item}
    if relevance is not None:
        cols["relevance"] = relevance
    t_cols = _long_columns(truth, "truth", cols)
    t_rows = (*t_cols[:2], t_cols[2] if relevance is not None else np.ones(len(truth)))
    x_rows = None
    if exclude is not None:
        x_rows = _long_columns(exclude, "exclude", {"user": user, "item": item})
    return s_rows, t_rows, x_rows
