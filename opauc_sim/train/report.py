"""Summaries of a sweep CSV (no torch): the paper's guideline and a Table-2-style comparison.

For each K, the best configuration of a sampler family is the one with the highest
*validation* metric at K (test numbers are reported for it, never used to choose it).
The guideline of the paper says: the smaller K, the harder the best sampler, i.e. a
smaller best M (DNS), a larger best rho (Softmax-v) and a larger best N.

    opauc-sim report results/train_ml1m_cpu.csv

The figures of a sweep (:func:`plot_sweep`, :func:`write_sweep_figures`) are drawn from the
results cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from opauc_sim.results_cache import load_result, save_figure

__all__ = ["best_per_k", "comparison_table", "guideline_verdict", "markdown"]

FAMILIES = {
    "dns": ("M", "DNS(M*, N)"),
    "softmax": ("rho", "Softmax-v(rho*, N)"),
}


def _family(df: pd.DataFrame, sampler: str, n: int | None, m: int | None = None):
    sub = df[df["sampler"] == sampler]
    if n is not None and len(sub):
        sub = sub[sub["N"] == n]
    if m is not None and len(sub):
        sub = sub[sub["M"] == m]
    return sub


def best_per_k(
    df: pd.DataFrame,
    sampler: str,
    *,
    ks: Sequence[int] = (5, 20, 50),
    metric: str = "ndcg",
    n: int | None = 200,
    m: int | None = None,
) -> pd.DataFrame:
    """For each K, the configuration of ``sampler`` (at N = ``n``, M = ``m``) best on validation.

    Returns one row per K with the chosen row's settings, its validation value and its
    test ``metric@K``, ``ndcg@K`` and ``recall@K``.
    """
    sub = _family(df, sampler, n, m)
    rows = []
    for k in ks:
        col = f"valid_{metric}@{k}"
        if sub.empty or col not in sub:
            continue
        best = sub.loc[sub[col].idxmax()]
        rows.append(
            {
                "K": k,
                "sampler": sampler,
                "label": best["label"],
                "M": best["M"],
                "N": best["N"],
                "rho": best["rho"],
                "weight_decay": best["weight_decay"],
                f"valid_{metric}@K": best[col],
                f"test_ndcg@{k}": best[f"test_ndcg@{k}"],
                f"test_recall@{k}": best[f"test_recall@{k}"],
            }
        )
    return pd.DataFrame(rows)


def guideline_verdict(df: pd.DataFrame, *, ks=(5, 20, 50), metric="ndcg", n=200) -> dict:
    """Best M, best rho and best N per K, and whether they move as the guideline says.

    Keys: ``"dns"`` (M at N = ``n``), ``"softmax"`` (rho at N = ``n``) and ``"dns_N"``
    (N among DNS runs at M = 5, when there are several). ``"holds"`` is True when the best
    M is non-decreasing in K and the best rho and best N non-increasing (ties allowed);
    ``"strict"`` when, in addition, it changes at least once. ``"verdict"`` says it in
    words: ``"supported"`` (holds and changes), ``"no change"`` (the same best value for
    every K: no evidence either way) or ``"contradicted"``.
    """
    out: dict = {}
    cases = [(s, p, n, None) for s, (p, _) in FAMILIES.items()] + [("dns", "N", None, 5)]
    for sampler, param, n_fixed, m_fixed in cases:
        best = best_per_k(df, sampler, ks=ks, metric=metric, n=n_fixed, m=m_fixed)
        if best.empty or (param == "N" and _family(df, sampler, None, 5)["N"].nunique() < 2):
            continue
        key = sampler if param != "N" else "dns_N"
        values = best[param].to_numpy(float)
        steps = np.diff(values)
        ok = bool((steps >= 0).all()) if param == "M" else bool((steps <= 0).all())
        out[key] = {
            "param": param,
            "best": dict(zip(best["K"].tolist(), values.tolist(), strict=True)),
            "holds": ok,
            "strict": ok and bool((steps != 0).any()),
        }
        if not ok:
            out[key]["verdict"] = "contradicted"
        else:
            out[key]["verdict"] = "supported" if out[key]["strict"] else "no change"
    return out


def comparison_table(df: pd.DataFrame, *, k: int = 50, n: int = 200) -> pd.DataFrame:
    """Table 2 style: test NDCG@k and Recall@k of BPR (RNS) and of the best DNS / Softmax-v.

    Each family's configuration (and RNS's weight decay) is chosen on validation NDCG@k.
    The last columns give the relative gain over BPR.
    """
    rows = []
    rns = df[df["sampler"] == "rns"]
    base = None
    if not rns.empty:
        r = rns.loc[rns[f"valid_ndcg@{k}"].idxmax()]
        base = r
        rows.append(
            {"method": "BPR (RNS)", "config": r["label"], "wd": r["weight_decay"], **_m(r, k)}
        )
    for sampler, (_, name) in FAMILIES.items():
        sub = _family(df, sampler, n)
        if sub.empty:
            continue
        r = sub.loc[sub[f"valid_ndcg@{k}"].idxmax()]
        rows.append({"method": name, "config": r["label"], "wd": r["weight_decay"], **_m(r, k)})
    table = pd.DataFrame(rows)
    if base is not None and len(table):
        for col in (f"ndcg@{k}", f"recall@{k}"):
            table[f"{col} vs BPR"] = table[col] / base[f"test_{col}"] - 1.0
    return table


def _m(row, k) -> dict:
    return {f"ndcg@{k}": row[f"test_ndcg@{k}"], f"recall@{k}": row[f"test_recall@{k}"]}


def markdown(df: pd.DataFrame, *, ks=(5, 20, 50), n: int = 200) -> str:
    """The README's tables: comparison at K = 50, and the best config per K."""
    lines = []
    table = comparison_table(df, k=50, n=n)
    if len(table):
        lines.append("| method | selected config | NDCG@50 | Recall@50 | vs BPR (NDCG / Recall) |")
        lines.append("| --- | --- | --- | --- | --- |")
        for d in table.to_dict("records"):
            gain = (
                f"{d['ndcg@50 vs BPR']:+.1%} / {d['recall@50 vs BPR']:+.1%}"
                if "ndcg@50 vs BPR" in d
                else ""
            )
            lines.append(
                f"| {d['method']} | {d['config']}, wd {d['wd']:g} | {d['ndcg@50']:.4f} | "
                f"{d['recall@50']:.4f} | {gain} |"
            )
        lines.append("")
    lines.append("| K | best DNS M (test NDCG@K) | best Softmax-v rho (test NDCG@K) |")
    lines.append("| --- | --- | --- |")
    dns, soft = (best_per_k(df, s, ks=ks, n=n) for s in ("dns", "softmax"))
    dns = dns.set_index("K") if len(dns) else dns
    soft = soft.set_index("K") if len(soft) else soft
    for k in ks:
        a = (
            f"M = {dns.loc[k, 'M']:g} ({dns.loc[k, f'test_ndcg@{k}']:.4f})"
            if k in dns.index
            else ""
        )
        b = (
            f"rho = {soft.loc[k, 'rho']:g} ({soft.loc[k, f'test_ndcg@{k}']:.4f})"
            if k in soft.index
            else ""
        )
        lines.append(f"| {k} | {a} | {b} |")
    return "\n".join(lines)


