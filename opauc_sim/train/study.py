"""Summaries of a training study with seeds: Table 2 and the guideline, with uncertainty.

Works on the CSV of ``opauc-sim sweep`` (one row per finished configuration and seed).
A *configuration* is (sampler, M, N, rho, weight decay, recipe); its *seeds* are rows that
differ only in the training seed and the split seed.

Selection. A configuration is chosen on the validation metric when the rows have one;
under the authors' recipe (no validation set) it is chosen on the test metric of seed 0,
as the paper did, and the tables say so. The other seeds then measure the chosen
configuration afresh.

    opauc-sim report results/train_gowalla.csv
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "PAPER_TABLE2",
    "config_columns",
    "guideline_with_seeds",
    "paired_difference",
    "select",
    "study_markdown",
    "table2",
]

#: The paper's Table 2 (NDCG@50, Recall@50) on Gowalla, MF.
PAPER_TABLE2 = {
    "gowalla": {
        "BPR": (0.1216, 0.2048),
        "DNS(M*, N)": (0.1811, 0.2989),
        "Softmax-v(rho*, N)": (0.1837, 0.2993),
    }
}
METHODS = (("rns", "BPR"), ("dns", "DNS(M*, N)"), ("softmax", "Softmax-v(rho*, N)"))
PARAM = {"dns": "M", "softmax": "rho"}


def config_columns(df: pd.DataFrame) -> list[str]:
    """The columns that name a configuration apart from its seeds."""
    cols = ["sampler", "M", "N", "rho", "weight_decay", "authors_code", "epochs", "lr"]
    return [c for c in cols if c in df.columns]


def _selection_column(df: pd.DataFrame, metric: str, k: int) -> tuple[str, bool]:
    valid = f"valid_{metric}@{k}"
    if valid in df.columns and df[valid].notna().any():
        return valid, False
    return f"test_{metric}@{k}", True


def _seed0(df: pd.DataFrame) -> pd.DataFrame:
    if "seed" not in df.columns:
        return df
    split = df["split_seed"] if "split_seed" in df.columns else 0
    return df[(df["seed"] == 0) & (split == 0)]


def _family(df, sampler, n=None, fixed=None) -> pd.DataFrame:
    sub = df[df["sampler"] == sampler]
    if n is not None:
        sub = sub[sub["N"] == n]
    for key, value in (fixed or {}).items():
        sub = sub[np.isclose(sub[key].astype(float), value)]
    return sub


def select(
    df: pd.DataFrame,
    sampler: str,
    *,
    metric: str = "ndcg",
    k: int = 50,
    n: int | None = 200,
    fixed: dict | None = None,
) -> tuple[pd.Series | None, bool]:
    """The best seed-0 row of ``sampler`` (at N = ``n``, matching ``fixed``) and whether
    it was chosen on test (no validation in the rows)."""
    sub = _seed0(_family(df, sampler, None if sampler == "rns" else n, fixed))
    if sub.empty:
        return None, False
    col, on_test = _selection_column(sub, metric, k)
    sub = sub[sub[col].notna()]
    if sub.empty:
        return None, on_test
    return sub.loc[sub[col].idxmax()], on_test


def seeds_of(df: pd.DataFrame, row: pd.Series) -> pd.DataFrame:
    """Every row of ``row``'s configuration (all seeds), seed 0 first."""
    mask = np.ones(len(df), dtype=bool)
    for c in config_columns(df):
        a, b = df[c], row[c]
        if isinstance(b, float) and np.isnan(b):
            mask &= a.isna().to_numpy()
        elif c in ("M", "N", "rho", "weight_decay", "lr"):
            mask &= np.isclose(a.astype(float).to_numpy(), float(b))
        else:
            mask &= (a == b).to_numpy()
    out = df[mask]
    return out.sort_values(["split_seed", "seed"]) if "seed" in out else out


def _mean_sd(values: np.ndarray) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    sd = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
    return float(values.mean()), sd


