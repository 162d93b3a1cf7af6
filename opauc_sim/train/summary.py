"""The summaries of a training sweep: selection, Table 2, the guideline per K, the curves.

Works on the CSV of ``opauc-sim sweep`` (one row per finished configuration and seed; one
seed is just ``n_seeds = 1``). A *configuration* is (sampler and its parameters, weight
decay, recipe, batching, arm); its *seeds* are rows that differ only in the training seed
and the split seed. An *arm* is the main one or the oracle control (``exclude_heldout``):
rows of the two are never pooled.

1. **Selection.** A configuration is chosen on its seed-0 validation metric when the rows
   have one; under the authors' recipe (no validation set) on the seed-0 test metric, as
   the paper did, and the tables say so. The other seeds measure the chosen configuration.
2. **Table 2** (:func:`table2`): BPR (RNS) and each sampler's best, mean ± sd over seeds,
   gains over BPR, and the paper's numbers where the data set's registry entry has them.
3. **The guideline per K** (:func:`guideline_per_k`): along each parameter of the sampler
   registry that sets hardness (DNS's M and N, Softmax-v's rho, PNS's alpha), the best
   value at each K, and whether it moves as "the smaller the K, the harder the negatives"
   says; the pre-registered test of DNS over all items is :mod:`opauc_sim.train.guideline`.
4. **Curves** (:func:`param_curves`): the tidy data of the Fig. 8-10 analogs, drawn by
   :mod:`opauc_sim.plots.train_sweep`.

Every paired test goes through :mod:`opauc_sim.stats` (one rule for degenerate input).

    opauc-sim report results/train_<dataset>.csv
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from opauc_sim.train import samplers

__all__ = [
    "Family",
    "arms",
    "config_columns",
    "families",
    "guideline_per_k",
    "paired_difference",
    "param_curves",
    "run_seconds",
    "seeds_of",
    "select",
    "table2",
    "tilt_table",
]

#: The columns that name a configuration apart from its seeds (those a CSV has).
_CONFIG = (
    "sampler",
    *samplers.PARAMS,
    "weight_decay",
    "authors_code",
    "epochs",
    "lr",
    "batching",
    "exclude_heldout",
)
_NUMERIC = ("M", "rho", "alpha", "weight_decay", "lr")


def config_columns(df: pd.DataFrame) -> list[str]:
    """The columns that name a configuration apart from its seeds."""
    return [c for c in _CONFIG if c in df.columns]


def _same(values: pd.Series, value: Any) -> np.ndarray:
    """``values == value`` for a CSV column: NaN equals NaN, floats compare with
    ``isclose``, anything else (N may be ``"all"``) as text."""
    if isinstance(value, float) and np.isnan(value):
        return values.isna().to_numpy()
    try:
        return np.isclose(values.astype(float).to_numpy(), float(value))
    except (TypeError, ValueError):
        return (values.astype(str) == str(value)).to_numpy()


def arms(df: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """``[("main", rows), ("oracle", rows)]``, the arms present (oracle: ``exclude_heldout``)."""
    if "exclude_heldout" not in df:
        return [("main", df)] if len(df) else []
    oracle = df["exclude_heldout"].astype(str).str.lower().isin(("true", "1", "1.0"))
    out = [("main", df[~oracle]), ("oracle", df[oracle])]
    return [(name, part) for name, part in out if len(part)]


def _selection_column(df: pd.DataFrame, metric: str, k: int) -> tuple[str, bool]:
    """The column that selects at K: validation where the rows have it, else test."""
    valid = f"valid_{metric}@{k}"
    if valid in df.columns and df[valid].notna().any():
        return valid, False
    return f"test_{metric}@{k}", True


def _seed0(df: pd.DataFrame) -> pd.DataFrame:
    if "seed" not in df.columns:
        return df
    split = df["split_seed"] if "split_seed" in df.columns else 0
    return df[(df["seed"] == 0) & (split == 0)]


def _family_rows(df: pd.DataFrame, sampler: str, fixed: dict | None = None) -> pd.DataFrame:
    sub = df[df["sampler"] == sampler]
    for key, value in (fixed or {}).items():
        sub = sub[_same(sub[key], value)]
    return sub


def select(
    df: pd.DataFrame,
    sampler: str,
    *,
    metric: str = "ndcg",
    k: int = 50,
    fixed: dict | None = None,
) -> tuple[pd.Series | None, bool]:
    """The best seed-0 row of ``sampler`` (matching ``fixed``) at ``metric@k``, and whether
    it was chosen on test (no validation in the rows)."""
    sub = _seed0(_family_rows(df, sampler, fixed))
    if sub.empty:
        return None, False
    col, on_test = _selection_column(sub, metric, k)
    sub = sub[sub[col].notna()] if col in sub else sub.iloc[:0]
    if sub.empty:
        return None, on_test
    return sub.loc[sub[col].idxmax()], on_test


def seeds_of(df: pd.DataFrame, row: pd.Series) -> pd.DataFrame:
    """Every row of ``row``'s configuration (all seeds), seed 0 first."""
    mask = np.ones(len(df), dtype=bool)
    for c in config_columns(df):
        mask &= _same(df[c], row[c]) if c in _NUMERIC or c == "N" else (df[c] == row[c]).to_numpy()
    out = df[mask]
    order = [c for c in ("split_seed", "seed") if c in out]
    return out.sort_values(order) if order else out