def sweep_curve(
    df: pd.DataFrame,
    sampler: str,
    param: str,
    *,
    fixed: dict | None = None,
    ks: Sequence[int] = (5, 20, 50),
) -> pd.DataFrame:
    """Tidy data for a Fig. 8-10 style plot: test metric@K against ``param``.

    For each value of ``param`` (M, N or rho) among ``sampler``'s rows matching ``fixed``
    (e.g. ``{"N": 200}``), the weight decay is chosen on validation per K and metric;
    ``relative`` is the test value divided by its maximum over ``param`` (per K and
    metric), and ``selected`` marks the value chosen on validation.
    """
    sub = df[df["sampler"] == sampler]
    for key, value in (fixed or {}).items():
        sub = sub[sub[key] == value]
    rows = []
    for metric in ("ndcg", "recall"):
        for k in ks:
            vcol, tcol = f"valid_{metric}@{k}", f"test_{metric}@{k}"
            if sub.empty or vcol not in sub:
                continue
            best = sub.loc[sub.groupby(param)[vcol].idxmax()]
            part = pd.DataFrame(
                {
                    param: best[param].to_numpy(float),
                    "metric": metric,
                    "K": k,
                    "valid": best[vcol].to_numpy(float),
                    "test": best[tcol].to_numpy(float),
                }
            )
            part["relative"] = part["test"] / part["test"].max()
            part["selected"] = part["valid"] == part["valid"].max()
            rows.append(part)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def plot_sweep(df: pd.DataFrame, sampler: str, param: str, *, fixed=None, title: str = ""):
    """Two panels (NDCG@K, Recall@K), relative test value against ``param``, one line per K.

    The value chosen on validation for each K is circled; the RNS (BPR) level, relative
    to the same maximum, is the dotted line of the same colour when the sweep has it.
    """
    from opauc_sim._optional import require_matplotlib

    matplotlib = require_matplotlib()
    from matplotlib.figure import Figure

    tidy = sweep_curve(df, sampler, param, fixed=fixed)
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    ks = sorted(set(tidy["K"])) if len(tidy) else []
    colours = list(matplotlib.colormaps["viridis"](np.linspace(0, 0.85, len(ks))))
    rns = df[df["sampler"] == "rns"]
    for ax, metric in zip(axes, ("ndcg", "recall"), strict=True):
        for colour, k in zip(colours, ks, strict=True):
            part = tidy[(tidy["metric"] == metric) & (tidy["K"] == k)].sort_values(param)
            ax.plot(part[param], part["relative"], "-o", color=colour, ms=3.5, label=f"K={k}")
            sel = part[part["selected"]]
            ax.plot(sel[param], sel["relative"], "o", ms=10, mfc="none", mec=colour, mew=1.6)
            if len(rns):
                r = rns.loc[rns[f"valid_{metric}@{k}"].idxmax(), f"test_{metric}@{k}"]
                ax.axhline(r / part["test"].max(), color=colour, ls=":", lw=1)
        ax.set_xscale("log")
        values = sorted(set(tidy[param])) if len(tidy) else []
        ax.set_xticks(values, [f"{v:g}" for v in values], minor=False)
        ax.set_xticks([], minor=True)
        ax.set_xlabel(param if param != "rho" else r"$\rho$")
        ax.set_title(f"{metric.upper() if metric == 'ndcg' else 'Recall'}@K")
        ax.grid(alpha=0.3, which="both", lw=0.4)
    axes[0].set_ylabel("test value / best over the grid")
    if ks:
        axes[1].legend(fontsize=8, loc="best")
    fig.suptitle(title, fontsize=10)
    return fig