def table2(df: pd.DataFrame, *, k: int = 50, dataset: str = "gowalla") -> pd.DataFrame:
    """Table 2 analog: BPR and the best DNS / Softmax-v, mean and sd over seeds.

    Columns: ``method``, ``config``, ``wd``, ``n_seeds``, ``ndcg``/``ndcg_sd``,
    ``recall``/``recall_sd``, the gains over BPR's mean, the paper's values and our
    mean divided by the paper's, and ``selected_on`` (``"test"`` or ``"validation"``).
    """
    paper = PAPER_TABLE2.get(dataset, {})
    rows = []
    base = None
    for sampler, name in METHODS:
        best, on_test = select(df, sampler, k=k)
        if best is None:
            continue
        runs = seeds_of(df, best)
        ndcg, ndcg_sd = _mean_sd(runs[f"test_ndcg@{k}"])
        recall, recall_sd = _mean_sd(runs[f"test_recall@{k}"])
        row = {
            "method": name,
            "config": best["label"],
            "wd": float(best["weight_decay"]),
            "n_seeds": len(runs),
            "ndcg": ndcg,
            "ndcg_sd": ndcg_sd,
            "recall": recall,
            "recall_sd": recall_sd,
            "selected_on": "test" if on_test else "validation",
        }
        if name in paper:
            row["paper_ndcg"], row["paper_recall"] = paper[name]
            row["ndcg / paper"] = ndcg / paper[name][0]
        if sampler == "rns":
            base = row
        rows.append(row)
    table = pd.DataFrame(rows)
    if base is not None and len(table):
        table["ndcg vs BPR"] = table["ndcg"] / base["ndcg"] - 1
        table["recall vs BPR"] = table["recall"] / base["recall"] - 1
    return table


def paired_difference(df: pd.DataFrame, a: pd.Series, b: pd.Series, column: str) -> dict:
    """``column`` of configuration ``a`` minus ``b``, paired by (seed, split seed).

    Returns the number of pairs, the mean and sd of the differences, how many are
    positive, and the two-sided paired t-test p-value (``scipy.stats.ttest_rel``; NaN
    with fewer than two pairs).
    """
    from scipy import stats

    keys = ["seed", "split_seed"]
    ra = seeds_of(df, a).set_index(keys)[column]
    rb = seeds_of(df, b).set_index(keys)[column]
    both = ra.index.intersection(rb.index)
    x, y = ra.loc[both].to_numpy(float), rb.loc[both].to_numpy(float)
    d = x - y
    p = float(stats.ttest_rel(x, y).pvalue) if len(d) > 1 and np.ptp(d) > 0 else float("nan")
    return {
        "n": len(d),
        "mean": float(d.mean()) if len(d) else float("nan"),
        "sd": float(d.std(ddof=1)) if len(d) > 1 else float("nan"),
        "n_positive": int((d > 0).sum()),
        "p": p,
    }


def paired_methods(df: pd.DataFrame, *, ks: Sequence[int] = (5, 20, 50)) -> pd.DataFrame:
    """Each method's best (selected at K = 50) against BPR's and DNS's against Softmax-v's,
    on NDCG@K for every K, paired by seed (:func:`paired_difference`)."""
    best = {sampler: select(df, sampler, k=50)[0] for sampler, _ in METHODS}
    pairs = [("dns", "rns"), ("softmax", "rns"), ("dns", "softmax")]
    rows = []
    for a, b in pairs:
        if best[a] is None or best[b] is None:
            continue
        for k in ks:
            diff = paired_difference(df, best[a], best[b], f"test_ndcg@{k}")
            rows.append({"a": best[a]["label"], "b": best[b]["label"], "K": k, **diff})
    return pd.DataFrame(rows)


def paired_methods_markdown(df: pd.DataFrame) -> list[str]:
    """One line per pair of :func:`paired_methods`, the K in a row."""
    table = paired_methods(df)
    lines = []
    for (a, b), part in table.groupby(["a", "b"], sort=False):
        cells = [
            f"K = {r['K']}: {r['mean']:+.4f}"
            + (f" (p = {r['p']:.2g})" if not pd.isna(r["p"]) else " (one seed)")
            for r in part.to_dict("records")
        ]
        n = int(part["n"].max())
        lines.append(f"- {a} - {b}, NDCG@K paired over {n} seeds: " + "; ".join(cells) + ".")
    return ["", *lines] if lines else []


