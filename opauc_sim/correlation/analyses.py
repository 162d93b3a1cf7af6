"""Analyses of correlation curves: where they peak, the paper's claims, the peak law."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from opauc_sim._validation import check_choice, check_sequence
from opauc_sim.correlation.curves import METRICS, beta_curve, fig6_grid
from opauc_sim.correlation.engines import progress_bar

#: The claims of the paper's simulation that :func:`check_paper_claims` checks: the stable
#: key recorded in its ``claim`` column (what tests and readers select by), and the claim.
CLAIMS = {
    "peak": "each curve has an interior peak (not at either end of the beta grid)",
    "peak_order": "smaller K peaks at smaller (or equal) beta, for each metric",
    "peak_above": "the correlation at the peak exceeds the peak threshold (0.8)",
    "auc_below": "the correlation at beta = 1 (AUC) is below the AUC threshold (0.4)",
    "ndcg_left": "left of the peak, NDCG@K decays more slowly than Recall@K",
    "recall_eq_precision": "the Recall@K and Precision@K curves coincide",
}


def peak_beta(curve: pd.DataFrame) -> pd.DataFrame:
    """Where each (metric, K) curve peaks.

    Parameters
    ----------
    curve : pandas.DataFrame
        Output of :func:`~opauc_sim.correlation.beta_curve` (columns ``metric, k, beta,
        corr``).

    Returns
    -------
    pandas.DataFrame
        One row per (metric, k), in order of appearance: ``beta`` and ``corr`` at the grid
        maximum (the first one if tied; NaN values ignored), ``corr_at_1`` (the correlation
        at beta = 1, i.e. with AUC; NaN if 1 is not in the grid), ``interior`` (the peak is
        neither the smallest nor the largest beta of the grid), and, for Monte Carlo
        curves, ``ci_low, ci_high`` at the peak. The peak is located to the grid's
        resolution.

    Examples
    --------
    >>> c = pd.DataFrame({"metric": "recall", "k": 5, "beta": [0.1, 0.5, 1.0],
    ...                   "corr": [0.5, 0.9, 0.3]})
    >>> peak_beta(c).to_dict("records")
    [{'metric': 'recall', 'k': 5, 'beta': 0.5, 'corr': 0.9, 'corr_at_1': 0.3, 'interior': True}]
    """
    missing = {"metric", "k", "beta", "corr"} - set(curve.columns)
    if missing:
        raise ValueError(f"curve lacks columns {sorted(missing)}")
    rows = []
    for (metric, k), part in curve.groupby(["metric", "k"], sort=False):
        part = part.sort_values("beta")
        corr = part["corr"].to_numpy()
        if np.all(np.isnan(corr)):
            continue
        i = int(np.nanargmax(corr))
        at_one = part.loc[part["beta"] == 1.0, "corr"]
        row = {
            "metric": metric,
            "k": int(k),
            "beta": float(part["beta"].iloc[i]),
            "corr": float(corr[i]),
            "corr_at_1": float(at_one.iloc[0]) if len(at_one) else float("nan"),
            "interior": bool(0 < i < len(corr) - 1),
        }
        if "ci_low" in part:
            row["ci_low"] = float(part["ci_low"].iloc[i])
            row["ci_high"] = float(part["ci_high"].iloc[i])
        rows.append(row)
    columns = ["metric", "k", "beta", "corr", "corr_at_1", "interior"]
    columns += ["ci_low", "ci_high"] if "ci_low" in curve else []
    # Every curve all-NaN (e.g. too few rankings to vary): no peak, but the same columns.
    return pd.DataFrame(rows, columns=columns)


# ---------------------------------------------------------------------------------------
# The paper's claims
# ---------------------------------------------------------------------------------------


def _check(claim: str, scope: str, holds, value, detail: str) -> dict:
    """One record of :func:`check_paper_claims`; ``claim`` is a key of :data:`CLAIMS`."""
    if claim not in CLAIMS:
        raise KeyError(f"unknown claim key {claim!r}")
    return {"claim": claim, "scope": scope, "holds": holds, "value": value, "detail": detail}


def _left_ratio(part: pd.DataFrame, factor: float) -> float:
    """corr(beta_peak / factor) / corr(beta_peak), interpolated on log beta; NaN off grid."""
    part = part.sort_values("beta")
    beta = part["beta"].to_numpy()
    corr = part["corr"].to_numpy()
    i = int(np.nanargmax(corr))
    target = beta[i] / factor
    if target < beta[0]:
        return float("nan")
    return float(np.interp(np.log(target), np.log(beta), corr) / corr[i])


def _peak_checks(peaks: pd.DataFrame, beta_min: float) -> list[dict]:
    """``peak``: one check per curve; ``peak_order``: one per metric."""
    rows = []
    for p in peaks.itertuples():
        where = f"peak at beta={p.beta:.4g} (corr {p.corr:.3f})"
        if not p.interior and p.beta == beta_min:
            where += "; the maximum is the grid's lower end (curve decreasing on the grid)"
        rows.append(_check("peak", f"{p.metric}@{p.k}", bool(p.interior), p.beta, where))
    for metric, part in peaks.groupby("metric", sort=False):
        part = part.sort_values("k")
        b = part["beta"].to_numpy()
        by_k = ", ".join(f"{k}:{v:.4g}" for k, v in zip(part["k"], b, strict=True))
        ok, strict = bool(np.all(np.diff(b) >= 0)), float(np.all(np.diff(b) > 0))
        rows.append(_check("peak_order", metric, ok, strict, "peak beta by K: " + by_k))
    return rows


def _level_checks(peaks: pd.DataFrame, peak_threshold: float, auc_threshold: float) -> list:
    """``peak_above`` and ``auc_below``, per curve."""
    rows = []
    for p in peaks.itertuples():
        scope = f"{p.metric}@{p.k}"
        detail = f"corr at peak {p.corr:.3f} vs {peak_threshold}"
        rows.append(_check("peak_above", scope, bool(p.corr > peak_threshold), p.corr, detail))
        if np.isnan(p.corr_at_1):
            rows.append(_check("auc_below", scope, np.nan, np.nan, "beta = 1 is not in the grid"))
            continue
        detail = f"corr at beta=1 {p.corr_at_1:.3f} vs {auc_threshold}"
        holds = bool(p.corr_at_1 < auc_threshold)
        rows.append(_check("auc_below", scope, holds, p.corr_at_1, detail))
    return rows


def _shape_checks(curve: pd.DataFrame, left_factor: float) -> list[dict]:
    """``ndcg_left`` per K > 1 and ``recall_eq_precision``, when the metrics are there."""
    rows = []
    metrics = set(curve["metric"])
    if {"ndcg", "recall"} <= metrics:
        for k in sorted(set(curve["k"])):
            if k == 1:
                continue
            nd = _left_ratio(curve[(curve.metric == "ndcg") & (curve.k == k)], left_factor)
            rc = _left_ratio(curve[(curve.metric == "recall") & (curve.k == k)], left_factor)
            if np.isnan(nd) or np.isnan(rc):
                detail = "peak too close to the grid start"
                rows.append(_check("ndcg_left", f"k={k}", np.nan, np.nan, detail))
                continue
            detail = f"corr/peak at beta_peak/{left_factor:g}: ndcg {nd:.3f}, recall {rc:.3f}"
            rows.append(_check("ndcg_left", f"k={k}", bool(nd >= rc), nd - rc, detail))
    if {"recall", "precision"} <= metrics:
        a = curve[curve.metric == "recall"].sort_values(["k", "beta"])["corr"].to_numpy()
        b = curve[curve.metric == "precision"].sort_values(["k", "beta"])["corr"].to_numpy()
        diff = float(np.nanmax(np.abs(a - b)))
        detail = f"max |corr_recall - corr_precision| = {diff:.2g}"
        rows.append(_check("recall_eq_precision", "all K, beta", bool(diff <= 1e-12), diff, detail))
    return rows


def _summary(table: pd.DataFrame) -> pd.DataFrame:
    """One ``scope="all"`` row per claim: holds iff every applicable check holds."""
    rows = []
    for claim, part in table.groupby("claim", sort=False):
        valid = part["holds"].dropna()
        n_ok = int(sum(bool(v) for v in valid))
        rows.append(
            {
                "claim": claim,
                "scope": "all",
                # A claim none of whose checks applies is not applicable (NaN), not true.
                "holds": bool(n_ok == len(valid)) if len(valid) else np.nan,
                "value": n_ok / len(valid) if len(valid) else np.nan,
                "detail": f"{n_ok} of {len(valid)} checks hold"
                if len(valid)
                else "not applicable on this curve",
            }
        )
    return pd.DataFrame(rows)


def check_paper_claims(
    curve: pd.DataFrame,
    *,
    peak_threshold: float = 0.8,
    auc_threshold: float = 0.4,
    left_factor: float = 4.0,
) -> pd.DataFrame:
    """Check the claims of the paper's simulation on a :func:`beta_curve` result.

    Claims (docs/experiments.md; their stable keys are those of :data:`CLAIMS`), each
    evaluated per (metric, K) or per metric, and summarised:

    1. ``peak``: each curve has an interior peak (not at either end of the beta grid). For
       K = 1 it cannot: hits@1 = 1[a_0 = 0] and, for beta <= 1/n_neg,
       C(beta) = beta * n_neg * #{i: a_i = 0}, so the curve is flat on (0, 1/n_neg] and its
       maximum is that plateau, the lower end of the paper's grid.
    2. ``peak_order``: smaller K peaks at smaller (or equal) beta, for each metric.
    3. ``peak_above``: the correlation at the peak exceeds ``peak_threshold`` (0.8).
    4. ``auc_below``: the correlation at beta = 1 (AUC) is below ``auc_threshold`` (0.4).
    5. ``ndcg_left``: left of the peak NDCG@K decays more slowly than Recall@K: at
       ``beta_peak / left_factor`` the NDCG curve keeps a larger fraction of its peak value
       (each curve at its own peak; K = 1 is excluded, where NDCG@1 = Recall@1).
    6. ``recall_eq_precision``: the Recall@K and Precision@K curves coincide.

    Parameters
    ----------
    curve : pandas.DataFrame
        From :func:`beta_curve`, with metrics recall, precision and ndcg and beta = 1.
    peak_threshold, auc_threshold : float
    left_factor : float, default 4
        How far left of the peak the decay is compared (a factor on beta).

    Returns
    -------
    pandas.DataFrame
        Columns ``claim, scope, holds, value, detail``; ``claim`` is the claim's stable key.
        One row per check, then one ``scope="all"`` row per claim that holds iff all its
        checks hold (checks that do not apply, with ``holds`` NaN, are left out; a claim
        with no applicable check has ``holds`` NaN). ``auc_below`` needs beta = 1 in the
        grid.
    """
    peaks = peak_beta(curve)
    rows = _peak_checks(peaks, float(curve["beta"].min()))
    rows += _level_checks(peaks, peak_threshold, auc_threshold)
    rows += _shape_checks(curve, left_factor)
    table = pd.DataFrame(rows)
    return pd.concat([table, _summary(table)], ignore_index=True)


# ---------------------------------------------------------------------------------------
# The peak law
# ---------------------------------------------------------------------------------------


def _exact_peak(
    n_pos: int,
    n_neg: int,
    k: int,
    metric: str,
    coarse_curve: pd.DataFrame,
    coarse: np.ndarray,
    n_fine: int,
) -> dict:
    """Refine one coarse exact curve's maximum on a fine log grid between its neighbours."""
    part = coarse_curve[coarse_curve.metric == metric].sort_values("beta")
    i = int(np.nanargmax(part["corr"].to_numpy()))
    fine = np.geomspace(coarse[max(i - 1, 0)], coarse[min(i + 1, len(coarse) - 1)], n_fine)
    fc = beta_curve(n_pos, n_neg, ks=[k], betas=fine, metrics=[metric], exact=True)
    j = int(np.nanargmax(fc["corr"].to_numpy()))
    return {
        "n_pos": n_pos,
        "n_neg": n_neg,
        "k": k,
        "metric": metric,
        "beta_peak": float(fc["beta"].iloc[j]),
        "corr_peak": float(fc["corr"].iloc[j]),
        "corr_auc": float(part["corr"].iloc[-1]),
        "k_over_n_neg": k / n_neg,
        "k_over_n": k / (n_pos + n_neg),
    }