def sweep_sources(results_dir: str = "results") -> list[str]:
    """Cached sweeps a figure can use, GPU (paper setting) first."""
    names = ("train_ml1m_gpu", "train_ml1m_cpu", "train_ml100k_cpu")
    return [n for n in names if (Path(results_dir) / f"{n}.csv").exists()]


def write_sweep_figures(
    name: str, title: str, make_figure, results_dir: str = "results", out_dir: str = "figures"
) -> list[Path]:
    """Draw ``make_figure(df, title=...)`` for every cached sweep; the figure scripts' main.

    One PNG per sweep found by :func:`sweep_sources`, named ``<name>_<dataset>_<device>.png``,
    titled with the sweep's dataset, device, epochs and learning rate from its sidecar.
    """
    sources = sweep_sources(results_dir)
    if not sources:
        raise FileNotFoundError(
            f"no training sweep in {results_dir!r}; run 'opauc-sim sweep' (see the README)"
        )
    written = []
    for source in sources:
        df, meta = load_result(source, results_dir)
        tag = source.removeprefix("train_")
        params = meta.get("params", {})
        dataset, device = tag.split("_")
        head = f"{params.get('dataset', dataset)}, {device.upper()}, {params.get('epochs', '?')} ep"
        fig = make_figure(df, title=f"{head}, lr {params.get('lr', '?')}: {title}")
        written.append(save_figure(fig, f"{name}_{tag}", out_dir, dpi=120))
    return written
