"""The descriptive numbers of docs/guideline-test.md, Results, from the committed rows.

    .venv/bin/python studies/guideline_numbers.py results/guideline_gowalla.csv [--oracle | --arms]

Per K, for one arm of a guideline study at the chosen weight decays
(:func:`opauc_sim.train.guideline.arm_rows`): the seed-mean test NDCG@K and Recall@K of
DNS(M, all) per M and of BPR (RNS), the largest spread over the seeds of one M, the paired
difference of the largest M and BPR (by seed, with the paired t-test's p), and, post hoc (not
part of the pre-registered rule), the M at which the seed-mean NDCG@K of DNS(M, all) first
crosses BPR's (interpolated in log M). The verdict itself is `opauc-sim report`'s.

With ``--arms``, instead: per metric, K and sampler (DNS(M, all) per M, and BPR), over the
seeds both arms have, the seed means of the main arm and of the oracle arm
(``--exclude-heldout``), both at the main arm's chosen weight decays, and their difference
paired by seed (oracle − main, with the paired t-test's p).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from scipy import stats

from opauc_sim.train import guideline as G
from opauc_sim.train.sweep_files import read_rows


def crossing(ms: np.ndarray, gap: np.ndarray) -> float:
    """The first M where ``gap`` (DNS − BPR, ascending ``ms``) turns from < 0 to >= 0,
    linear in log M between the grid points; NaN if it never does."""
    x = np.log(np.asarray(ms, dtype=float))
    for i in range(len(x) - 1):
        if gap[i] < 0 <= gap[i + 1]:
            t = -gap[i] / (gap[i + 1] - gap[i])
            return float(np.exp(x[i] + t * (x[i + 1] - x[i])))
    return float("nan")


def numbers(df: pd.DataFrame, *, oracle: bool = False) -> pd.DataFrame:
    """One row per metric and K: the columns the module docstring lists."""
    rows = G.arm_rows(df, oracle)
    dns, rns = rows[rows["sampler"] == "dns"], rows[rows["sampler"] == "rns"]
    top = int(dns["M"].max())
    out = []
    for metric in ("ndcg", "recall"):
        for k in G.study_ks(df):
            col = f"test_{metric}@{k}"
            means = dns.groupby("M")[col].mean()
            a = dns[dns["M"] == top].set_index("seed")[col]
            b = rns.set_index("seed")[col]
            diff, p, n = _paired(a, b)
            gap = means.to_numpy() - b.mean()
            out.append(
                {"metric": metric, "K": k, **{f"M={m}": v for m, v in means.items()},
                 "BPR": b.mean(), "spread": dns.groupby("M")[col].agg(np.ptp).max(),
                 f"M={top}-BPR": diff, "p": p, "paired seeds": n,
                 "crosses BPR at M": crossing(means.index.to_numpy(), gap)}
            )  # fmt: skip
    return pd.DataFrame(out)


def arm_gap(df: pd.DataFrame) -> pd.DataFrame:
    """One row per metric, K and sampler: the columns of the module docstring's ``--arms``."""
    main_arm, oracle_arm = G.arm_rows(df, False), G.arm_rows(df, True)
    out = []
    for metric in ("ndcg", "recall"):
        for k in G.study_ks(df):
            col = f"test_{metric}@{k}"
            mains = _by_sampler(main_arm, col)
            for key, a in _by_sampler(oracle_arm, col).items():
                if key not in mains:
                    continue
                b = mains[key]
                seeds = a.index.intersection(b.index)
                d, p, n = _paired(a, b)
                out.append(
                    {"metric": metric, "K": k, "sampler": key, "main": b[seeds].mean(),
                     "oracle": a[seeds].mean(), "oracle-main": d, "p": p, "paired seeds": n}
                )  # fmt: skip
    return pd.DataFrame(out)


def _paired(a: pd.Series, b: pd.Series) -> tuple[float, float, int]:
    """Mean of ``a − b`` over the seeds both have, the paired t-test's p (NaN under 2), n."""
    seeds = a.index.intersection(b.index)
    p = stats.ttest_rel(a[seeds], b[seeds]).pvalue if len(seeds) > 1 else np.nan
    return float((a[seeds] - b[seeds]).mean()), float(p), len(seeds)


def _by_sampler(rows: pd.DataFrame, col: str) -> dict[str, pd.Series]:
    """``col`` by seed for BPR and for each DNS(M, all), keyed "BPR" and "M=<M>" in that order."""
    out = {"BPR": rows[rows["sampler"] == "rns"].set_index("seed")[col]}
    dns = rows[rows["sampler"] == "dns"]
    for m in sorted(dns["M"].unique()):
        out[f"M={int(m)}"] = dns[dns["M"] == m].set_index("seed")[col]
    return {k: v for k, v in out.items() if len(v)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", help="results/guideline_<dataset>.csv")
    which = ap.add_mutually_exclusive_group()
    which.add_argument("--oracle", action="store_true", help="the oracle arm (--exclude-heldout)")
    which.add_argument("--arms", action="store_true", help="oracle arm - main arm, by seed")
    args = ap.parse_args()
    df = read_rows(args.csv, option="csv")
    table = arm_gap(df) if args.arms else numbers(df, oracle=args.oracle)
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
