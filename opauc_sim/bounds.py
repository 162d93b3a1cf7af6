"""Theorem 3 of Shi et al. (2023): OPAUC(K / n_neg) bounds Recall@K and Precision@K.

For a ranking of ``n_pos`` positives and ``n_neg`` negatives, ``beta = K / n_neg`` and
``C = n_pos * n_neg * OPAUC(beta)`` (raw OPAUC; for a tie-free ranking ``C`` is the number
of correctly ordered pairs of a positive and one of the ``K`` highest-ranked negatives):

    (n_pos + K - sqrt((n_pos + K)^2 - 4 C)) / 2  <=  hits@K  <=  sqrt(C),

and Recall@K = hits@K / n_pos, Precision@K = hits@K / K (docs/theorems.md, Theorem 3).
"""

from __future__ import annotations

import numpy as np

from opauc_sim._validation import check_choice

__all__ = ["ROUNDINGS", "hits_bounds", "precision_bounds", "recall_bounds"]

ROUNDINGS = ("none", "paper", "tight")

# Snapping tolerance for the rounded bounds, per unit of n_pos + k (see hits_bounds, Notes).
_SNAP = 1e-10


def _as_int_array(name: str, value: object) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype == object or arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            return arr.astype(np.int64)
        raise TypeError(f"{name} must be an integer or an array of integers, got {value!r}")
    return arr.astype(np.int64)


def _validate(opauc_value, n_pos, n_neg, k, rounding):
    check_choice("rounding", rounding, ROUNDINGS)
    n_pos = _as_int_array("n_pos", n_pos)
    n_neg = _as_int_array("n_neg", n_neg)
    k = _as_int_array("k", k)
    value = np.asarray(opauc_value)
    if value.dtype == object or value.dtype.kind not in "biuf":
        raise TypeError(f"opauc_value must be a real number or array, got {opauc_value!r}")
    value = value.astype(np.float64)
    try:
        value, n_pos, n_neg, k = np.broadcast_arrays(value, n_pos, n_neg, k)
    except ValueError as exc:
        raise ValueError(
            "opauc_value, n_pos, n_neg and k must broadcast together, got shapes "
            f"{np.shape(opauc_value)}, {np.shape(n_pos)}, {np.shape(n_neg)}, {np.shape(k)}"
        ) from exc
    for name, arr in (("n_pos", n_pos), ("n_neg", n_neg), ("k", k)):
        if np.any(arr < 1):
            raise ValueError(f"{name} must be >= 1, got {arr[arr < 1].flat[0]}")
    if np.any(k > n_neg):
        bad = np.flatnonzero((k > n_neg).ravel())[0]
        raise ValueError(
            f"k must be <= n_neg (beta = k / n_neg <= 1, else OPAUC(beta) is undefined), "
            f"got k={k.flat[bad]}, n_neg={n_neg.flat[bad]}"
        )
    if not np.all(np.isfinite(value)):
        raise ValueError(f"opauc_value must be finite, got {value[~np.isfinite(value)][0]}")
    beta = k / n_neg
    slack = 1e-12 * beta
    outside = (value < -slack) | (value > beta + slack)
    if np.any(outside):
        bad = np.flatnonzero(outside.ravel())[0]
        raise ValueError(
            f"opauc_value must be a raw OPAUC(k / n_neg) in [0, k / n_neg], got "
            f"{value.flat[bad]} with k / n_neg = {beta.flat[bad]}"
        )
    return np.clip(value, 0.0, beta), n_pos, n_neg, k


