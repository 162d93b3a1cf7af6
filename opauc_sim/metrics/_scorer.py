"""A model too large to score at once: :func:`evaluate_scorer`, users in chunks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from opauc_sim._definitions import DEFAULT_BETAS, DEFAULT_KS, DEFAULT_TOPK
from opauc_sim._validation import check_int
from opauc_sim.metrics._docs import fill_docs
from opauc_sim.metrics._driver import warn_undefined_rows
from opauc_sim.metrics._evaluate import evaluate_columns, evaluate_input
from opauc_sim.metrics._inputs import (
    _align_to,
    _as_array,
    _prepare,
    csr_lists_of,
    prepare_csr_rows,
)
from opauc_sim.metrics._options import check_options

#: Scores per chunk when ``chunk`` is not given (about 32 MB of float64): a chunk the
#: kernel reads while it is still in the cache the scorer wrote it to.
_CHUNK_SCORES = 1 << 22


@fill_docs
def evaluate_scorer(
    score_fn,
    users,
    y_true,
    *,
    exclude=None,
    ks=DEFAULT_KS,
    betas=DEFAULT_BETAS,
    opauc_ks=(),
    normalize: str | None = None,
    topk=DEFAULT_TOPK,
    graded: bool = False,
    auc: bool = True,
    chunk: int | None = None,
) -> pd.DataFrame:
    """:func:`evaluate` for a model too large to score at once: users in chunks.

    Parameters
    ----------
    score_fn : callable
        ``score_fn(rows) -> scores``: for an int64 array of user rows (a copy: the function
        may modify it), their scores over all items, shape ``(len(rows), n_items)`` (a
        NumPy array, or a torch tensor on any device, e.g.
        ``lambda u: user_emb[u] @ item_emb.T``). float32 scores are ranked as float32.
    users : sequence of int
        The rows of ``y_true`` to evaluate (positions), in the order of the output.
    y_true : array-like, scipy.sparse matrix or DataFrame, shape (n_users, n_items)
        Relevance of every user (row) and item, as in :func:`evaluate`. Columns are the
        items in the order of the scores' columns.
    exclude : array-like, scipy.sparse matrix or DataFrame, optional
        Items removed per user (training interactions), shape of ``y_true``. A DataFrame
        ``exclude`` with a DataFrame ``y_true`` is lined up on its row and column labels
        (the same sets in any order); otherwise rows and columns are positions.
    {options}
    auc : bool, default True
        Compute the ``auc`` column (see :func:`evaluate`; without it each row's pass stops
        as soon as every K and beta is complete).
    chunk : int, optional
        Users scored per call of ``score_fn``. Memory is bounded by the chunk: about
        ``chunk * n_items * 10`` bytes beyond ``y_true`` and ``exclude`` themselves.
        Default: about 4 million scores per chunk.

    Returns
    -------
    pandas.DataFrame
        :func:`evaluate`'s columns, indexed by ``users`` (index name ``user``). The values
        do not depend on ``chunk``. Undefined rows give one UndefinedMetricWarning in all.

    Notes
    -----
    The fast path of full-ranking evaluation is a scipy.sparse ``y_true`` and ``exclude``
    (held-out and training items): the kernel then reads each user's few positives and
    excluded items from their index lists and counts over the row of scores, nothing
    densified. Their stored values are checked once, in every row (evaluated or not),
    before the first chunk is scored; an error names the row of the matrix given.

    Raises
    ------
    ValueError
        A user outside ``[0, n_users)``, a ``score_fn`` result of the wrong shape, a bad
        ``chunk``, DataFrames whose labels differ, and as :func:`evaluate`.
    TypeError
        ``score_fn`` not callable.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[1, 0, 0], [0, 0, 1]])
    >>> df = evaluate_scorer(lambda rows: np.tile([0.9, 0.5, 0.1], (len(rows), 1)),
    ...                      [0, 1], y, ks=(1,), betas=(), chunk=1)
    >>> df["recall@1"].tolist()
    [1.0, 0.0]
    """
    if not callable(score_fn):
        raise TypeError(f"score_fn must be callable, got {type(score_fn).__name__}")
    opts = check_options(ks, betas, opauc_ks, normalize, topk)
    y_true, exclude = _matrices(y_true, exclude)
    n_users, n_items = y_true.shape
    if chunk is None:
        chunk = max(1, _CHUNK_SCORES // max(n_items, 1))
    chunk = check_int("chunk", chunk, low=1)
    users = _check_users(users, n_users)
    df = _evaluate_chunks(score_fn, users, y_true, exclude, opts, chunk, graded=graded, auc=auc)
    warn_undefined_rows(df["n_pos"].to_numpy(), df["n_neg"].to_numpy())
    return df


def _evaluate_chunks(score_fn, users, y_true, exclude, opts, chunk: int, *, graded, auc):
    """:func:`evaluate_scorer`'s frame: ``users`` scored and evaluated ``chunk`` at a time.

    Sparse truth and exclusion are checked once, then each chunk's rows are taken as
    index lists; the columns are joined into one frame at the end (per chunk, scipy's row
    indexing and a DataFrame cost a fifth of Gowalla's full ranking).
    """
    n_items = y_true.shape[1]
    sparse = sp.issparse(y_true) and not graded and (exclude is None or sp.issparse(exclude))
    lists = csr_lists_of(y_true, exclude) if sparse else None
    parts = []
    for start in range(0, len(users), chunk):
        rows = users[start : start + chunk]
        scores = _scores_of(score_fn, rows, n_items)
        if lists is not None:
            inp = prepare_csr_rows(lists, rows, scores, keep_float32=True)
        else:
            excluded = None if exclude is None else exclude[rows]
            inp = _prepare(y_true[rows], scores, excluded, graded=graded, keep_float32=True)
        parts.append(evaluate_columns(inp, opts, graded=graded, auc=auc))
    index = pd.Index(users, name="user")
    if not parts:
        empty = np.zeros((0, n_items))
        df = evaluate_input(_prepare(empty, empty), opts, graded=False, auc=auc)
        df.index = index
        return df
    return pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in parts[0]}, index)


def _scores_of(score_fn, rows: np.ndarray, n_items: int) -> np.ndarray:
    """``score_fn``'s scores of ``rows`` (given a copy, so a scorer that writes into its
    argument cannot change the users evaluated), checked for shape."""
    scores = _as_array("score_fn(rows)", score_fn(rows.copy()))
    if scores.shape != (len(rows), n_items):
        raise ValueError(
            f"score_fn must return shape (len(rows), n_items) = "
            f"{(len(rows), n_items)}, got {scores.shape}"
        )
    return scores


def _matrices(y_true, exclude):
    """``y_true`` and ``exclude`` as row-sliceable matrices: CSR for sparse input, NumPy
    arrays otherwise, DataFrames lined up on their labels first."""
    if isinstance(y_true, pd.DataFrame) and isinstance(exclude, pd.DataFrame):
        exclude = _align_to("exclude", exclude, "y_true", y_true)
    out = []
    for name, matrix in (("y_true", y_true), ("exclude", exclude)):
        if matrix is None:
            out.append(None)
        elif sp.issparse(matrix):
            out.append(sp.csr_array(matrix))
        else:
            out.append(_as_array(name, matrix))
    y_true, exclude = out
    if y_true.ndim != 2:
        raise ValueError(f"y_true must be 2-D (n_users, n_items), got shape {y_true.shape}")
    if exclude is not None and exclude.shape != y_true.shape:
        raise ValueError(
            f"exclude must have the shape of y_true {y_true.shape}, got {exclude.shape}"
        )
    return y_true, exclude


def _check_users(users, n_users: int) -> np.ndarray:
    """``users`` as int64 rows in ``[0, n_users)``, or raise."""
    users = np.asarray(users)
    if users.ndim != 1 or (users.size and users.dtype.kind not in "iu"):
        raise TypeError(f"users must be a 1-D sequence of integer rows, got dtype {users.dtype}")
    users = users.astype(np.int64)
    if users.size and (users.min() < 0 or users.max() >= n_users):
        bad = users[(users < 0) | (users >= n_users)][0]
        raise ValueError(f"users must be rows of y_true in [0, {n_users}), got {bad}")
    return users
