"""The studies of ``opauc-sim simulate``: Fig. 6, coefficients, binormal rankings, peak law.

Each ``*_study`` function computes one study and returns a :class:`Study`: its tables, the
parameters and seed that produced them, timings, and a plain-text report. The command line
checks the ``*_cost`` estimate first, then saves the study and prints its report.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from opauc_sim import _cost
from opauc_sim._validation import SeedLike, as_seed_sequence, check_real, check_sequence
from opauc_sim.correlation import report
from opauc_sim.correlation.analyses import check_paper_claims, fit_peak_law, peak_beta, peak_law
from opauc_sim.correlation.curves import (
    METRICS,
    _curve_frame,
    _estimate,
    _plan,
    beta_curve,
    beta_curve_cost,
    fig6_grid,
)
from opauc_sim.correlation.engines import DEFAULT_CHUNK
from opauc_sim.correlation.setting import FIG6

#: (n_pos, n_neg) settings of the peak-law study; K runs over LAW_KS up to n_neg / 4.
LAW_SIZES = [
    (50, 200),
    (100, 400),
    (200, 800),
    (400, 1600),
    (100, 900),
    (500, 500),
    (50, 950),
    (300, 700),
]
LAW_KS = [1, 2, 5, 10, 20, 50, 100, 200]
#: The metrics of the binormal and peak-law studies (Precision@K has Recall@K's curve).
_RECALL_NDCG = ("recall", "ndcg")
#: The coefficients of the methods study, Pearson computed exactly.
_COEFFICIENTS = ("pearson", "spearman", "kendall")


@dataclass
class Study:
    """A computed study: what :func:`save` writes, and the report to print.

    ``tables`` maps result names to frames; several are saved as one result set (read back
    only whole), a single one as a plain result.
    """

    name: str
    tables: dict[str, pd.DataFrame]
    params: dict[str, Any]
    report: str
    seed: SeedLike = None
    extra: dict[str, Any] = field(default_factory=dict)

    def save(self, results_dir: str | Path) -> list[Path]:
        """Write the tables and their sidecars into ``results_dir``; return the CSV paths."""
        from opauc_sim.results_cache import save_result, save_result_set

        kw = dict(params=self.params, seed=self.seed, results_dir=results_dir, extra=self.extra)
        if len(self.tables) == 1:
            ((name, table),) = self.tables.items()
            return [save_result(table, name, **kw)]
        return save_result_set(self.tables, self.name, **kw)


def _fig6_sizes() -> dict[str, Any]:
    """The sizes of the Fig. 6 setting, as the studies record them in their parameters."""
    return {"n_pos": FIG6.n_pos, "n_neg": FIG6.n_neg, "ks": list(FIG6.ks)}


# ---------------------------------------------------------------------------------------
# Fig. 6: Monte Carlo and exact
# ---------------------------------------------------------------------------------------


def fig6_cost(
    *, n_rankings: int, n_betas: int = FIG6.n_betas, exact: bool = True, n_threads=None
) -> _cost.Cost:
    """Estimated memory and time of :func:`fig6_study`."""
    size = dict(n_ks=len(FIG6.ks), n_betas=n_betas, n_threads=n_threads)
    cost = beta_curve_cost(FIG6.n_pos, FIG6.n_neg, **size, n_rankings=n_rankings)
    if exact:
        cost = cost + beta_curve_cost(FIG6.n_pos, FIG6.n_neg, **size, exact=True)
    return cost


def fig6_study(
    *,
    n_rankings: int = 100_000,
    n_betas: int = FIG6.n_betas,
    seed: SeedLike = 0,
    exact: bool = True,
    n_threads: int | None = None,
    progress: bool = False,
    executor: Executor | None = None,
) -> Study:
    """The paper's Fig. 6/7 (:data:`~.curves.FIG6`): Monte Carlo and exact curves, their
    peaks and the checks of the paper's claims, each table with a ``source`` column."""
    kw = dict(ks=FIG6.ks, betas=fig6_grid(FIG6.n_neg, n_betas), n_threads=n_threads)
    t0 = time.perf_counter()
    mc = beta_curve(
        FIG6.n_pos,
        FIG6.n_neg,
        **kw,
        n_rankings=n_rankings,
        seed=seed,
        progress=progress,
        executor=executor,
    )
    t_mc = time.perf_counter() - t0
    curves = {"monte_carlo": mc}
    t_exact = float("nan")
    if exact:
        t0 = time.perf_counter()
        curves["exact"] = beta_curve(FIG6.n_pos, FIG6.n_neg, **kw, exact=True)
        t_exact = time.perf_counter() - t0
    curve = pd.concat(
        [
            c.assign(source=s, **({} if s == "monte_carlo" else {"n_rankings": pd.NA}))
            for s, c in curves.items()
        ],
        ignore_index=True,
    )
    curve = curve[["source", *[c for c in curve.columns if c != "source"]]]
    peaks = {s: peak_beta(c) for s, c in curves.items()}
    claims = pd.concat(
        [check_paper_claims(c).assign(source=s) for s, c in curves.items()], ignore_index=True
    )
    params = {
        **_fig6_sizes(),
        "betas": f"geomspace(1/{FIG6.n_neg}, 1, {n_betas})",
        "metrics": list(METRICS),
        "method": "pearson",
        "n_rankings": n_rankings,
        "generator": "uniform",
    }
    tables = {
        "fig6_curves": curve,
        "fig6_peaks": pd.concat([p.assign(source=s) for s, p in peaks.items()], ignore_index=True),
        "fig6_claims": claims,
    }
    text = report.fig6_report(peaks, claims, n_rankings, n_betas, t_mc, t_exact)
    timing = {"monte_carlo_s": round(t_mc, 3), "exact_s": round(t_exact, 3)}
    return Study("fig6", tables, params, text, seed=seed, extra={"timing": timing})