def peak_law(
    configs: Sequence[tuple[int, int, int]],
    *,
    metrics: Sequence[str] = ("recall", "ndcg"),
    n_coarse: int = 41,
    n_fine: int = 41,
    progress: bool = False,
) -> pd.DataFrame:
    """Exact peak beta for each ``(n_pos, n_neg, K)``, located by a coarse-to-fine grid.

    A coarse log grid of ``n_coarse`` betas over ``[1/n_neg, 1]`` brackets the peak; a fine
    log grid of ``n_fine`` betas between the coarse neighbours of the maximum locates it to
    about ``(coarse step)^(2 / (n_fine - 1))``. Uniform rankings, exact Pearson.

    Returns
    -------
    pandas.DataFrame
        Columns ``n_pos, n_neg, k, metric, beta_peak, corr_peak, corr_auc, k_over_n_neg,
        k_over_n``.
    """
    metrics = check_sequence("metrics", metrics, lambda nm, v: check_choice(nm, v, METRICS))
    rows = []
    configs = list(configs)
    bar = progress_bar(progress, len(configs), desc="settings (n_pos, n_neg, K)", unit="setting")
    for n_pos, n_neg, k in configs:
        coarse = np.unique(np.concatenate((fig6_grid(n_neg, n_coarse), [1.0])))
        cc = beta_curve(n_pos, n_neg, ks=[k], betas=coarse, metrics=metrics, exact=True)
        rows += [_exact_peak(n_pos, n_neg, k, m, cc, coarse, n_fine) for m in metrics]
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return pd.DataFrame(rows)


