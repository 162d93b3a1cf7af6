"""The curve API: correlation of Top-K metrics with Norm_OPAUC(beta), as a function of beta.

:func:`beta_curve` validates its arguments into a plan (the x/y grid and, for Monte Carlo,
the :class:`~.engines.Sampling`), runs one engine (:mod:`.engines` for Pearson, :mod:`.rank`
for Spearman and Kendall) and lays the coefficients out as a table.
:func:`beta_curve_cost` estimates its memory and time from the sizes alone;
:func:`auc_correlation` is the closed form at beta = 1.

Notes
-----
Norm_OPAUC(beta) (McClish) is affine in the raw OPAUC for fixed beta, so it has the same
correlations as the raw area and the pair count; Recall@K and Precision@K are both affine in
hits@K and have identical curves. A coefficient whose variable is constant (e.g. K = n) is
NaN. Monte Carlo intervals: Pearson uses a delete-a-group jackknife over
:data:`~.engines.N_GROUPS` groups; Spearman and Kendall use Fisher's z (:mod:`.rank`).

References
----------
.. [1] W. Shi et al., "On the Theories Behind Hard Negative Sampling for Recommendation",
   WWW 2023, §3.2 and Fig. 6/7.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd

from opauc_sim import _cost
from opauc_sim import rankings as _rankings
from opauc_sim._definitions import discounts
from opauc_sim._validation import (
    SeedLike,
    check_beta,
    check_choice,
    check_int,
    check_real,
    check_sequence,
)
from opauc_sim.correlation.engines import (
    BLOCK,
    DEFAULT_CHUNK,
    N_GROUPS,
    Estimate,
    Grid,
    Sampling,
    exact_pearson,
    mc_pearson,
)
from opauc_sim.correlation.rank import rank_correlation
from opauc_sim.correlation.setting import FIG6

METRICS = ("recall", "precision", "ndcg")
METHODS = ("pearson", "spearman", "kendall")


def fig6_grid(n_neg: int = FIG6.n_neg, n_betas: int = FIG6.n_betas) -> np.ndarray:
    """The paper's beta grid: ``n_betas`` log-spaced values from ``1 / n_neg`` to 1."""
    n_neg = check_int("n_neg", n_neg, low=1)
    n_betas = check_int("n_betas", n_betas, low=2)
    return np.geomspace(1.0 / n_neg, 1.0, n_betas)


# ---------------------------------------------------------------------------------------
# Cost estimates
# ---------------------------------------------------------------------------------------

# The cost model: per-unit times in ns, fitted to beta_curve runs on the project's machine
# (one Numba thread, a shared core) and leaning long. They are the model, not measurements to
# quote: re-fit them when benchmarks/bench_simulation.py moves by more than about 2x.
_NS_EXACT_CELL = 2.5  # exact DP, per (positive, negative + 1, beta, x curve) cell
_NS_MC_RANKING = 300.0  # Monte Carlo, per ranking
_NS_MC_POSITIVE = 13.0  # Monte Carlo, per positive of a ranking
_NS_MC_PAIR = 0.35  # Monte Carlo Pearson, per (x curve, beta) pair of moment sums per ranking
_NS_BINORMAL_ITEM = 40.0  # binormal generation, per item (positives + negatives) per ranking
_NS_KENDALL = 25.0  # Kendall's tau-b, per (x, beta) pair per R log2 R
_NS_SPEARMAN = 10.0  # Spearman, per column per R log2 R
#: Bytes per output row (list of dicts, then the DataFrame), roughly.
_BYTES_PER_ROW = 700