# ---------------------------------------------------------------------------------------
# The Fig. 6 setting under Pearson (exact), Spearman and Kendall
# ---------------------------------------------------------------------------------------


def methods_cost(*, n_rankings: int, n_betas: int = FIG6.n_betas) -> _cost.Cost:
    """Estimated memory and time of :func:`methods_study`."""
    size = dict(n_ks=len(FIG6.ks), n_betas=n_betas)
    cost = beta_curve_cost(FIG6.n_pos, FIG6.n_neg, **size, exact=True)
    for method in _COEFFICIENTS[1:]:
        cost = cost + beta_curve_cost(
            FIG6.n_pos, FIG6.n_neg, **size, method=method, n_rankings=n_rankings
        )
    return cost


def methods_study(
    *,
    n_rankings: int = 100_000,
    n_betas: int = FIG6.n_betas,
    seed: SeedLike = 0,
    n_threads: int | None = None,
    progress: bool = False,
) -> Study:
    """The Fig. 6 setting under each coefficient (Spearman and Kendall on the same Monte
    Carlo rankings): do the paper's claims depend on the coefficient?"""
    kw = dict(ks=FIG6.ks, betas=fig6_grid(FIG6.n_neg, n_betas), metrics=METRICS)
    curves, timing = [], {}
    for method in _COEFFICIENTS:
        t0 = time.perf_counter()
        if method == "pearson":
            c = beta_curve(FIG6.n_pos, FIG6.n_neg, **kw, exact=True, n_threads=n_threads)
            c["n_rankings"] = pd.NA
        else:
            c = beta_curve(
                FIG6.n_pos,
                FIG6.n_neg,
                **kw,
                method=method,
                n_rankings=n_rankings,
                seed=seed,
                n_threads=n_threads,
                progress=progress,
            )
        timing[method] = round(time.perf_counter() - t0, 2)
        curves.append(c.assign(method=method if method != "pearson" else "pearson (exact)"))
    curve = pd.concat(curves, ignore_index=True)
    curve = curve[["method", *[c for c in curve.columns if c != "method"]]]
    peaks, claims = [], []
    for method, part in curve.groupby("method", sort=False):
        body = part.drop(columns="method")
        peaks.append(peak_beta(body).assign(method=method))
        claims.append(check_paper_claims(body).assign(method=method))
    peaks = pd.concat(peaks, ignore_index=True)
    claims = pd.concat(claims, ignore_index=True)
    params = {
        **_fig6_sizes(),
        "n_betas": n_betas,
        "n_rankings": n_rankings,
        "methods": ["pearson (exact)", "spearman", "kendall"],
    }
    tables = {"fig6_methods_curves": curve, "fig6_methods_claims": claims}
    text = report.methods_report(peaks, claims, timing)
    return Study("fig6_methods", tables, params, text, seed=seed, extra={"seconds": timing})


# ---------------------------------------------------------------------------------------
# Binormal rankings: how the peak moves with ranking quality
# ---------------------------------------------------------------------------------------


def _spawned(seed: SeedLike, n: int) -> list[np.random.SeedSequence]:
    """The children ``SeedSequence.spawn`` would give, built without spawning: spawn()
    advances the caller's SeedSequence (or Generator), so a second call with the same
    object would silently draw other rankings."""
    base = as_seed_sequence(seed)
    return [
        np.random.SeedSequence(
            base.entropy, spawn_key=(*base.spawn_key, i), pool_size=base.pool_size
        )
        for i in range(n)
    ]


def _binormal_one(mu, seed, n_pos, n_neg, ks, betas, metrics, n_rankings, progress):
    """One mu's curve and peaks; the mean negatives in the top K come from the curve's own
    Monte Carlo sums of hits@K (the rankings are drawn once)."""
    from scipy.stats import norm

    plan = _plan(
        n_pos,
        n_neg,
        ks=ks,
        betas=betas,
        metrics=metrics,
        method="pearson",
        n_rankings=n_rankings,
        exact=False,
        generator="binormal",
        seed=seed,
        mu=mu,
        chunk_size=DEFAULT_CHUNK,
        n_threads=None,
        progress=progress,
        executor=None,
        task_size=None,
        also_hits=True,
    )
    est = _estimate(plan, None, None)
    c = _curve_frame(plan, est)
    c.insert(0, "mu", mu)
    p = peak_beta(c.drop(columns="mu"))
    p.insert(0, "mu", mu)
    p["expected_auc"] = float(norm.cdf(mu / math.sqrt(2)))
    ks = plan.grid.ks
    hits_sum = est.x_sums[: len(ks)]  # hits@K come first in x
    neg_top = dict(zip(ks.tolist(), ks - hits_sum / n_rankings, strict=True))
    p["neg_in_top_k"] = p["k"].map(neg_top)
    p["m_peak_over_neg_in_top_k"] = p["beta"] * n_neg / p["neg_in_top_k"]
    return c, p


