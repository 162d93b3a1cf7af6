"""A model too large to score at once: :func:`evaluate_scorer`, users in chunks."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp

from opauc_sim._definitions import DEFAULT_BETAS, DEFAULT_KS, DEFAULT_TOPK
from opauc_sim._validation import UndefinedMetricWarning, check_int
from opauc_sim.metrics._docs import _fill_docs
from opauc_sim.metrics._evaluate import _check_options, evaluate
from opauc_sim.metrics._inputs import _as_array
from opauc_sim.metrics._stats import _warn_undefined_rows


@_fill_docs
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
    chunk: int = 1024,
) -> pd.DataFrame:
    """:func:`evaluate` for a model too large to score at once: users in chunks.

    Parameters
    ----------
    score_fn : callable
        ``score_fn(rows) -> scores``: for an int64 array of user rows, their scores over all
        items, shape ``(len(rows), n_items)`` (a NumPy array, or a torch tensor on any
        device, e.g. ``lambda u: user_emb[u] @ item_emb.T``).
    users : sequence of int
        The rows of ``y_true`` to evaluate, in the order of the output.
    y_true : array-like or scipy.sparse matrix, shape (n_users, n_items)
        Relevance of every user (row) and item, as in :func:`evaluate`.
    exclude : array-like or scipy.sparse matrix, optional
        Items removed per user (training interactions), shape of ``y_true``.
    {options}
    chunk : int, default 1024
        Users scored per call of ``score_fn``. Memory is bounded by the chunk: about
        ``chunk * n_items * 10`` bytes beyond ``y_true`` and ``exclude`` themselves.

    Returns
    -------
    pandas.DataFrame
        :func:`evaluate`'s columns, indexed by ``users`` (index name ``user``). The values
        do not depend on ``chunk``. Undefined rows give one UndefinedMetricWarning in all.

    Raises
    ------
    ValueError
        A user outside ``[0, n_users)``, a ``score_fn`` result of the wrong shape, a bad
        ``chunk``, and as :func:`evaluate`.
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
    chunk = check_int("chunk", chunk, low=1)
    opts = _check_options(ks, betas, opauc_ks, normalize, topk)._asdict()
    shape = y_true.shape if hasattr(y_true, "shape") else np.shape(y_true)
    if len(shape) != 2:
        raise ValueError(f"y_true must be 2-D (n_users, n_items), got shape {tuple(shape)}")
    users = _check_users(users, shape[0])
    with warnings.catch_warnings():  # one warning for all chunks, below
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        parts = [
            evaluate(y, scores, exclude=excl, graded=graded, **opts)
            for y, scores, excl in _chunks(score_fn, users, y_true, exclude, shape[1], chunk)
        ]
    if parts:
        df = pd.concat(parts, ignore_index=True)
    else:
        empty = np.zeros((0, shape[1]))
        df = evaluate(empty, empty, **opts)
    df.index = pd.Index(users, name="user")
    _warn_undefined_rows(df["n_pos"].to_numpy(), df["n_neg"].to_numpy())
    return df


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


def _chunks(score_fn, users, y_true, exclude, n_items: int, chunk: int):
    """``(y_true, scores, exclude)`` of each chunk of ``chunk`` users, scored on demand."""
    for start in range(0, len(users), chunk):
        rows = users[start : start + chunk]
        scores = _as_array("score_fn(rows)", score_fn(rows))
        if scores.shape != (len(rows), n_items):
            raise ValueError(
                f"score_fn must return shape (len(rows), n_items) = "
                f"{(len(rows), n_items)}, got {scores.shape}"
            )
        yield _take_rows("y_true", y_true, rows), scores, _take_rows("exclude", exclude, rows)


def _take_rows(name: str, matrix, rows: np.ndarray):
    if matrix is None:
        return None
    if sp.issparse(matrix):
        return sp.csr_matrix(matrix)[rows]
    if isinstance(matrix, pd.DataFrame):
        return matrix.iloc[rows].to_numpy()
    return _as_array(name, matrix)[rows]