def beta_curve_cost(
    n_pos: int,
    n_neg: int,
    *,
    n_ks: int,
    n_betas: int,
    metrics: Sequence[str] = METRICS,
    method: str = "pearson",
    n_rankings: int = 100_000,
    exact: bool = False,
    generator: str = "uniform",
    chunk_size: int = DEFAULT_CHUNK,
    n_threads: int | None = None,
) -> _cost.Cost:
    """Estimated peak memory and time of :func:`beta_curve`, from the sizes alone.

    Cheap (no array is built), so it can run before a grid of ``n_betas`` values exists.

    Parameters
    ----------
    n_pos, n_neg : int
    n_ks, n_betas : int
        Number of cut-offs and of betas.
    metrics, method, n_rankings, exact, generator, chunk_size, n_threads
        As in :func:`beta_curve`.

    Returns
    -------
    opauc_sim._cost.Cost
        ``bytes`` (within about a factor of two) and ``seconds`` (from this module's cost
        model, the ``_NS_*`` per-unit times).
    """
    n_pos, n_neg, n_ks, n_b = (int(v) for v in (n_pos, n_neg, n_ks, n_betas))
    metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    threads = max(1, int(n_threads) if n_threads else numba.get_num_threads())
    want_hits, want_dcg = _x_layout(metrics)
    n_x = n_ks * (int(want_hits) + int(want_dcg))
    n = n_pos + n_neg
    out = _BYTES_PER_ROW * len(metrics) * n_ks * n_b + 24 * n_b
    if exact:
        conc = max(1, min(threads, n_x))
        mem = 8 * (6 * (n_neg + 1) * (n_b + 1) * conc + n_x * n + n + 4 * n_x * n_b)
        cells = n_pos * (n_neg + 1) * n_b * n_x
        secs = _NS_EXACT_CELL * 1e-9 * cells / conc
        what = f"exact curves, n_pos={n_pos:,} x n_neg={n_neg:,} x {n_b:,} betas x {n_x} curves"
        return _cost.Cost(float(mem + out), secs, what)
    r = int(n_rankings)
    chunk = min(int(chunk_size), max(r, 1))
    mem = 8 * chunk * n_pos + 16 * (n_neg + 1)  # int32 chunk + scratch, the first-table
    if generator == "binormal":
        mem += 16 * n * threads
    if method == "pearson":
        length = 1 + 2 * n_x + 2 * n_b + n_x * n_b
        mem += 8 * length * (-(-chunk // BLOCK) + N_GROUPS) + 8 * n_x * n_b * (3 * N_GROUPS)
        mem += 8 * n_x * n_b * threads
    else:
        mem += 3 * 8 * r * (n_x + n_b)
    per = _NS_MC_RANKING + _NS_MC_POSITIVE * n_pos + _NS_MC_PAIR * n_x * n_b
    if generator == "binormal":
        per += _NS_BINORMAL_ITEM * n
    secs = r * per * 1e-9 / threads
    log_r = math.log2(max(r, 2))
    if method == "kendall":
        secs += _NS_KENDALL * 1e-9 * n_x * n_b * r * log_r
    elif method == "spearman":
        secs += _NS_SPEARMAN * 1e-9 * (n_x + n_b) * r * log_r
    what = (
        f"{r:,} {generator} rankings ({method}), n_pos={n_pos:,}, n_neg={n_neg:,}, "
        f"{n_x} curves x {n_b:,} betas"
    )
    return _cost.Cost(float(mem + out), secs, what)


# ---------------------------------------------------------------------------------------
# beta_curve: validate into a plan, estimate, lay out
# ---------------------------------------------------------------------------------------


def _x_layout(metrics: Sequence[str]) -> tuple[bool, bool]:
    """Which x variables the metrics need: hits@K (Recall, Precision), DCG@K (NDCG)."""
    return any(m in ("recall", "precision") for m in metrics), "ndcg" in metrics


def _check_grid_args(n_pos, n_neg, ks, betas, metrics):
    n_pos = check_int("n_pos", n_pos, low=1)
    n_neg = check_int("n_neg", n_neg, low=1)
    n = n_pos + n_neg
    ks = np.unique(
        np.asarray(check_sequence("ks", ks, lambda nm, v: check_int(nm, v, low=1, high=n)))
    ).astype(np.int64)
    betas = np.unique(np.asarray(check_sequence("betas", betas, check_beta), dtype=np.float64))
    if isinstance(metrics, str):
        metrics = (metrics,)
    metrics = check_sequence("metrics", metrics, lambda nm, v: check_choice(nm, v, METRICS))
    if len(set(metrics)) != len(metrics):
        raise ValueError(f"metrics must not repeat, got {metrics!r}")
    return n_pos, n_neg, ks, betas, tuple(metrics)


def _check_block_multiple(name: str, value: object) -> int:
    value = check_int(name, value, low=BLOCK)
    if value % BLOCK:
        raise ValueError(f"{name} must be a multiple of {BLOCK}, got {value}")
    return value


def _check_executor(executor: object, exact: bool, method: str) -> None:
    if executor is None:
        return
    if not callable(getattr(executor, "map", None)):
        raise TypeError(f"executor must have a map method (an Executor), got {executor!r}")
    if exact or method != "pearson":
        what = "exact=True" if exact else f"method={method!r}"
        raise ValueError(f"executor applies to Monte Carlo Pearson only, got {what}")


def _check_exact(method: str, generator: str, seed: SeedLike) -> None:
    """``exact=True``: uniform rankings, Pearson, and no seed (no ranking is drawn).

    The default ``seed=0`` stands for "not given"; any other seed is refused rather than
    silently ignored."""
    if method != "pearson":
        raise ValueError(f"exact=True supports method='pearson' only, got {method!r}")
    if generator != "uniform":
        raise ValueError(f"exact=True supports generator='uniform' only, got {generator!r}")
    if not (isinstance(seed, int | np.integer) and not isinstance(seed, bool) and seed == 0):
        raise ValueError(f"seed applies to Monte Carlo only (exact=True draws none), got {seed!r}")


@dataclass(frozen=True, eq=False)
class _Plan:
    """A validated :func:`beta_curve` call: what to estimate and how to lay it out."""

    grid: Grid
    betas: np.ndarray
    metrics: tuple[str, ...]
    method: str
    n_threads: int | None
    sampling: Sampling | None  # None: exact


def _plan(
    n_pos,
    n_neg,
    *,
    ks,
    betas,
    metrics,
    method,
    n_rankings,
    exact,
    generator,
    seed,
    mu,
    chunk_size,
    n_threads,
    progress,
    executor,
    task_size,
    also_hits=False,
) -> _Plan:
    """Validate :func:`beta_curve`'s arguments (``also_hits``: compute hits@K even when no
    metric needs it, for its sums), and check the memory estimate before allocating."""
    n_pos, n_neg, ks, betas, metrics = _check_grid_args(n_pos, n_neg, ks, betas, metrics)
    check_choice("method", method, METHODS)
    check_choice("generator", generator, _rankings.GENERATORS)
    mu = check_real("mu", mu)
    if not isinstance(exact, bool | np.bool_):
        raise TypeError(f"exact must be a bool, got {exact!r}")
    chunk_size = _check_block_multiple("chunk_size", chunk_size)
    if not exact:
        n_rankings = check_int("n_rankings", n_rankings, low=2)
    if task_size is not None:
        task_size = _check_block_multiple("task_size", task_size)
    _check_executor(executor, exact, method)
    want_hits, want_dcg = _x_layout(metrics)
    cost_metrics = (*metrics, "recall") if also_hits and not want_hits else metrics
    _cost.check_memory(
        beta_curve_cost(
            n_pos,
            n_neg,
            n_ks=len(ks),
            n_betas=len(betas),
            metrics=cost_metrics,
            method=method,
            n_rankings=n_rankings if not exact else 0,
            exact=bool(exact),
            generator=generator,
            chunk_size=chunk_size,
            n_threads=n_threads,
        )
    )
    ms = np.ascontiguousarray(betas * n_neg)
    grid = Grid(n_pos, n_neg, ks, ms, want_hits or also_hits, want_dcg)
    if exact:
        _check_exact(method, generator, seed)
        return _Plan(grid, betas, metrics, method, n_threads, None)
    sampling = Sampling(grid, n_rankings, generator, mu, seed, chunk_size, n_threads, progress)
    return _Plan(grid, betas, metrics, method, n_threads, sampling)


def _estimate(plan: _Plan, executor: Executor | None, task_size: int | None) -> Estimate:
    """Run the plan's engine: exact Pearson, Monte Carlo Pearson, or a rank correlation."""
    if plan.sampling is None:
        with _rankings.numba_threads(plan.n_threads):
            return exact_pearson(plan.grid)
    if plan.method == "pearson":
        return mc_pearson(plan.sampling, executor=executor, task_size=task_size)
    return rank_correlation(plan.sampling, plan.method)


def _curve_frame(plan: _Plan, est: Estimate) -> pd.DataFrame:
    """One row per (metric, k, beta): the coefficient, and for Monte Carlo its interval."""
    rows = []
    grid = plan.grid
    for metric in plan.metrics:
        offset = 0 if (metric != "ndcg" or not grid.want_hits) else len(grid.ks)
        for a, k in enumerate(grid.ks):
            for b, beta in enumerate(plan.betas):
                row = {
                    "metric": metric,
                    "k": int(k),
                    "beta": float(beta),
                    "corr": float(est.r[offset + a, b]),
                }
                if est.low is not None:
                    row["ci_low"] = float(est.low[offset + a, b])
                    row["ci_high"] = float(est.high[offset + a, b])
                    row["n_rankings"] = plan.sampling.n_rankings
                rows.append(row)
    return pd.DataFrame(rows)


def beta_curve(
    n_pos: int,
    n_neg: int,
    *,
    ks: Sequence[int],
    betas: Sequence[float],
    metrics: Sequence[str] = METRICS,
    method: str = "pearson",
    n_rankings: int = 100_000,
    exact: bool = False,
    generator: str = "uniform",
    seed: SeedLike = 0,
    mu: float = 0.0,
    chunk_size: int = DEFAULT_CHUNK,
    n_threads: int | None = None,
    progress: bool = False,
    executor: Executor | None = None,
    task_size: int | None = None,
) -> pd.DataFrame:
    """Correlation, across random rankings, between Top-K metrics and Norm_OPAUC(beta).

    Parameters
    ----------
    n_pos, n_neg : int
        Positives and negatives per ranking, each >= 1.
    ks : sequence of int
        Cut-offs in ``[1, n_pos + n_neg]`` (sorted and de-duplicated).
    betas : sequence of float
        OPAUC levels in ``(0, 1]`` (sorted and de-duplicated); include 1 for AUC.
    metrics : sequence of {"recall", "precision", "ndcg"}
    method : {"pearson", "spearman", "kendall"}
        Pearson streams in O(1) memory in ``n_rankings``. Spearman (average ranks for ties)
        and Kendall's tau-b keep every value: ``8 * n_rankings * (len(betas) + len(ks) *
        (1 + ("ndcg" in metrics)))`` bytes. Kendall calls ``scipy.stats.kendalltau`` per
        (x, beta) pair, ``O(n_rankings log n_rankings)`` each: keep it to ~1e5 rankings.
    n_rankings : int, default 100000
        Monte Carlo sample size (>= 2; the jackknife CI needs >= 2 * 64 rankings).
    exact : bool, default False
        Exact Pearson for uniform rankings, with no sampling: ``n_rankings`` is ignored, and
        a ``seed`` other than the default is refused. Cost ``O(n_pos * n_neg * len(betas))``
        per (metric, K).
    generator : {"uniform", "binormal"}
        How rankings are drawn (:mod:`opauc_sim.rankings`); ``mu`` is the binormal
        separation.
    seed : int, SeedSequence, Generator or None, default 0
    mu : float, default 0.0
    chunk_size, n_threads, task_size : int, int or None, int or None
        Rankings generated per step (a multiple of 64), Numba threads (None: Numba's
        setting), and rankings per executor task (a multiple of 64; default about
        ``n_rankings / 64``, at least ``chunk_size``). None of them changes the result.
    progress : bool, default False
        Show a tqdm progress bar over rankings.
    executor : concurrent.futures.Executor, optional
        Monte Carlo Pearson only: compute the rankings' block sums in this executor's
        tasks (e.g. :meth:`opauc_sim.distributed.DaskCluster.executor`), split by ranking
        index, and merge them here in block order. Bit-identical to ``executor=None``.

    Returns
    -------
    pandas.DataFrame
        One row per (metric, k, beta), metrics in the order given, then ascending k and
        beta. Columns ``metric, k, beta, corr``; for Monte Carlo also ``ci_low, ci_high``
        (95%) and ``n_rankings``. Notes and references: :mod:`opauc_sim.correlation.curves`.

    Raises
    ------
    TypeError, ValueError
        A bad size, grid, metric, method or generator (naming the argument), ``chunk_size``
        not a multiple of 64, or ``exact=True`` with a method other than Pearson, a
        non-uniform generator or a seed.
    opauc_sim._cost.ResourceError
        (a ``ValueError``) The estimate of :func:`beta_curve_cost` exceeds the memory
        available; checked before anything large is allocated.

    Examples
    --------
    >>> df = beta_curve(20, 80, ks=[5], betas=[0.05, 1.0], metrics=["recall"], exact=True)
    >>> df["corr"].round(3).tolist()
    [0.872, 0.378]
    """
    plan = _plan(
        n_pos,
        n_neg,
        ks=ks,
        betas=betas,
        metrics=metrics,
        method=method,
        n_rankings=n_rankings,
        exact=exact,
        generator=generator,
        seed=seed,
        mu=mu,
        chunk_size=chunk_size,
        n_threads=n_threads,
        progress=progress,
        executor=executor,
        task_size=task_size,
    )
    return _curve_frame(plan, _estimate(plan, executor, task_size))


def auc_correlation(n_pos: int, n_neg: int, k: int, metric: str = "recall") -> float:
    """Closed form of the correlation between a Top-K metric and AUC over uniform rankings.

    AUC is affine in the rank sum ``sum_i p_i`` (Mann-Whitney), and hits@K, DCG@K are sums
    over the positives of a function ``f`` of the rank. For a uniformly random n_pos-subset
    of ranks (sampling without replacement) the covariance of two such sums is the same
    multiple of the population covariance of the functions over ``r = 0..n-1``, so

        corr(metric@K, AUC) = -corr_r(f(r), r),   f(r) = 1[r < K] or 1[r < K] / log2(r + 2),

    independent of n_pos given n. For Recall/Precision this is about ``sqrt(3 q (1 - q))``
    with ``q = K / n``. No such reduction exists for beta < 1, where ``a_i = p_i - i``
    couples the positives (hence the dynamic programme).

    Examples
    --------
    >>> round(auc_correlation(200, 800, 5), 6)
    0.122168
    """
    n_pos = check_int("n_pos", n_pos, low=1)
    n_neg = check_int("n_neg", n_neg, low=1)
    n = n_pos + n_neg
    k = check_int("k", k, low=1, high=n)
    check_choice("metric", metric, METRICS)
    r = np.arange(n, dtype=np.float64)
    f = (r < k).astype(np.float64)
    if metric == "ndcg":
        f = f * discounts(n)
    fc = f - f.mean()
    rc = r - r.mean()
    denom = math.sqrt(float((fc * fc).sum() * (rc * rc).sum()))
    return float("nan") if denom == 0 else float(-(fc * rc).sum() / denom)
