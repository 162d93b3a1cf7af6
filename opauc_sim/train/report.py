"""What ``opauc-sim report`` prints: the summaries of :mod:`opauc_sim.train.summary` as Markdown.

One function, :func:`report_markdown`, for any sweep CSV: the study's size, then for each
arm (main, oracle control) Table 2, the paired comparisons with BPR, the best value per K
of every hardness parameter with its guideline verdict, the K-tilt tables, the runs that
diverged, and, where the rows hold DNS over all items at several M, the pre-registered
guideline test (:mod:`opauc_sim.train.guideline`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from opauc_sim.train import samplers
from opauc_sim.train import summary as S

__all__ = ["batching_markdown", "report_markdown"]


def _sd(v: float) -> str:
    """`` ± sd`` to four decimals, or two significant digits when that would read 0.0000."""
    if pd.isna(v):
        return ""
    return f" ± {v:.4f}" if v >= 5e-5 else f" ± {v:.1e}"


def _size(df: pd.DataFrame) -> list[str]:
    if not {"epoch_seconds_median", "eval_seconds_total", "epochs"} <= set(df.columns):
        return []
    seconds = S.run_seconds(df)
    return [
        f"{len(df)} runs, {seconds.sum() / 3600:.1f} core-hours of training and evaluation "
        f"(median run {seconds.median() / 60:.1f} min).",
        "",
    ]


def _table2(df: pd.DataFrame, reference) -> list[str]:
    t = S.table2(df, reference=reference)
    if t.empty:
        return []
    on = t["selected_on"].iloc[0]
    paper = "paper" in "".join(t.columns)
    lines = [
        f"| method | selected config (on {on}) | seeds | NDCG@50 | Recall@50 | vs BPR "
        "(NDCG / Recall) |"
        + (" paper NDCG@50 / Recall@50 | ours / paper (NDCG) |" if paper else ""),
        "| --- | --- | ---: | --- | --- | --- |" + (" --- | ---: |" if paper else ""),
    ]
    for r in t.to_dict("records"):
        gain = ""
        if "ndcg vs BPR" in r and r["method"] != "BPR":
            gain = f"{r['ndcg vs BPR']:+.1%} / {r['recall vs BPR']:+.1%}"
        line = (
            f"| {r['method']} | {r['config']}, wd {r['wd']:g} | {r['n_seeds']} "
            f"| {r['ndcg']:.4f}{_sd(r['ndcg_sd'])} | {r['recall']:.4f}{_sd(r['recall_sd'])} "
            f"| {gain} |"
        )
        if paper:
            has = not pd.isna(r.get("paper_ndcg", np.nan))
            line += (
                f" {r['paper_ndcg']:.4f} / {r['paper_recall']:.4f} | {r['ndcg / paper']:.2f} |"
                if has
                else " | |"
            )
        lines.append(line)
    return [*lines, *_paired_methods(df), ""]


def _paired_methods(df: pd.DataFrame, ks=(5, 20, 50)) -> list[str]:
    """Each sampler's best (chosen at K = 50) against BPR's, then the samplers' bests
    against each other, on NDCG@K, paired by seed."""
    best = {}
    for name in dict.fromkeys(df["sampler"]):
        row, _ = S.select(df, str(name), k=50)
        if row is not None:
            best[str(name)] = row
    base = samplers.BASELINE
    others = [n for n in best if n != base]
    pairs = [(n, base) for n in others if base in best]
    pairs += [(a, b) for i, a in enumerate(others) for b in others[i + 1 :]]
    lines = []
    for a, b in pairs:
        cells, n = [], 0
        for k in ks:
            if f"test_ndcg@{k}" not in df:
                continue
            d = S.paired_difference(df, best[a], best[b], f"test_ndcg@{k}")
            n = max(n, d["n"])
            p = f" (p = {d['p']:.2g})" if not pd.isna(d["p"]) else " (one seed)"
            cells.append(f"K = {k}: {d['mean']:+.4f}{p}")
        if cells:
            lines.append(
                f"- {best[a]['label']} − {best[b]['label']}, NDCG@K paired over {n} seed(s): "
                + "; ".join(cells)
                + "."
            )
    return ["", *lines] if lines else []


def _per_k(df: pd.DataFrame, ks) -> list[str]:
    g = S.guideline_per_k(df, ks=ks)
    if g.empty:
        return []
    lines = [
        "| family | K | best | test NDCG@K | vs the best at the largest K (paired over seeds) |",
        "| --- | ---: | --- | ---: | --- |",
    ]
    for r in g.to_dict("records"):
        vs = ""
        if not pd.isna(r.get("diff_mean", np.nan)):
            vs = (
                f"{r['diff_mean']:+.4f} (sd {r['diff_sd']:.4f}, {r['n_positive']}/"
                f"{r['n_seeds']} seeds positive, p = {r['p']:.2g})"
                if r["n_seeds"] > 1
                else f"{r['diff_mean']:+.4f} (one seed)"
            )
        lines.append(
            f"| {r['family']} | {r['K']} | {r['param']} = {S._fmt(r['best'])}, wd {r['wd']:g} "
            f"| {r['test']:.4f} | {vs} |"
        )
    lines.append("")
    for name, part in g.groupby("family", sort=False):
        part = part.sort_values("K")
        bests = ", ".join(
            f"{S._fmt(b)} at K = {k}" for k, b in zip(part["K"], part["best"], strict=True)
        )
        first = part.iloc[0]
        if not first["changes"]:
            verdict = "the same at every K: the guideline's shift is not seen"
        elif first["as_guideline"]:
            verdict = "moves as the guideline says"
            if first.get("n_seeds", 0) > 1 and not pd.isna(first.get("p", np.nan)):
                verdict += (
                    f"; at K = {first['K']} it beats the largest K's best by "
                    f"{first['diff_mean']:+.4f} (paired over {first['n_seeds']:.0f} seeds, "
                    f"p = {first['p']:.2g})"
                )
            else:
                verdict += " (one seed: not tested against the seed spread)"
        else:
            verdict = "moves against the guideline"
        lines.append(f"- {name}: best {bests}; {verdict}.")
    return lines


def _tilts(df: pd.DataFrame) -> list[str]:
    lines = []
    for fam in S.families(df):
        tilt = S.tilt_table(df, fam)
        if tilt.empty:
            continue
        param = fam[1]
        small, large = (int(c.split("@")[1]) for c in tilt.columns if c.startswith("kept@"))
        lines += [
            "",
            f"{fam.name}, K-tilt (descriptive: defined after the first study's seed-0 "
            "results were seen):",
            "",
            f"| {param} | NDCG@{small} kept | NDCG@{large} kept | tilt (@{small} − @{large}) "
            "| seeds | paired p |",
            "| ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in tilt.to_dict("records"):
            sd = "" if pd.isna(r["sd"]) else f" ± {r['sd']:.4f}"
            p = "" if pd.isna(r["p"]) else f"{r['p']:.2g}"
            lines.append(
                f"| {S._fmt(r[param])} | {r[f'kept@{small}']:.1%} | {r[f'kept@{large}']:.1%} "
                f"| {r['mean']:+.4f}{sd} | {r['n']} | {p} |"
            )
    return lines


def _diverged(df: pd.DataFrame) -> list[str]:
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


def _ks(df: pd.DataFrame) -> tuple[int, ...]:
    ks = sorted({int(c.split("@")[1]) for c in df.columns if c.startswith("test_ndcg@")})
    return tuple(k for k in (5, 20, 50) if k in ks) or tuple(ks[:3])


def report_markdown(
    df: pd.DataFrame,
    *,
    dataset: str = "",
    reference: dict[str, tuple[float, float]] | None = None,
    planned_seeds: int | None = None,
    extended: pd.DataFrame | None = None,
) -> str:
    """The whole report of a sweep CSV (module docstring); ``reference`` is the paper's
    Table 2 for the data set, ``planned_seeds`` marks a guideline verdict interim;
    ``extended``, the study's rows with an extension of its grid
    (:func:`opauc_sim.train.guideline.extend`), adds the exploratory verdict after the
    pre-registered one."""
    from opauc_sim.train import guideline

    lines = _size(df)
    ks = _ks(df)
    for arm, part in S.arms(df):
        if arm == "oracle":
            lines += ["", "**Oracle arm** (`--exclude-heldout`: held-out items are never "
                      "negatives; a control, not a method):", ""]  # fmt: skip
        lines += _table2(part, reference if arm == "main" else None)
        lines += _per_k(part, ks)
        lines += _tilts(part)
        lines += _diverged(part)
    if S.families(df, full_items=True) != S.families(df):
        lines += ["", guideline.verdict_markdown(df, dataset=dataset, planned_seeds=planned_seeds)]
    if extended is not None:
        text = guideline.verdict_markdown(
            extended, dataset=dataset, planned_seeds=planned_seeds, exploratory=True
        )
        lines += ["", text]
    return "\n".join(lines).strip("\n")


def batching_markdown(user: pd.DataFrame, pair: pd.DataFrame, *, k: int = 50) -> str:
    """The pre-registered batching control (:func:`opauc_sim.train.guideline.
    batching_control`) as Markdown: per configuration, the pair-batched mean, the mean
    paired difference user − pair with its paired t-test p-value, and the 2% verdict."""
    from opauc_sim.train.guideline import batching_control

    t = batching_control(user, pair, k=k)
    t = t[t["n"] > 0] if len(t) else t
    if t.empty:
        return "Batching control: no configuration was run under both batchings with one seed."
    lines = [
        "Batching control (docs/guideline-test.md): user − pair batches, paired by seed; "
        "immaterial if |difference| < 2% of the pair-batched mean.",
        "",
        f"| config | seeds | NDCG@{k} pair | user − pair (p) | Recall@{k} pair "
        "| user − pair (p) | batching |",
        "| --- | ---: | ---: | --- | ---: | --- | --- |",
    ]
    for r in t.to_dict("records"):
        both = r["ndcg_immaterial"] and r["recall_immaterial"]
        lines.append(
            f"| {r['label']} | {r['n']} | {r['ndcg_pair']:.4f} "
            f"| {r['ndcg_diff']:+.4f} ({r['ndcg_p']:.2g}) | {r['recall_pair']:.4f} "
            f"| {r['recall_diff']:+.4f} ({r['recall_p']:.2g}) "
            f"| {'immaterial' if both else 'material'} |"
        )
    return "\n".join(lines)