def binormal_study(
    mus: Sequence[float],
    n_pos: int,
    n_neg: int,
    *,
    ks: Sequence[int],
    betas: Sequence[float],
    metrics: Sequence[str] = _RECALL_NDCG,
    n_rankings: int = 20_000,
    seed: SeedLike = 0,
    progress: bool = False,
    callback: Callable[[float], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """How the peak moves as ranking quality grows: binormal rankings for each ``mu``.

    Each ``mu`` gets an independent stream spawned from ``seed``. Returns ``(curves,
    peaks)``: the concatenated :func:`beta_curve` results and :func:`peak_beta` tables, each
    with a ``mu`` column; ``peaks`` also has the expected AUC ``Phi(mu / sqrt(2))``, the mean
    number of negatives in the top K over the same rankings (``neg_in_top_k``) and the peak
    cut ``beta * n_neg`` divided by it (``m_peak_over_neg_in_top_k``).
    """
    mus = check_sequence("mus", mus, check_real)
    curves, peaks = [], []
    for mu, ss in zip(mus, _spawned(seed, len(mus)), strict=True):
        c, p = _binormal_one(mu, ss, n_pos, n_neg, ks, betas, metrics, n_rankings, progress)
        curves.append(c)
        peaks.append(p)
        if callback is not None:
            callback(mu)
    return pd.concat(curves, ignore_index=True), pd.concat(peaks, ignore_index=True)


def binormal_cost(*, mus: Sequence[float], n_rankings: int, n_betas: int) -> _cost.Cost:
    """Estimated memory and time of :func:`binormal_run`: one curve per mu."""
    one = beta_curve_cost(
        FIG6.n_pos,
        FIG6.n_neg,
        n_ks=len(FIG6.ks),
        n_betas=n_betas,
        metrics=_RECALL_NDCG,
        n_rankings=n_rankings,
        generator="binormal",
    )
    runs = len(mus)
    return _cost.Cost(one.bytes, runs * one.seconds, f"{runs} x ({one.what})")


def binormal_run(
    *,
    mus: Sequence[float],
    n_rankings: int = 20_000,
    n_betas: int = FIG6.n_betas,
    seed: SeedLike = 0,
    progress: bool = False,
) -> Study:
    """:func:`binormal_study` in the Fig. 6 setting, Recall and NDCG."""
    t0 = time.perf_counter()
    curves, peaks = binormal_study(
        mus,
        FIG6.n_pos,
        FIG6.n_neg,
        ks=FIG6.ks,
        betas=fig6_grid(FIG6.n_neg, n_betas),
        metrics=_RECALL_NDCG,
        n_rankings=n_rankings,
        seed=seed,
        progress=progress,
    )
    elapsed = time.perf_counter() - t0
    params = {
        **_fig6_sizes(),
        "mus": list(mus),
        "n_betas": n_betas,
        "n_rankings": n_rankings,
        "generator": "binormal",
    }
    tables = {"binormal_curves": curves, "binormal_peaks": peaks}
    return Study(
        "binormal",
        tables,
        params,
        report.binormal_report(peaks, curves),
        seed=seed,
        extra={"seconds": round(elapsed, 2)},
    )


# ---------------------------------------------------------------------------------------
# The peak law
# ---------------------------------------------------------------------------------------


def peak_law_study(*, progress: bool = False) -> Study:
    """Exact peak beta over the (n_pos, n_neg) of :data:`LAW_SIZES` and the K of
    :data:`LAW_KS` up to ``n_neg / 4`` (read when called), and the fitted law."""
    configs = [(p, n, k) for p, n in LAW_SIZES for k in LAW_KS if k <= n // 4]
    t0 = time.perf_counter()
    law = peak_law(configs, metrics=_RECALL_NDCG, progress=progress)
    elapsed = time.perf_counter() - t0
    fit = fit_peak_law(law)
    params = {
        "sizes": LAW_SIZES,
        "ks": LAW_KS,
        "metrics": list(_RECALL_NDCG),
        "method": "exact pearson, coarse 41 + fine 41 log-spaced betas",
    }
    text = f"{len(configs)} settings, {elapsed:.1f} s\n{report.format_frame(fit)}"
    extra = {"fit": fit.to_dict("records"), "seconds": round(elapsed, 2)}
    return Study("peak_law", {"peak_law": law}, params, text, extra=extra)