def tilt_table(
    df: pd.DataFrame,
    sampler: str,
    param: str,
    *,
    fixed: dict | None = None,
    small: int = 5,
    large: int = 50,
    metric: str = "ndcg",
) -> pd.DataFrame:
    """How much of its best each K keeps at every value of ``param``: the K-tilt.

    The guideline (smaller K, harder negatives) can hold as a tilt even when every K peaks
    at the same value: moving away from the peak towards easier sampling should then cost
    a small K more than a large one. For each value ``v`` of ``param`` (the best seed-0
    weight decay at that value), and each seed it shares with the best value ``b`` at
    K = ``large``, the kept shares are ``r_K = metric@K(v) / metric@K(b)``, and the tilt
    is ``r_small - r_large`` (negative: the small K loses more).

    Returns
    -------
    pandas.DataFrame
        One row per value: ``param``, ``kept@small``, ``kept@large`` (seed means), the
        tilt's ``mean`` and ``sd``, ``n`` (seeds), and ``p``, the two-sided paired t-test
        of ``r_small`` against ``r_large`` (``scipy.stats.ttest_rel``; NaN below 2 seeds).
    """
    from scipy import stats

    best, _ = select(df, sampler, metric=metric, k=large, n=None, fixed=fixed)
    if best is None:
        return pd.DataFrame()
    keys = ["seed", "split_seed"]
    ref = seeds_of(df, best).set_index(keys)
    fam = _family(df, sampler, None, fixed)
    rows = []
    for value in sorted(fam[param].dropna().unique()):
        at = fam[np.isclose(fam[param].astype(float), value)]
        row, _ = select(at, sampler, metric=metric, k=large, n=None)
        if row is None or float(value) == float(best[param]):
            continue
        runs = seeds_of(df, row).set_index(keys)
        both = runs.index.intersection(ref.index)
        kept = {
            k: (
                runs.loc[both, f"test_{metric}@{k}"] / ref.loc[both, f"test_{metric}@{k}"]
            ).to_numpy(float)
            for k in (small, large)
        }
        d = kept[small] - kept[large]
        p = float("nan")
        if len(d) > 1 and np.ptp(d) > 0:
            p = float(stats.ttest_rel(kept[small], kept[large]).pvalue)
        rows.append(
            {
                param: float(value),
                f"kept@{small}": kept[small].mean(),
                f"kept@{large}": kept[large].mean(),
                "mean": d.mean(),
                "sd": d.std(ddof=1) if len(d) > 1 else float("nan"),
                "n": len(d),
                "p": p,
            }
        )
    return pd.DataFrame(rows)


def guideline_with_seeds(
    df: pd.DataFrame, *, ks: Sequence[int] = (5, 20, 50), metric: str = "ndcg"
) -> pd.DataFrame:
    """Per family and K: the best parameter (seed 0) and whether it beats the best at the
    largest K on metric@K over the seeds (a paired difference).

    Families: DNS's M at N = 200, Softmax-v's rho at N = 200, DNS's N at M = 5. The
    guideline expects the best M to grow with K and the best rho and N to shrink.
    """
    cases = [
        ("dns", "M", {"N": 200}),
        ("softmax", "rho", {"N": 200}),
        ("dns", "N", {"M": 5}),
    ]
    rows = []
    for sampler, param, fixed in cases:
        n = fixed.get("N")
        family = _seed0(_family(df, sampler, n, {x: v for x, v in fixed.items() if x != "N"}))
        if family[param].nunique() < 2:
            continue  # one value of the parameter: nothing to choose yet
        best_at = {}
        for k in ks:
            row, on_test = select(
                df,
                sampler,
                metric=metric,
                k=k,
                n=n,
                fixed={x: v for x, v in fixed.items() if x != "N"},
            )
            if row is not None:
                best_at[k] = (row, on_test)
        if len(best_at) < 2:
            continue
        ref_k = max(best_at)
        ref = best_at[ref_k][0]
        values = [float(best_at[k][0][param]) for k in ks if k in best_at]
        steps = np.diff(values)
        holds = bool((steps >= 0).all()) if param == "M" else bool((steps <= 0).all())
        for k in ks:
            if k not in best_at:
                continue
            row, on_test = best_at[k]
            entry = {
                "family": sampler,
                "param": param,
                "K": k,
                "best": float(row[param]),
                "wd": float(row["weight_decay"]),
                f"test_{metric}@K": float(row[f"test_{metric}@{k}"]),
                "selected_on": "test" if on_test else "validation",
                "monotone_as_guideline": holds,
                "changes": bool((steps != 0).any()),
            }
            if float(row[param]) != float(ref[param]):
                diff = paired_difference(df, row, ref, f"test_{metric}@{k}")
                entry.update(
                    {
                        "vs_best_at": ref_k,
                        "diff_mean": diff["mean"],
                        "diff_sd": diff["sd"],
                        "n_seeds": diff["n"],
                        "n_positive": diff["n_positive"],
                        "p": diff["p"],
                    }
                )
            rows.append(entry)
    return pd.DataFrame(rows)