def _mean_sd(values) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    sd = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
    return float(values.mean()), sd


def paired_p(d: np.ndarray) -> float:
    """Two-sided paired t-test p-value of the differences ``d``: :func:`opauc_sim.stats.
    paired_ttest`, with its rule for degenerate differences (all 0: 1; all equal and not 0:
    NaN and a warning; fewer than 2: NaN). A NaN difference (a run that diverged) makes it
    NaN, as it makes the mean difference."""
    from opauc_sim import stats

    d = np.asarray(d, dtype=float)
    if np.isnan(d).any():
        return float("nan")
    return stats.paired_ttest(d, what="paired t-test over seeds")[1]


def _seed_keys(df: pd.DataFrame) -> list[str]:
    """The columns that pair rows of two configurations: (seed, split seed), those there."""
    keys = [c for c in ("seed", "split_seed") if c in df.columns]
    if not keys:
        raise ValueError("the rows have no seed column to pair configurations by")
    return keys


def paired_difference(df: pd.DataFrame, a: pd.Series, b: pd.Series, column: str) -> dict:
    """``column`` of configuration ``a`` minus ``b``, paired by (seed, split seed).

    Returns the number of pairs, the mean and sd of the differences, how many are
    positive, and the two-sided paired t-test p-value (:mod:`opauc_sim.stats`; NaN with
    fewer than two pairs).
    """
    keys = _seed_keys(df)
    ra = seeds_of(df, a).set_index(keys)[column]
    rb = seeds_of(df, b).set_index(keys)[column]
    both = ra.index.intersection(rb.index)
    d = ra.loc[both].to_numpy(float) - rb.loc[both].to_numpy(float)
    return {
        "n": len(d),
        "mean": float(d.mean()) if len(d) else float("nan"),
        "sd": float(d.std(ddof=1)) if len(d) > 1 else float("nan"),
        "n_positive": int((d > 0).sum()),
        "p": paired_p(d),
    }


def _method_name(spec: samplers.SamplerSpec) -> str:
    """Table 2's name of a sampler's best: ``BPR``, ``DNS(M*, N)``, ``Softmax-v(rho*, N)``."""
    if spec.name == samplers.BASELINE:
        return "BPR"
    return f"{spec.title}({', '.join(f'{p}*' if p != 'N' else p for p in spec.params)})"


def table2(
    df: pd.DataFrame, *, k: int = 50, reference: dict[str, tuple[float, float]] | None = None
) -> pd.DataFrame:
    """Table 2 analog: BPR and each sampler's best (chosen at K = ``k``, at the paper's
    N = 200 where the rows have it), mean ± sd over its seeds.

    ``reference`` maps a method name (``"BPR"``, ``"DNS(M*, N)"``, ...) to the paper's
    (NDCG@k, Recall@k). Columns: ``method``, ``config``, ``wd``, ``n_seeds``,
    ``ndcg``/``ndcg_sd``, ``recall``/``recall_sd``, ``selected_on``, the paper's values
    and ``ndcg / paper`` where given, and the gains over BPR's mean.
    """
    rows = []
    base = None
    for spec in samplers.SAMPLERS.values():
        best, on_test = _table2_best(df, spec, k)
        if best is None:
            continue
        runs = seeds_of(df, best)
        ndcg, ndcg_sd = _mean_sd(runs[f"test_ndcg@{k}"])
        recall, recall_sd = _mean_sd(runs[f"test_recall@{k}"])
        name = _method_name(spec)
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
        if reference and name in reference:
            row["paper_ndcg"], row["paper_recall"] = reference[name]
            row["ndcg / paper"] = ndcg / reference[name][0]
        base = row if spec.name == samplers.BASELINE else base
        rows.append(row)
    table = pd.DataFrame(rows)
    if base is not None and len(table):
        table["ndcg vs BPR"] = table["ndcg"] / base["ndcg"] - 1
        table["recall vs BPR"] = table["recall"] / base["recall"] - 1
    return table


