"""Plain-text reports of the studies (:mod:`.studies`): the tables ``simulate`` prints."""

from __future__ import annotations

import pandas as pd

from opauc_sim.correlation.setting import FIG6


def format_frame(df: pd.DataFrame, floatfmt: str = ".4g") -> str:
    """A pipe table of ``df`` without its index, readable in a terminal and in markdown.

    Floats are formatted with ``floatfmt``; headers are left-aligned, cells right-aligned.
    """
    cols = list(df.columns)
    cells = [
        [format(v, floatfmt) if isinstance(v, float) else str(v) for v in row]
        for row in df.itertuples(index=False)
    ]
    widths = [max([len(str(c)), *(len(r[i]) for r in cells)]) for i, c in enumerate(cols)]
    lines = [
        "| " + " | ".join(str(c).ljust(w) for c, w in zip(cols, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += [
        "| " + " | ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) + " |" for r in cells
    ]
    return "\n".join(lines)


def peak_table(peaks_mc: pd.DataFrame | None, peaks_exact: pd.DataFrame | None) -> pd.DataFrame:
    """The README's peak table: MC and exact peak per (metric, K), and corr at beta = 1.

    From :func:`~opauc_sim.correlation.peak_beta` tables (either may be None).
    """
    rows = []
    exact = None if peaks_exact is None else peaks_exact.set_index(["metric", "k"])
    mc = None if peaks_mc is None else peaks_mc.set_index(["metric", "k"])
    keys = (mc if mc is not None else exact).index
    for metric, k in keys:
        row = {"metric": metric, "K": int(k)}
        if mc is not None:
            p = mc.loc[(metric, k)]
            row["beta_peak (MC)"] = float(p["beta"])
            row["corr_peak (MC, 95% CI)"] = (
                f"{p['corr']:.3f} [{p['ci_low']:.3f}, {p['ci_high']:.3f}]"
            )
            row["corr_AUC (MC)"] = round(float(p["corr_at_1"]), 3)
        if exact is not None:
            p = exact.loc[(metric, k)]
            row["beta_peak (exact)"] = float(p["beta"])
            row["corr_peak (exact)"] = round(float(p["corr"]), 4)
            row["corr_AUC (exact)"] = round(float(p["corr_at_1"]), 4)
        rows.append(row)
    return pd.DataFrame(rows)


def fig6_report(
    peaks: dict[str, pd.DataFrame],
    claims: pd.DataFrame,
    n_rankings: int,
    n_betas: int,
    t_mc: float,
    t_exact: float,
) -> str:
    """The peak table, then the claims checked on the exact curves (Monte Carlo without
    them), the checks that fail, and whether both sources agree on every claim."""
    exact = "exact" in peaks
    lines = [
        f"\nFig. 6 peak table (n_pos={FIG6.n_pos}, n_neg={FIG6.n_neg}, {n_rankings:,} uniform "
        f"rankings, {n_betas} betas in [1/{FIG6.n_neg}, 1]; Monte Carlo {t_mc:.2f} s, exact "
        f"{t_exact:.2f} s)",
        format_frame(peak_table(peaks.get("monte_carlo"), peaks.get("exact"))),
        "\nClaims of the paper (docs/experiments.md), checked on the "
        f"{'exact curves' if exact else 'Monte Carlo curves'}:",
    ]
    src = "exact" if exact else "monte_carlo"
    summary = claims[(claims.source == src) & (claims.scope == "all")]
    lines.append(format_frame(summary[["claim", "holds", "detail"]]))
    failed = claims[(claims.source == src) & (claims.scope != "all") & (claims.holds == False)]  # noqa: E712
    lines += [f"  does not hold: {r.claim} [{r.scope}]: {r.detail}" for r in failed.itertuples()]
    if exact:
        both = claims[claims.scope == "all"].pivot(index="claim", columns="source", values="holds")
        agree = bool((both["exact"] == both["monte_carlo"]).all())
        lines.append(f"Monte Carlo and exact verdicts agree on every claim: {agree}")
    return "\n".join(lines)


def methods_report(peaks: pd.DataFrame, claims: pd.DataFrame, timing: dict) -> str:
    """Peak beta and peak correlation, and the claims' verdicts, by coefficient."""
    wide = peaks[peaks.metric != "precision"].pivot_table(
        index=["metric", "k"], columns="method", values=["beta", "corr"], sort=False
    )
    wide.columns = [f"{v} ({m})" for v, m in wide.columns]
    summary = claims[claims.scope == "all"].pivot(index="claim", columns="method", values="detail")
    return "\n".join(
        [
            "peak beta and peak correlation by coefficient (precision = recall):",
            format_frame(wide.reset_index(), floatfmt=".4g"),
            "claims by coefficient:",
            format_frame(summary.reset_index()),
            f"seconds: {timing}",
        ]
    )


def binormal_report(peaks: pd.DataFrame, curves: pd.DataFrame | None = None) -> str:
    """Peak beta by mu, and the peak cut over the mean negatives in the top K, by mu.

    Parameters
    ----------
    peaks : pandas.DataFrame
        :func:`opauc_sim.correlation.studies.binormal_study`'s peaks (columns ``mu``,
        ``metric``, ``k``, ``beta``, ``m_peak_over_neg_in_top_k``).
    curves : pandas.DataFrame, optional
        Its curves (columns ``mu``, ``metric``, ``k``): every (mu, metric, K) that was run.
        Those with no peak are then named in a last line (the tables alone leave them out:
        ``--mus -5`` printed empty tables with no word why).

    Returns
    -------
    str
        The two tables, and the line naming what has no peak, if anything.
    """
    wide = peaks.pivot_table(index=["metric", "k"], columns="mu", values="beta", sort=False)
    wide.columns = [f"mu={m:g}" for m in wide.columns]
    ratio = peaks[peaks.k > 1].pivot_table(
        index=["metric", "k"], columns="mu", values="m_peak_over_neg_in_top_k", sort=False
    )
    ratio.columns = [f"mu={m:g}" for m in ratio.columns]
    return "\n".join(
        [
            "peak beta by binormal mu (rows: metric, K):",
            format_frame(wide.reset_index()),
            "peak cut beta*n_neg / mean negatives in the top K (rows: metric, K):",
            format_frame(ratio.reset_index(), floatfmt=".3g"),
            *_no_peak_line(peaks, curves),
        ]
    )


def _no_peak_line(peaks: pd.DataFrame, curves: pd.DataFrame | None) -> list[str]:
    """One line naming each mu whose curves have (metric, K) with no peak, or nothing."""
    if curves is None:
        return []
    keys = ["mu", "metric", "k"]
    run = curves[keys].drop_duplicates()
    found = set(peaks[keys].itertuples(index=False, name=None))
    missing = run[[row not in found for row in run.itertuples(index=False, name=None)]]
    if missing.empty:
        return []
    per_mu = run.groupby("mu", sort=False).size()
    parts = []
    for mu, rows in missing.groupby("mu", sort=False):
        if len(rows) == per_mu[mu]:
            parts.append(f"mu={mu:g} (every metric and K)")
        else:
            what = ", ".join(f"{m}@{k}" for m, k in zip(rows["metric"], rows["k"], strict=True))
            parts.append(f"mu={mu:g} ({what})")
    return [
        "no peak, the correlation being undefined at every beta (the Top-K metric is the "
        f"same on every ranking, typically as no positive reaches the top K): {'; '.join(parts)}"
    ]
