"""The authors' recipe against the project's, on the same configurations and seeds.

``opauc-sim train --authors-code`` reruns the authors' full recipe (negatives from all
items, summed losses, Adam's coupled weight decay on the whole tables, StepLR, no
validation, test after the last epoch); the default is the project's (negatives among
non-training items, mean loss, L2 on the batch, constant lr, validation every
``eval_every`` epochs, test at the epoch best on validation). Two sweeps with the same
grid, one per recipe, differ only in the recipe, so their rows pair up by configuration,
weight decay and seeds. :func:`recipe_table` lines them up; :func:`recipe_markdown` is
what ``opauc-sim report A.csv --against B.csv`` prints.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from opauc_sim.train import samplers
from opauc_sim.train.summary import _seed0, _selection_column

__all__ = ["recipe_gains", "recipe_markdown", "recipe_table"]

_OWNER = {"authors": "the authors'", "project": "the project's"}
_CHOSEN_ON = {"authors": "test", "project": "validation"}

#: The columns that pair a row of one recipe with a row of the other.
KEYS = ("sampler", "M", "N", "rho", "weight_decay", "seed", "split_seed", "epochs", "lr")


def _recipe(df: pd.DataFrame) -> str:
    if "authors_code" not in df or df["authors_code"].nunique() != 1:
        raise ValueError("each sweep must hold rows of one recipe (one value of authors_code)")
    return "authors" if bool(df["authors_code"].iloc[0]) else "project"


def _keyed(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` indexed by :data:`KEYS`, with NaN (rho of a non-softmax row) as -1 so that
    rows pair; floats rounded to 12 digits so that 1e-3 read from two CSVs pairs."""
    out = df.copy()
    for c in ("rho", "weight_decay", "lr"):
        out[c] = out[c].astype(float).fillna(-1.0).round(12)
    return out.set_index(list(KEYS))


def recipe_table(a: pd.DataFrame, b: pd.DataFrame, *, k: int = 50) -> pd.DataFrame:
    """Rows of two sweeps (one recipe each) paired on :data:`KEYS`.

    Parameters
    ----------
    a, b : pandas.DataFrame
        Sweep CSVs (``opauc-sim sweep``), each of a single recipe (``authors_code``).
    k : int
        The cut-off of the NDCG and Recall columns compared.

    Returns
    -------
    pandas.DataFrame
        One row per configuration run under both recipes: ``label``, ``weight_decay``,
        ``seed``, then for each recipe ``R`` (``authors``, ``project``) ``ndcg_R`` and
        ``recall_R`` (test, at the epoch that recipe reports: the last for the authors',
        the best on validation for the project's) and ``epoch_R``, and ``ndcg_ratio``,
        project over authors. Empty when nothing pairs.
    """
    ra, rb = _recipe(a), _recipe(b)
    if ra == rb:
        raise ValueError(f"both sweeps are of the {ra} recipe: nothing to compare")
    cols = {f"test_ndcg@{k}": "ndcg", f"test_recall@{k}": "recall", "best_epoch": "epoch"}
    for df in (a, b):
        missing = sorted(set(cols) - set(df.columns))
        if missing:
            raise ValueError(f"a sweep lacks the columns {missing} (k={k})")
    keyed = {ra: _keyed(a), rb: _keyed(b)}
    parts = {
        r: df[list(cols)].rename(columns={c: f"{v}_{r}" for c, v in cols.items()})
        for r, df in keyed.items()
    }
    both = parts["authors"].join(parts["project"], how="inner")
    labels = keyed[ra]["label"]
    both.insert(0, "label", labels[~labels.index.duplicated()].reindex(both.index).to_numpy())
    both["ndcg_ratio"] = both["ndcg_project"] / both["ndcg_authors"]
    measured = [f"{v}_{r}" for r in ("authors", "project") for v in cols.values()]
    both = both.reset_index()[["label", "weight_decay", "seed", *measured, "ndcg_ratio"]]
    return both.sort_values(["label", "weight_decay", "seed"])


def recipe_gains(a: pd.DataFrame, b: pd.DataFrame, *, k: int = 50) -> pd.DataFrame:
    """Each sampler's gain over RNS (BPR) under each recipe, at each method's best weight
    decay within that recipe (seed 0): chosen on test NDCG@k under the authors' recipe
    (it has no validation set) and on validation NDCG@k under the project's.

    Returns one row per (recipe, label) with ``sampler``, ``weight_decay``, ``ndcg`` (test) and
    ``gain`` (``ndcg`` over the recipe's BPR, minus one; NaN without a BPR row)."""
    rows = []
    for df in (a, b):
        recipe = _recipe(df)
        seed0 = _seed0(df)
        sel, _ = _selection_column(seed0, "ndcg", k)  # validation where the rows have it
        best = seed0.loc[seed0.groupby("label")[sel].idxmax()]
        base = best.loc[best["sampler"] == samplers.BASELINE, f"test_ndcg@{k}"]
        bpr = float(base.iloc[0]) if len(base) else np.nan
        for r in best.to_dict("records"):
            ndcg = float(r[f"test_ndcg@{k}"])
            rows.append(
                {
                    "recipe": recipe,
                    "sampler": r["sampler"],
                    "label": r["label"],
                    "weight_decay": float(r["weight_decay"]),
                    "ndcg": ndcg,
                    "gain": ndcg / bpr - 1,
                }
            )
    return pd.DataFrame(rows)


def recipe_markdown(a: pd.DataFrame, b: pd.DataFrame, *, k: int = 50) -> str:
    """:func:`recipe_table` and :func:`recipe_gains` as Markdown."""
    t = recipe_table(a, b, k=k)
    if t.empty:
        return "No configuration was run under both recipes."
    lines = [
        f"| config | wd | seed | authors NDCG@{k} / Recall@{k} | project NDCG@{k} / "
        f"Recall@{k} (epoch) | project / authors |",
        "| --- | ---: | ---: | --- | --- | ---: |",
    ]
    for r in t.to_dict("records"):
        lines.append(
            f"| {r['label']} | {r['weight_decay']:g} | {r['seed']} "
            f"| {r['ndcg_authors']:.4f} / {r['recall_authors']:.4f} "
            f"| {r['ndcg_project']:.4f} / {r['recall_project']:.4f} ({r['epoch_project']:.0f}) "
            f"| {r['ndcg_ratio']:.2f} |"
        )
    g = recipe_gains(a, b, k=k)
    paired = set(t["label"])
    g = g[g["label"].isin(paired) & (g["sampler"] != samplers.BASELINE)]
    lines += [""] if len(g) else []
    for r in g.to_dict("records"):
        lines.append(
            f"- {_OWNER[r['recipe']]} recipe: {r['label']} at its best wd {r['weight_decay']:g} "
            f"gives NDCG@{k} {r['ndcg']:.4f}, {r['gain']:+.1%} over BPR at its best wd "
            f"(weight decays chosen on {_CHOSEN_ON[r['recipe']]} NDCG@{k}, seed 0)."
        )
    return "\n".join(lines)