def _table2_best(df: pd.DataFrame, spec: samplers.SamplerSpec, k: int):
    """A sampler's best for Table 2: at the paper's N = 200 when the rows have it (the
    paper's protocol), else over every N."""
    if "N" in spec.params and "N" in df:
        best, on_test = select(df, spec.name, k=k, fixed={"N": samplers.CLI_DEFAULT_N})
        if best is not None:
            return best, on_test
    return select(df, spec.name, k=k)


class Family(tuple):
    """``(sampler, param, fixed)``: the rows of ``sampler`` whose other parameters equal
    ``fixed``, along ``param`` (one of the registry's hardness parameters)."""

    __slots__ = ()

    def __new__(cls, sampler: str, param: str, fixed: dict):
        return super().__new__(cls, (sampler, param, dict(fixed)))

    @property
    def name(self) -> str:
        sampler, param, fixed = self
        spec = samplers.SAMPLERS[sampler]
        rest = ", ".join(f"{k} = {_fmt(v)}" for k, v in fixed.items())
        return f"{spec.title}'s {param}" + (f" ({rest})" if rest else "")

    @property
    def harder(self) -> str:
        return samplers.PARAMS[self[1]].harder


def _fmt(value: Any) -> str:
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return str(value)


def families(df: pd.DataFrame, *, full_items: bool = False) -> list[Family]:
    """Every :class:`Family` with two or more values at seed 0, in registry order.

    A sampler's rows are grouped by their other parameters; N = ``"all"`` (the
    pre-registered study, :mod:`opauc_sim.train.guideline`) only with ``full_items``.
    """
    out = []
    seed0 = _seed0(df)
    for spec in samplers.SAMPLERS.values():
        rows = seed0[seed0["sampler"] == spec.name] if "sampler" in seed0 else seed0.iloc[:0]
        for param in spec.params:
            if not samplers.PARAMS[param].harder or param not in rows:
                continue
            others = [p for p in spec.params if p != param and p in rows]
            keyed = rows.assign(**{f"_{p}": rows[p].astype(str) for p in others})
            groups = keyed.groupby([f"_{p}" for p in others]) if others else [((), keyed)]
            for _, part in groups:
                if part[param].nunique() < 2:
                    continue
                fixed = {p: part[p].iloc[0] for p in others}
                if not full_items and str(fixed.get("N")) == samplers.ALL:
                    continue
                out.append(Family(spec.name, param, fixed))
    return out


def _number(value: Any) -> float:
    return float("inf") if str(value) == samplers.ALL else float(value)


def guideline_per_k(
    df: pd.DataFrame, *, ks: Sequence[int] = (5, 20, 50), metric: str = "ndcg"
) -> pd.DataFrame:
    """Per family and K: the best value (seed 0, chosen as :func:`select` does), and the
    paired difference against the best at the largest K on ``metric@K``.

    Columns: ``family`` (its name), ``param``, ``K``, ``best``, ``wd``, ``test``,
    ``selected_on``, ``as_guideline`` (the best moves the harder way as K shrinks),
    ``changes`` (it moves at all), and, where the best differs from the largest K's,
    ``diff_mean``, ``diff_sd``, ``n_seeds``, ``n_positive``, ``p``.
    """
    rows = []
    for fam in families(df):
        sampler, param, fixed = fam
        best_at = {}
        for k in ks:
            row, on_test = select(df, sampler, metric=metric, k=k, fixed=fixed)
            if row is not None:
                best_at[k] = (row, on_test)
        if len(best_at) < 2:
            continue
        ref_k = max(best_at)
        values = [_number(best_at[k][0][param]) for k in sorted(best_at)]
        steps = np.diff(values)
        # As K grows the best must get easier: larger for "lower is harder" (M).
        ok = bool((steps >= 0).all()) if fam.harder == "lower" else bool((steps <= 0).all())
        for k, (row, on_test) in sorted(best_at.items()):
            entry = {
                "family": fam.name,
                "param": param,
                "K": k,
                "best": row[param],
                "wd": float(row["weight_decay"]),
                "test": float(row[f"test_{metric}@{k}"]),
                "selected_on": "test" if on_test else "validation",
                "as_guideline": ok,
                "changes": bool((steps != 0).any()),
            }
            ref = best_at[ref_k][0]
            if str(row[param]) != str(ref[param]):
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