def hits_bounds(opauc_value, n_pos, n_neg, k, *, rounding="none"):
    """Theorem 3's bounds on hits@K (the number of positives in the top K).

    Parameters
    ----------
    opauc_value : float or array_like
        The raw OPAUC at ``beta = k / n_neg``, in ``[0, beta]``.
    n_pos, n_neg, k : int or array_like of int
        Numbers of positives and negatives, and the cut-off. All four arguments broadcast.
    rounding : {"none", "paper", "tight"}, default "none"
        ``"none"``: the real-valued bounds. ``"paper"``: the paper's statement, floor of the
        lower bound and ceiling of the upper. ``"tight"``: since hits@K is an integer for a
        tie-free ranking, ceiling of the lower bound and floor of the upper.

    Returns
    -------
    lower, upper : float or ndarray
        Floats for scalar input, arrays of the broadcast shape otherwise.

    Raises
    ------
    ValueError
        If ``k > n_neg`` (``beta > 1``: OPAUC is undefined), a count is below 1,
        ``opauc_value`` is outside ``[0, k / n_neg]`` or not finite, or ``rounding`` is
        unknown.
    TypeError
        If a count is not an integer.

    Notes
    -----
    Preconditions. The paper assumes ``n_pos > K`` and ``n_neg > K``. The proof
    (docs/theorems.md, Theorem 3) uses neither: it needs ``K`` top negatives to exist, ``n_neg
    >= K``. Enumerating every tie-free ranking with ``n <= 14`` items
    (``proofs_check/check_theorem3.py``) confirms that both bounds hold for ``n_pos <= K`` and
    for ``n_neg = K`` (``beta = 1``, AUC), so they are accepted here. ``K > n_neg`` raises:
    there ``beta > 1``. (If OPAUC is replaced by AUC there, the upper bound fails for most
    rankings; if the tie-free closed form is extended to ``m = K > n_neg``, both still hold.
    Both findings are reported by ``opauc-sim check``.) The bound does not cap at ``min(K,
    n_pos)``; ``sqrt(C)`` can exceed ``K`` when ``n_pos > K``. Given ``C``, the enumeration
    finds ``ceil(lower)`` and ``min(floor(upper), K, n_pos)`` to be exactly the least and the
    greatest hits@K of any ranking, while ``floor(upper)`` alone is loose in 22% of the (n_pos,
    n_neg, K, C) groups.

    Rounding. ``C = n_pos * n_neg * opauc_value`` is recomputed in floating point, so an
    integer bound may arrive as ``2.9999999999``. The rounded bounds therefore snap within
    ``tol = 1e-10 * (n_pos + k)`` before rounding: ``ceil(lower - tol)``,
    ``floor(upper + tol)`` ("tight"), ``floor(lower + tol)``, ``ceil(upper - tol)``
    ("paper"). For a tie-free ranking ``C``
    is an integer and an irrational bound lies at least ``1 / (4 (n_pos + k) + 2)`` from any
    integer, so for ``n_pos + k < 5e4`` the snap changes nothing but rounding noise; beyond
    that it can loosen a "tight" bound by one, never make it invalid.

    Ties. With tied scores hits@K is an expectation over tie orders and OPAUC uses the ROC
    diagonal (docs/definitions.md §3); the rounded bounds assume an integer hits@K and apply
    to tie-free rankings only.

    Examples
    --------
    >>> hits_bounds(0.0625, 4, 16, 2)  # C = 4 * 16 * 0.0625 = 4
    (0.7639320225002103, 2.0)
    >>> hits_bounds(0.0625, 4, 16, 2, rounding="tight")
    (1.0, 2.0)
    >>> hits_bounds(0.0625, 4, 16, 2, rounding="paper")
    (0.0, 2.0)
    """
    check_choice("rounding", rounding, ROUNDINGS)
    scalar = all(np.ndim(a) == 0 for a in (opauc_value, n_pos, n_neg, k))
    value, n_pos, n_neg, k = _validate(opauc_value, n_pos, n_neg, k, rounding)
    c = n_pos.astype(np.float64) * n_neg * value
    s = (n_pos + k).astype(np.float64)
    root = np.sqrt(np.maximum(s * s - 4.0 * c, 0.0))
    # (s - root) / 2 rationalised: no cancellation when C is small against s^2.
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(c > 0, 2.0 * c / (s + root), 0.0)
    upper = np.sqrt(c)
    tol = _SNAP * s
    if rounding == "tight":
        lower, upper = np.ceil(lower - tol), np.floor(upper + tol)
    elif rounding == "paper":
        lower, upper = np.floor(lower + tol), np.ceil(upper - tol)
    if scalar:
        return float(lower), float(upper)
    return lower, upper


def recall_bounds(opauc_value, n_pos, n_neg, k, *, rounding="none"):
    """Theorem 3's bounds on Recall@K = hits@K / n_pos, from OPAUC(k / n_neg).

    Parameters, returns, errors and notes as in :func:`hits_bounds`, whose bounds are
    divided by ``n_pos``.

    Examples
    --------
    >>> recall_bounds(0.0625, 4, 16, 2, rounding="tight")
    (0.25, 0.5)
    """
    lower, upper = hits_bounds(opauc_value, n_pos, n_neg, k, rounding=rounding)
    n_pos = np.asarray(n_pos)
    return _divide(lower, upper, n_pos)


def precision_bounds(opauc_value, n_pos, n_neg, k, *, rounding="none"):
    """Theorem 3's bounds on Precision@K = hits@K / k, from OPAUC(k / n_neg).

    Parameters, returns, errors and notes as in :func:`hits_bounds`, whose bounds are
    divided by ``k``.

    Examples
    --------
    >>> precision_bounds(0.0625, 4, 16, 2, rounding="tight")
    (0.5, 1.0)
    """
    lower, upper = hits_bounds(opauc_value, n_pos, n_neg, k, rounding=rounding)
    return _divide(lower, upper, np.asarray(k))


def _divide(lower, upper, by):
    if isinstance(lower, float):
        return lower / float(by), upper / float(by)
    return lower / by, upper / by
