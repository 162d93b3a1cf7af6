"""Distributionally robust objectives behind hard negative sampling (docs/theorems.md).

For one (context, positive) pair the negatives' losses ``L_1, ..., L_n`` are weighted by a
distribution ``Q`` over the negatives; ``P0`` is the uniform distribution. The robust
objective is ``sup_Q E_Q[L]`` over a ball around ``P0``:

- CVaR ball, ``sup log(dQ/dP0) <= rho`` with ``beta = exp(-rho)`` (Lemma 1): the worst case
  is the mean of the top ``beta`` fraction of the losses, :func:`cvar`, equal to the dual
  :func:`cvar_dual`. DNS with ``M = beta * n`` of all ``n`` negatives weights exactly those
  (Theorem 1), :func:`dns_weights`.
- KL ball, ``KL(Q || P0) <= rho`` (Theorem 2): the worst case is a softmax of ``L / tau``
  for the ``tau`` that puts ``Q`` on the ball's boundary, :func:`kl_worst_case`. The paper's
  Softmax-v sampler replaces that ``tau`` by the second-order (Taylor) value
  ``sqrt(Var(L) / (2 rho))``, :func:`taylor_tau` and :func:`softmax_v_weights`.

Every function takes one row of losses (1-D, shape ``(n,)``) or a batch of rows (2-D,
shape ``(n_rows, n)``) and works row by row; 1-D input gives scalars, 2-D input gives one
value per row. Everything is plain numpy (and ``scipy.optimize.brentq`` for the KL root).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from opauc_sim._validation import check_choice, check_int, check_real

__all__ = [
    "cvar",
    "cvar_dual",
    "dns_expected_weights",
    "dns_weights",
    "kl_divergence_uniform",
    "kl_worst_case",
    "softmax_v_weights",
    "taylor_tau",
]


# --------------------------------------------------------------------------- validation


def _as_rows(name: str, values: object) -> tuple[np.ndarray, bool]:
    """A finite float64 2-D array (rows) and whether the input was 1-D."""
    arr = np.asarray(values)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real, got dtype {arr.dtype}")
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D or 2-D, got shape {arr.shape}")
    if arr.shape[-1] == 0:
        raise ValueError(f"{name} must have at least one entry per row, got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)][0]
        raise ValueError(f"{name} must be finite, got {bad}")
    one_d = arr.ndim == 1
    return (arr[None, :] if one_d else arr), one_d


def _out(values: np.ndarray, one_d: bool):
    """Scalar for 1-D input, the array otherwise."""
    return float(values[0]) if one_d else values


def _check_rho(rho: object) -> float:
    return check_real("rho", rho, low=0.0, low_open=True)


# --------------------------------------------------------------------------- CVaR


def _cvar_weights(sorted_len: int, m: float) -> np.ndarray:
    """Weights on the losses sorted in descending order: 1/m on the top floor(m), the rest."""
    k = np.arange(sorted_len, dtype=np.float64)
    return np.clip(m - k, 0.0, 1.0) / m


def cvar(losses, beta):
    """Conditional value at risk: the mean of the top ``beta`` fraction of the losses.

    With ``n`` losses per row and ``m = beta * n`` (real, possibly fractional), the
    ``floor(m)`` largest losses get weight ``1/m`` each and the next one gets the remaining
    ``(m - floor(m)) / m``:

        CVaR_beta(L) = (1/m) * sum_k min(1, max(0, m - k)) * L_(k),

    where ``L_(0) >= L_(1) >= ...`` are the losses in descending order. For one row this is
    the inner term of the paper's OPAUC surrogate (eq. 12).

    Parameters
    ----------
    losses : array_like of shape (n,) or (n_rows, n)
        Finite losses, one row per (context, positive) pair.
    beta : float
        The level, in (0, 1]. ``beta = 1`` gives the mean.

    Returns
    -------
    float or ndarray of shape (n_rows,)

    Raises
    ------
    ValueError
        If ``beta`` is outside (0, 1] or ``losses`` is empty, not finite, or not 1-D/2-D.

    Notes
    -----
    Ties do not matter: tied losses are interchangeable in the sorted order, so the value
    does not depend on which of them is taken first. ``m`` is computed as ``beta * n`` in
    floating point, so a level such as ``beta = 0.3`` with ``n = 10`` may give
    ``m = 3.0000000000000004`` and a boundary weight of about ``1e-16``.

    References
    ----------
    .. [1] R. T. Rockafellar and S. Uryasev, "Optimization of conditional value-at-risk",
       Journal of Risk 2(3), 2000.
    .. [2] D. Zhu et al., "When AUC meets DRO: Optimizing Partial AUC for Deep Learning with
       Non-Convex Convergence Guarantee", ICML 2022 (Theorem 1).

    Examples
    --------
    >>> cvar([1.0, 4.0, 2.0, 3.0], 0.5)
    3.5
    >>> cvar([1.0, 4.0, 2.0, 3.0], 0.375)  # m = 1.5: (4 + 0.5 * 3) / 1.5
    3.6666666666666665
    """
    rows, one_d = _as_rows("losses", losses)
    beta = check_real("beta", beta, low=0.0, high=1.0, low_open=True)
    n = rows.shape[1]
    desc = -np.sort(-rows, axis=1)
    values = (desc * _cvar_weights(n, beta * n)).sum(axis=1)  # row-wise, batch-independent
    return _out(values, one_d)


def cvar_dual(losses, beta):
    """The Rockafellar-Uryasev dual of CVaR, minimised exactly: ``(value, eta)``.

        value = min_eta  eta + E_P0[(L - eta)_+] / beta,

    with ``P0`` uniform over the row. The objective is convex and piecewise linear in
    ``eta`` with breakpoints at the losses, and its slope is ``1 - 1/beta <= 0`` left of all
    losses and ``1`` right of them, so the minimum is attained at a loss. This function
    evaluates the objective at every loss (a sort and a cumulative sum) and returns the
    smallest value; it does not use the top-``beta`` formula of :func:`cvar`, so the two are
    independent computations of the same number (Lemma 1).

    Parameters
    ----------
    losses : array_like of shape (n,) or (n_rows, n)
    beta : float in (0, 1]

    Returns
    -------
    value : float or ndarray of shape (n_rows,)
    eta : float or ndarray of shape (n_rows,)
        A minimiser, always one of the losses. When the minimiser is not unique (integer
        ``beta * n``, or ``beta = 1``) it is the largest minimising loss up to rounding:
        which of two breakpoints with equal objective wins is decided by floating point.

    Examples
    --------
    >>> cvar_dual([1.0, 4.0, 2.0, 3.0], 0.5)
    (3.5, 3.0)
    """
    rows, one_d = _as_rows("losses", losses)
    beta = check_real("beta", beta, low=0.0, high=1.0, low_open=True)
    n = rows.shape[1]
    desc = -np.sort(-rows, axis=1)
    # eta = desc[:, k]: the k losses above it contribute (sum of them) - k * eta.
    above = np.cumsum(desc, axis=1) - desc  # sum of desc[:, :k]
    k = np.arange(n, dtype=np.float64)
    objective = desc + (above - k * desc) / (n * beta)
    best = np.argmin(objective, axis=1)
    idx = np.arange(rows.shape[0])
    return _out(objective[idx, best], one_d), _out(desc[idx, best], one_d)


# --------------------------------------------------------------------------- KL ball


def _softmax_rows(rows: np.ndarray, inv_tau: np.ndarray) -> np.ndarray:
    """softmax(L * inv_tau) per row, shifted by the row maximum; inv_tau >= 0 per row."""
    z = (rows - rows.max(axis=1, keepdims=True)) * inv_tau[:, None]
    w = np.exp(z)
    return w / w.sum(axis=1, keepdims=True)


def kl_divergence_uniform(weights):
    """``KL(Q || uniform) = log n + sum_j q_j log q_j`` per row (``0 log 0 = 0``).

    Parameters
    ----------
    weights : array_like of shape (n,) or (n_rows, n)
        Non-negative weights summing to one per row (not checked beyond finiteness).

    Returns
    -------
    float or ndarray of shape (n_rows,)
    """
    rows, one_d = _as_rows("weights", weights)
    n = rows.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(rows > 0, rows * np.log(np.where(rows > 0, rows, 1.0)), 0.0)
    return _out(np.log(n) + terms.sum(axis=1), one_d)


def _kl_of_inv_tau(centred: np.ndarray, s: float) -> float:
    """KL(softmax(s * L) || uniform) for one row with max(L) = 0, computed stably."""
    z = s * centred
    w = np.exp(z)
    total = w.sum()
    q = w / total
    return float(np.log(centred.size) + q @ z - np.log(total))


def _kl_worst_row(row: np.ndarray, rho: float) -> tuple[float, np.ndarray, float]:
    n = row.size
    top = row.max()
    centred = row - top
    n_top = int(np.count_nonzero(centred == 0.0))
    # KL(softmax(L / tau)) rises from 0 (tau = inf) to log(n / n_top) (tau -> 0): past that
    # the ball contains the uniform distribution on the argmax set, which is the worst case.
    at_argmax = (float(top), (centred == 0.0).astype(np.float64) / n_top, 0.0)
    if rho >= np.log(n / n_top):
        return at_argmax
    # Root in s = 1/tau: f(s) = KL(s) - rho is increasing (dKL/ds = s Var_Q(L)), f(0) < 0.
    spread = -centred.min()
    gap = -centred[centred < 0.0].max()  # the smallest distance below the maximum
    hi = 1.0 / spread
    while _kl_of_inv_tau(centred, hi) < rho:
        if hi * gap > 1e3 or not np.isfinite(2.0 * hi):
            # exp(hi * centred) is 0 off the argmax: the floating-point KL has reached its
            # limit and still falls short of rho, which lies within rounding of log(n / n_top)
            # (e.g. rho = -log(n_top / n)). The worst case is the argmax limit.
            return at_argmax
        hi *= 2.0
    s = brentq(lambda s: _kl_of_inv_tau(centred, s) - rho, 0.0, hi, xtol=1e-300, rtol=1e-15)
    weights = _softmax_rows(centred[None, :], np.array([s]))[0]
    return float(weights @ row), weights, 1.0 / s


def kl_worst_case(losses, rho):
    """The exact worst case over a KL ball: ``(value, weights, tau)`` (Theorem 2).

        value = sup { E_Q[L] : KL(Q || P0) <= rho },   P0 uniform over the row.

    The supremum is attained by ``Q_j proportional to exp(L_j / tau*)`` with the ``tau*``
    that puts ``Q`` on the boundary, ``KL(Q || P0) = rho``. ``KL`` of the softmax decreases
    strictly in ``tau`` from ``log(n / n_max)`` (``tau -> 0``; ``n_max`` losses equal the
    maximum) to ``0`` (``tau -> inf``), so ``tau*`` is found by a one-dimensional root find
    (Brent's method on ``s = 1 / tau``, to machine precision).

    Parameters
    ----------
    losses : array_like of shape (n,) or (n_rows, n)
    rho : float > 0
        The radius of the KL ball.

    Returns
    -------
    value : float or ndarray of shape (n_rows,)
    weights : ndarray of shape (n,) or (n_rows, n)
        The worst-case distribution, summing to one per row.
    tau : float or ndarray of shape (n_rows,)
        ``tau*``. It is ``0.0`` when ``rho >= log(n / n_max)``: then the ball contains the
        uniform distribution on the maximal losses, which is the worst case (``value`` is the
        maximum loss). A constant row is such a case (``n_max = n``), with uniform weights.

    Notes
    -----
    Rows are solved one at a time (a Python loop over rows), so this is a reference
    implementation for checks and tables, not a training-time sampler.

    Examples
    --------
    >>> value, weights, tau = kl_worst_case([0.0, 1.0], 0.1)
    >>> round(float(value), 6), round(float(tau), 6)
    (0.719795, 1.059947)
    """
    rows, one_d = _as_rows("losses", losses)
    rho = _check_rho(rho)
    values = np.empty(rows.shape[0])
    taus = np.empty(rows.shape[0])
    weights = np.empty_like(rows)
    for r, row in enumerate(rows):
        values[r], weights[r], taus[r] = _kl_worst_row(row, rho)
    if one_d:
        return float(values[0]), weights[0], float(taus[0])
    return values, weights, taus


def taylor_tau(losses, rho):
    """The Softmax-v temperature ``tau = sqrt(Var(L) / (2 rho))`` (paper eq. 15, Alg. 2).

    ``Var`` is the population variance of the row (``ddof = 0``: ``P0`` is uniform over the
    row). It is the second-order approximation of :func:`kl_worst_case`'s ``tau*``; it is not
    exact (see ``proofs_check/check_theorem2.py``).

    Parameters
    ----------
    losses : array_like of shape (n,) or (n_rows, n)
    rho : float > 0

    Returns
    -------
    float or ndarray of shape (n_rows,)
        ``0.0`` for a row of equal losses (zero variance).
    """
    rows, one_d = _as_rows("losses", losses)
    rho = _check_rho(rho)
    return _out(np.sqrt(_row_var(rows) / (2.0 * rho)), one_d)


def _row_var(rows: np.ndarray) -> np.ndarray:
    var = rows.var(axis=1)
    # np.var of a constant row can round to ~1e-33 instead of 0; report it as exactly 0.
    var[np.all(rows == rows[:, :1], axis=1)] = 0.0
    return var


def softmax_v_weights(losses, rho):
    """Softmax-v weights: ``softmax_j(L_j / tau)`` with ``tau = sqrt(Var(L) / (2 rho))``.

    The paper's Softmax-v(rho, N) sampler (Alg. 2) weights the ``N`` drawn negatives of a
    (context, positive) pair this way, with the variance over those ``N`` losses (population
    variance, ``ddof = 0``). Training treats the weights as constants in the gradient.

    Parameters
    ----------
    losses : array_like of shape (n,) or (n_rows, n)
        The losses of the drawn negatives, one row per (context, positive) pair.
    rho : float > 0
        The KL radius; ``rho = -log(beta)`` ties it to OPAUC(beta).

    Returns
    -------
    ndarray of shape (n,) or (n_rows, n)
        Non-negative weights summing to one per row.

    Notes
    -----
    Zero-variance guard: a row whose losses are all equal has ``Var = 0`` and ``tau = 0``,
    and ``L / tau`` would be ``0 / 0``. Such a row gets uniform weights ``1/n``, which is the
    limit of the softmax for any ``tau`` (all logits equal) and the value every ``tau > 0``
    gives. The authors' code has no such guard and produces NaN there. A row is "constant"
    when its entries are exactly equal; a non-constant row with tiny variance gets a tiny
    ``tau`` and concentrates its weight on its largest losses, as the formula says.

    Examples
    --------
    >>> softmax_v_weights([1.0, 1.0, 1.0], 0.5)
    array([0.33333333, 0.33333333, 0.33333333])
    """
    rows, one_d = _as_rows("losses", losses)
    rho = _check_rho(rho)
    var = _row_var(rows)
    constant = var == 0.0
    inv_tau = np.zeros(rows.shape[0])
    inv_tau[~constant] = np.sqrt(2.0 * rho / var[~constant])
    weights = _softmax_rows(rows, inv_tau)  # inv_tau = 0 gives uniform weights
    return weights[0] if one_d else weights


# --------------------------------------------------------------------------- DNS


def dns_weights(scores, m, *, ties="average"):
    """DNS weights: ``1/m`` on each of the ``m`` highest-scored candidates, 0 elsewhere.

    DNS(M, N) (paper eq. 1, Alg. 1) draws ``N`` negatives, keeps the ``M`` with the highest
    scores and averages their losses. Given the drawn candidates' scores, this returns that
    weight vector. Since the BPR loss ``l(r_ci - r_cj)`` increases with ``r_cj``, the top
    ``m`` by score are the top ``m`` by loss, and with all ``n`` negatives drawn these weights
    give ``sum_j w_j L_j = cvar(L, m / n)`` (Theorem 1).

    Parameters
    ----------
    scores : array_like of shape (n,) or (n_rows, n)
        The candidates' scores ``r_cj``, one row per (context, positive) pair.
    m : int
        How many to keep, ``1 <= m <= n``.
    ties : {"average", "index"}, default "average"
        How candidates tied at the boundary (the ``m``-th highest score) share the weight.
        ``"average"``: the ``a`` candidates strictly above the boundary score get ``1/m``
        each, and the ``b`` candidates equal to it share the remaining ``(m - a) / m``
        equally; this is the expectation of the weights under a uniformly random order of
        the tied candidates (the tie rule of the top-K metrics), and it is symmetric in the
        candidates. ``"index"``: the lower index wins a tie (a stable sort), so the weights
        are exactly ``1/m`` on ``m`` candidates.

    Returns
    -------
    ndarray of shape (n,) or (n_rows, n)
        Weights summing to one per row.

    Notes
    -----
    Ties matter only at the boundary: candidates tied strictly above it all get ``1/m``
    under either rule. ``torch.topk`` breaks ties in an unspecified order, so a comparison
    with a torch sampler should use tie-free scores (or the ``"average"`` expectation).

    Examples
    --------
    >>> dns_weights([0.1, 0.9, 0.5, 0.7], 2)
    array([0. , 0.5, 0. , 0.5])
    >>> dns_weights([0.1, 0.9, 0.5, 0.5], 2)
    array([0.  , 0.5 , 0.25, 0.25])
    >>> dns_weights([0.1, 0.9, 0.5, 0.5], 2, ties="index")
    array([0. , 0.5, 0.5, 0. ])
    """
    rows, one_d = _as_rows("scores", scores)
    n = rows.shape[1]
    m = check_int("m", m, low=1, high=n)
    check_choice("ties", ties, ("average", "index"))
    weights = np.zeros_like(rows)
    if ties == "index":
        order = np.argsort(-rows, axis=1, kind="stable")[:, :m]
        np.put_along_axis(weights, order, 1.0 / m, axis=1)
    else:
        boundary = -np.partition(-rows, m - 1, axis=1)[:, m - 1 : m]  # m-th highest score
        above = rows > boundary
        tied = rows == boundary
        n_above = above.sum(axis=1, keepdims=True)
        n_tied = tied.sum(axis=1, keepdims=True)
        weights[above] = 1.0 / m
        share = (m - n_above) / (m * n_tied)
        weights += np.where(tied, share, 0.0)
    return weights[0] if one_d else weights


def dns_expected_weights(scores, m, n_draws):
    """Expected DNS(M, N) weights over the uniform draw of ``N`` of the ``n`` candidates.

    DNS(M, N) draws ``N`` candidates uniformly without replacement and gives ``1/M`` to the
    ``M`` highest-scored of them. For the candidate with ``r`` others scored above it
    (tie-free), it is drawn with probability ``N/n`` and then kept when at most ``M - 1`` of
    the other ``N - 1`` drawn are above it, a hypergeometric event:

        E[w_j] = (1/M) * (N/n) * P(H <= M - 1),   H ~ Hypergeom(n - 1, r, N - 1).

    With ``N = n`` this is :func:`dns_weights`. Comparing ``E[w] @ L`` with
    ``cvar(L, M / N)`` measures the bias of DNS(M, N) against the OPAUC surrogate at
    ``beta = M / N`` when ``N < n`` (Theorem 1 is about ``N = n`` only).

    Parameters
    ----------
    scores : array_like of shape (n,) or (n_rows, n)
        Tie-free scores (ties are broken by the lower index first).
    m : int, ``1 <= m <= n_draws``
    n_draws : int, ``1 <= n_draws <= n``

    Returns
    -------
    ndarray of shape (n,) or (n_rows, n)
        Weights summing to one per row.
    """
    from scipy.stats import hypergeom

    rows, one_d = _as_rows("scores", scores)
    n = rows.shape[1]
    n_draws = check_int("n_draws", n_draws, low=1, high=n)
    m = check_int("m", m, low=1, high=n_draws)
    r = np.arange(n)  # number of candidates above, by descending rank
    keep = hypergeom.cdf(m - 1, n - 1, r, n_draws - 1) if n > 1 else np.ones(1)
    by_rank = keep * (n_draws / n) / m
    order = np.argsort(-rows, axis=1, kind="stable")
    weights = np.empty_like(rows)
    np.put_along_axis(weights, order, np.broadcast_to(by_rank, rows.shape), axis=1)
    return weights[0] if one_d else weights