def tilt_table(
    df: pd.DataFrame,
    family: Family,
    *,
    small: int = 5,
    large: int = 50,
    metric: str = "ndcg",
) -> pd.DataFrame:
    """How much of its best each K keeps at every value of the family's parameter.

    For each value ``v`` (its best seed-0 weight decay) and each seed it shares with the
    best value ``b`` at K = ``large``, the kept shares are ``r_K = metric@K(v) /
    metric@K(b)``, and the tilt is ``r_small - r_large`` (negative: the small K loses
    more). Defined after the first training study's seed-0 results were seen:
    descriptive, not a pre-registered test.

    Returns one row per value: the parameter, ``kept@small``, ``kept@large`` (seed
    means), the tilt's ``mean`` and ``sd``, ``n`` (seeds) and ``p`` (paired t-test of
    ``r_small`` against ``r_large``, :mod:`opauc_sim.stats`; NaN below two seeds).
    """
    sampler, param, fixed = family
    best, _ = select(df, sampler, metric=metric, k=large, fixed=fixed)
    if best is None:
        return pd.DataFrame()
    keys = _seed_keys(df)
    ref = seeds_of(df, best).set_index(keys)
    fam = _family_rows(df, sampler, fixed)
    rows = []
    for value in sorted(fam[param].dropna().unique(), key=_number):
        at = fam[_same(fam[param], value)]
        row, _ = select(at, sampler, metric=metric, k=large)
        if row is None or str(value) == str(best[param]):
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
        rows.append(
            {
                param: value,
                f"kept@{small}": kept[small].mean(),
                f"kept@{large}": kept[large].mean(),
                "mean": d.mean(),
                "sd": d.std(ddof=1) if len(d) > 1 else float("nan"),
                "n": len(d),
                "p": paired_p(d),
            }
        )
    return pd.DataFrame(rows)


def param_curves(
    df: pd.DataFrame, family: Family, *, ks: Sequence[int] = (5, 20, 50)
) -> pd.DataFrame:
    """Tidy data for the Fig. 8-10 analogs: test metric@K against the family's parameter.

    For each value (rows of the family), the weight decay is the one :func:`select`
    chooses at that K; every seed of that configuration contributes. Columns: the
    parameter, ``x`` (its number; ``all`` is the largest), ``metric``, ``K``, ``mean``,
    ``sd``, ``lo``, ``hi`` (min and max over seeds), ``n_seeds``, ``valid`` (seed-0
    selection value) and ``selected`` (the value chosen on that selection at this K).
    """
    sampler, param, fixed = family
    sub = _family_rows(df, sampler, fixed)
    out = []
    for metric in ("ndcg", "recall"):
        for k in ks:
            part = []
            for value in sorted(sub[param].dropna().unique(), key=_number):
                rows = sub[_same(sub[param], value)]
                best, _ = select(rows, sampler, metric=metric, k=k)
                if best is None:
                    continue
                vals = seeds_of(df, best)[f"test_{metric}@{k}"].to_numpy(float)
                mean, sd = _mean_sd(vals)
                col, _ = _selection_column(rows, metric, k)
                part.append(
                    {
                        param: value,
                        "x": _number(value),
                        "metric": metric,
                        "K": k,
                        "mean": mean,
                        "sd": sd,
                        "lo": vals.min(),
                        "hi": vals.max(),
                        "n_seeds": len(vals),
                        "valid": float(best[col]),
                    }
                )
            if part:
                top = max(p["valid"] for p in part)
                for p in part:
                    p["selected"] = p["valid"] == top
                out += part
    return pd.DataFrame(out)


def run_seconds(df: pd.DataFrame) -> pd.Series:
    """Each row's training and evaluation time: epochs run times ``epoch_seconds_median``
    plus ``eval_seconds_total`` (a diverged or early-stopped run counts its epochs up to
    ``diverged_epoch`` / ``stopped_epoch``)."""
    epochs = df["epochs"].astype(float)
    for column in ("stopped_epoch", "diverged_epoch"):
        if column in df:
            epochs = df[column].fillna(epochs)
    return epochs * df["epoch_seconds_median"] + df["eval_seconds_total"].fillna(0.0)