def fit_peak_law(law: pd.DataFrame, *, min_k: int = 2) -> pd.DataFrame:
    """Fit ``beta_peak = c * (K / scale)^b`` per metric, for scale n and n_neg, K >= min_k.

    K = 1 is left out by default: its curve is flat for ``beta <= 1/n_neg``, where
    ``C(beta) = beta * n_neg * #{positives above every negative}`` and hits@1 = 1[p_0 = 0],
    so its "peak" is the grid's lower end.

    Parameters
    ----------
    law : pandas.DataFrame
        From :func:`peak_law`.
    min_k : int, default 2

    Returns
    -------
    pandas.DataFrame
        One row per (metric, scale): the log-log ``slope`` b and its ``r2``, and the
        one-parameter law ``beta_peak = ratio * K / scale`` with ``ratio`` the median of
        ``beta_peak / (K / scale)``, its ``ratio_min``, ``ratio_max`` and the worst relative
        error ``max_rel_err`` of that law.
    """
    rows = []
    data = law[law["k"] >= min_k]
    for metric, part in data.groupby("metric", sort=False):
        for scale, col in (("n", "k_over_n"), ("n_neg", "k_over_n_neg")):
            x = np.log(part[col].to_numpy())
            y = np.log(part["beta_peak"].to_numpy())
            slope, intercept = np.polyfit(x, y, 1)
            resid = y - (slope * x + intercept)
            r2 = 1 - (resid**2).sum() / ((y - y.mean()) ** 2).sum()
            ratio = part["beta_peak"].to_numpy() / part[col].to_numpy()
            med = float(np.median(ratio))
            rows.append(
                {
                    "metric": metric,
                    "scale": f"K/{scale}",
                    "slope": float(slope),
                    "r2": float(r2),
                    "ratio": med,
                    "ratio_min": float(ratio.min()),
                    "ratio_max": float(ratio.max()),
                    "max_rel_err": float(np.max(np.abs(ratio / med - 1))),
                    "n_settings": len(part),
                }
            )
    return pd.DataFrame(rows)
