"""The docstring parts of :mod:`opauc_sim.metrics` written once, and the one helper that
fills them in.

A docstring names a part as ``{name}``; :func:`template` makes the decorator that fills
them (a literal brace is written ``{{`` or ``}}``). :func:`fill_docs` fills the parts of the
score-level functions: ``{arrays}`` (the three array arguments), ``{returns}`` (a value per
row), ``{options}`` (the metric options shared by ``evaluate``, ``evaluate_long`` and
``evaluate_scorer``) and ``{unscored}`` (``evaluate_long``'s rule for unscored items).
:mod:`opauc_sim.metrics.ranks` fills its own parts with the same helper.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping


def template(parts: Mapping[str, str]) -> Callable:
    """A decorator that fills ``{name}`` in a function's docstring from ``parts``."""

    def fill(func):
        func.__doc__ = func.__doc__.format(**parts)
        return func

    return fill


_ARRAY_DOC = """y_true : array-like of shape (n_items,) or (n_rows, n_items)
        Binary relevance, 0/1 or bool. In 2-D a scipy.sparse matrix of any format (with a
        sparse or no ``exclude`` it is read as index lists, never densified) or a pandas
        DataFrame (nullable dtypes too) is accepted; a torch tensor on any device (with
        grad, half precision, float8 or quantized) too; and a ranx/TREC qrels dict
        ``{query: {doc: relevance}}`` together with a run dict as ``y_score``: a relevant
        document the run did not retrieve counts in ``n_pos`` and is never a hit at any
        K, as in ranx and trec_eval (see :func:`evaluate_long`, ``unscored="miss"``).
    y_score : array-like of the same shape
        Real scores, higher ranks first. ``inf`` and ``-inf`` are valid and ordered; NaN
        is an error. Any real dtype: each is converted to float64 exactly in order
        (integers beyond 2**53, ``longdouble`` and object arrays of Python integers by their
        exact ranks). When ``y_score`` (or ``y_true``) is a DataFrame, its index labels the
        output rows, and DataFrame inputs are aligned on their row and column labels.
    exclude : array-like of bool, same shape as ``y_score``, optional
        Items removed from the ranking before anything is computed (dense, scipy.sparse,
        a DataFrame, or with dict input a dict ``{query: docs}``): an excluded item is
        neither a positive, nor a negative, nor a rank. This is how training interactions
        are masked in full-ranking evaluation (masking with ``-inf`` instead would keep them
        as tied negatives and change AUC/OPAUC)."""

_RETURNS_ROWS = """float, ndarray of shape (n_rows,) or pandas.Series
        A float for 1-D input; a Series on the input DataFrame's index (user ids) when
        ``y_score`` or ``y_true`` is a DataFrame or a dict; else an array."""

_OPTIONS_DOC = """ks : sequence of int, default (5, 10, 20, 50)
        Cut-offs, positive integers, distinct, not empty. A K above ``n_items`` is allowed:
        every item is then inside the cut, and Precision@K still divides by K.
    betas : sequence of float, default (0.01, 0.05, 0.1)
        OPAUC levels, each in ``(0, 1]``. ``beta * n_neg`` uses each row's own number of
        negatives (after ``exclude``). An empty sequence gives no ``opauc@<beta>`` column.
    opauc_ks : sequence of int, default ()
        For each K, also OPAUC at the row's own ``beta = K / n_neg`` (the level of the
        paper's Theorem 3), in a column ``opauc@K/n_neg``: the raw area, in ``[0, K/n_neg]``,
        so that ``n_pos * n_neg * opauc@K/n_neg`` is the number of correctly ordered pairs
        of a positive and one of the top-K negatives. A row with ``n_neg < K`` gets
        ``beta = 1`` (its AUC). Each K is a positive integer; the list may be empty.
    normalize : {None, "max", "mcclish"}, default None
        Applied to every OPAUC column (see :func:`normalize_opauc`); for ``opauc@K/n_neg``
        with each row's own ``beta = min(K / n_neg, 1)``. The column names stay the same.
    topk : sequence of str, default ("recall", "precision", "ndcg")
        Which Top-K metrics to report at every K, among ``"recall"``, ``"precision"``,
        ``"ndcg"``, ``"hit_rate"``, ``"mrr"``, ``"map"`` (see the functions of those
        names). All come out of the same kernel pass.
    graded : bool, default False
        ``y_true`` holds graded relevance (finite, ``>= 0``): NDCG uses it as the gain;
        every other metric takes the items with a gain above 0 as the positives."""


_UNSCORED_DOC = """For each user, every item of the catalogue is excluded (a pair in
    ``exclude``), scored, or unscored:

    * ``unscored="bottom"``: unscored items are ranked **below every scored item of the
      user, tied with each other**; each is a positive if it is in ``truth``, else a
      negative. This is the full-ranking evaluation of a model that scored only some
      items, with the tie rule of every other tie: an unscored positive counts in
      Recall's ``n_pos``, and once K reaches into the tied bottom group it gets its
      expected share of the hits there; every unscored negative counts in AUC/OPAUC as a
      negative that every scored positive beats (a pair of an unscored positive and an
      unscored negative counts 1/2, as a tie). Filling with ``-inf`` gives the same except
      where a scored item itself is ``-inf`` (here it still ranks above the unscored ones).
    * ``unscored="miss"``: as ``"bottom"``, except that an unscored positive is **never a
      hit, at any K**: the rule of ranx and trec_eval for a relevant document the run did
      not retrieve (it stays in Recall's and MAP's denominators and in NDCG's ideal DCG).
      This is what ranx/TREC dicts of dicts get (see :func:`evaluate`).
    * ``unscored="drop"``: unscored items are **removed**, as if excluded: neither positive
      nor negative nor rank. An unscored positive is lost from ``n_pos``. This is the
      sampled-candidates evaluation, where each user is ranked over their own candidates
      only; AUC and OPAUC then count only pairs of scored items."""

#: Fills ``{arrays}``, ``{returns}``, ``{options}`` and ``{unscored}`` in a score-level
#: docstring.
fill_docs = template(
    {
        "arrays": _ARRAY_DOC,
        "returns": _RETURNS_ROWS,
        "options": _OPTIONS_DOC,
        "unscored": _UNSCORED_DOC,
    }
)