def _format_sd(v: float) -> str:
    """`` ± sd`` to four decimals, or two significant digits when that would read 0.0000."""
    if np.isnan(v):
        return ""
    return f" ± {v:.4f}" if v >= 5e-5 else f" ± {v:.1e}"


def run_seconds(df: pd.DataFrame) -> pd.Series:
    """Each row's training and evaluation time: ``epochs * epoch_seconds_median +
    eval_seconds_total`` (the median epoch stands for every epoch); a run that diverged
    counts the epochs up to ``diverged_epoch``, where it stopped."""
    epochs = df["epochs"]
    if "diverged_epoch" in df:
        epochs = df["diverged_epoch"].fillna(epochs)
    return epochs * df["epoch_seconds_median"] + df["eval_seconds_total"].fillna(0.0)


def diverged_markdown(df: pd.DataFrame) -> list[str]:
    """One line per run whose loss stopped being finite (``diverged_epoch``), if any."""
    if "diverged_epoch" not in df or df["diverged_epoch"].isna().all():
        return []
    runs = df[df["diverged_epoch"].notna()]
    items = [
        f"{r['label']}, wd {r['weight_decay']:g}, seed {r['seed']}: at epoch "
        f"{r['diverged_epoch']:.0f}"
        for r in runs.to_dict("records")
    ]
    head = "Diverged (the mean loss stopped being finite, and training with it): "
    return ["", head + "; ".join(items) + "."]


def study_markdown(df: pd.DataFrame, *, dataset: str = "gowalla") -> str:
    """The README's tables for a study: Table 2 analog, the guideline per K, and the
    study's size (runs and core-hours, from :func:`run_seconds`)."""
    lines = []
    if {"epoch_seconds_median", "eval_seconds_total"} <= set(df.columns) and len(df):
        seconds = run_seconds(df)
        lines += [
            f"{len(df)} runs, {seconds.sum() / 3600:.1f} core-hours of training and "
            f"evaluation (median run {seconds.median() / 60:.1f} min).",
            "",
        ]
    t = table2(df, dataset=dataset)
    if len(t):
        lines += [
            "| method | selected config (on " + t["selected_on"].iloc[0] + ") | seeds "
            "| NDCG@50 | Recall@50 | vs BPR (NDCG / Recall) | paper NDCG@50 / Recall@50 "
            "| ours / paper (NDCG) |",
            "| --- | --- | ---: | --- | --- | --- | --- | ---: |",
        ]
        for r in t.to_dict("records"):
            sd = _format_sd
            paper = f"{r['paper_ndcg']:.4f} / {r['paper_recall']:.4f}" if "paper_ndcg" in r else ""
            ratio = f"{r['ndcg / paper']:.2f}" if "ndcg / paper" in r else ""
            gain = f"{r['ndcg vs BPR']:+.1%} / {r['recall vs BPR']:+.1%}"
            lines.append(
                f"| {r['method']} | {r['config']}, wd {r['wd']:g} | {r['n_seeds']} "
                f"| {r['ndcg']:.4f}{sd(r['ndcg_sd'])} | {r['recall']:.4f}{sd(r['recall_sd'])} "
                f"| {'' if r['method'] == 'BPR' else gain} | {paper} | {ratio} |"
            )
        lines += [*paired_methods_markdown(df), ""]
    g = guideline_with_seeds(df)
    if len(g):
        lines += [
            "| family | K | best | test NDCG@K | vs the best at the largest K (paired, seeds) |",
            "| --- | ---: | --- | ---: | --- |",
        ]
        for r in g.to_dict("records"):
            name = {"M": "DNS M (N=200)", "rho": "Softmax-v rho (N=200)", "N": "DNS N (M=5)"}
            vs = ""
            if "diff_mean" in r and not pd.isna(r.get("diff_mean")):
                vs = (
                    f"{r['diff_mean']:+.4f} (sd {r['diff_sd']:.4f}, {r['n_positive']}/"
                    f"{r['n_seeds']} seeds positive, p = {r['p']:.2g})"
                    if r["n_seeds"] > 1
                    else f"{r['diff_mean']:+.4f} (one seed)"
                )
            lines.append(
                f"| {name[r['param']]} | {r['K']} | {r['param']} = {r['best']:g}, wd "
                f"{r['wd']:g} | {r['test_ndcg@K']:.4f} | {vs} |"
            )
        lines += ["", *guideline_verdicts(g)]
    families = (("dns", "M", {"N": 200}), ("dns", "N", {"M": 5}), ("softmax", "rho", {"N": 200}))
    for sampler, param, fixed in families:
        lines += tilt_markdown(tilt_table(df, sampler, param, fixed=fixed), param)
    lines += diverged_markdown(df)
    return "\n".join(lines)


def tilt_markdown(tilt: pd.DataFrame, param: str) -> list[str]:
    """:func:`tilt_table` as Markdown lines (none for an empty table)."""
    if tilt.empty:
        return []
    small, large = (int(c.split("@")[1]) for c in tilt.columns if c.startswith("kept@"))
    lines = [
        "",
        f"| {param} | NDCG@{small} kept | NDCG@{large} kept | tilt (@{small} - @{large}) "
        "| seeds | paired p |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in tilt.to_dict("records"):
        sd = "" if pd.isna(r["sd"]) else f" ± {r['sd']:.4f}"
        p = "" if pd.isna(r["p"]) else f"{r['p']:.2g}"
        lines.append(
            f"| {r[param]:g} | {r[f'kept@{small}']:.1%} | {r[f'kept@{large}']:.1%} "
            f"| {r['mean']:+.4f}{sd} | {r['n']} | {p} |"
        )
    return lines


_FAMILY_NAMES = {
    "M": "DNS's M (N = 200)",
    "rho": "Softmax-v's rho (N = 200)",
    "N": "DNS's N (M = 5)",
}


def guideline_verdicts(g: pd.DataFrame) -> list[str]:
    """One line per family of :func:`guideline_with_seeds`: the best value per K and
    whether it moves as the guideline says (harder negatives for smaller K: smaller M,
    larger rho and N), with the paired test at the smallest K where there is one."""
    out = []
    for param, part in g.groupby("param", sort=False):
        part = part.sort_values("K")
        bests = ", ".join(f"{b:g} at K = {k}" for k, b in zip(part["K"], part["best"], strict=True))
        first = part.iloc[0]
        if not first["changes"]:
            verdict = "the same at every K: the guideline's shift is not seen"
        elif first["monotone_as_guideline"]:
            verdict = "moves as the guideline says"
            if first.get("n_seeds", 0) > 1 and not pd.isna(first.get("p")):
                verdict += (
                    f"; at K = {first['K']} it beats the largest K's best by "
                    f"{first['diff_mean']:+.4f} (paired over {first['n_seeds']} seeds, "
                    f"p = {first['p']:.2g})"
                )
            else:
                verdict += " (one seed: not tested against the seed spread)"
        else:
            verdict = "moves against the guideline"
        out.append(f"- {_FAMILY_NAMES[param]}: best {bests}; {verdict}.")
    return out


def param_curves(
    df: pd.DataFrame,
    sampler: str,
    param: str,
    *,
    fixed: dict | None = None,
    ks: Sequence[int] = (5, 20, 50),
) -> pd.DataFrame:
    """Tidy data for Fig. 8-10 analogs: test metric@K against ``param`` over seeds.

    For each value of ``param`` (rows of ``sampler`` matching ``fixed``), the weight decay
    is the one with the best seed-0 selection value at that K; every seed of that
    configuration contributes. Columns: ``param``, ``metric``, ``K``, ``mean``, ``lo``,
    ``hi`` (min and max over seeds), ``n_seeds``.
    """
    sub = _family(df, sampler, None, fixed)
    out = []
    for metric in ("ndcg", "recall"):
        for k in ks:
            for value in sorted(sub[param].dropna().unique()):
                rows = sub[np.isclose(sub[param].astype(float), value)]
                best, _ = select(rows, sampler, metric=metric, k=k, n=None)
                if best is None:
                    continue
                vals = seeds_of(df, best)[f"test_{metric}@{k}"].to_numpy(float)
                out.append(
                    {
                        param: float(value),
                        "metric": metric,
                        "K": k,
                        "mean": vals.mean(),
                        "lo": vals.min(),
                        "hi": vals.max(),
                        "n_seeds": len(vals),
                    }
                )
    return pd.DataFrame(out)
