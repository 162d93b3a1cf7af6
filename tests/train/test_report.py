"""Sweep summaries (no torch): best config per K on validation, guideline verdict, table.

A synthetic sweep table is built where the validation optimum is known by construction.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from opauc_sim.train.report import best_per_k, comparison_table, guideline_verdict, markdown

ROOT = Path(__file__).resolve().parents[1]


def _sweep(best_m=None, best_rho=None) -> pd.DataFrame:
    """Valid and test NDCG/Recall@K peak at best_m[K] (DNS) and best_rho[K] (Softmax-v)."""
    best_m = best_m or {5: 1, 20: 3, 50: 10}
    best_rho = best_rho or {5: 10.0, 20: 1.0, 50: 0.1}
    rows = [{"sampler": "rns", "label": "RNS", "M": 1, "N": 1, "rho": np.nan, "base": 0.8}]
    for m in (1, 3, 10):
        rows.append(
            {
                "sampler": "dns",
                "label": f"DNS(M={m}, N=200)",
                "M": m,
                "N": 200,
                "rho": np.nan,
                "peak": ("M", m),
            }
        )
    for rho in (0.1, 1.0, 10.0):
        rows.append(
            {
                "sampler": "softmax",
                "label": f"Softmax-v(rho={rho:g}, N=200)",
                "M": 1,
                "N": 200,
                "rho": rho,
                "peak": ("rho", rho),
            }
        )
    out = []
    for r in rows:
        r = dict(r)
        peak = r.pop("peak", None)
        base = r.pop("base", 1.0)
        for k in (5, 20, 50):
            target = best_m[k] if peak and peak[0] == "M" else best_rho[k]
            hit = 1.0 if peak and peak[1] == target else 0.9
            value = base * hit * (0.1 + k / 100)
            for split in ("valid", "test"):
                for metric in ("ndcg", "recall"):
                    r[f"{split}_{metric}@{k}"] = value * (1.1 if metric == "recall" else 1.0)
        r["weight_decay"] = 1e-4
        out.append(r)
    return pd.DataFrame(out)


def test_best_per_k_follows_validation():
    best = best_per_k(_sweep(), "dns")
    assert best["M"].tolist() == [1, 3, 10]
    best = best_per_k(_sweep(), "softmax")
    assert best["rho"].tolist() == [10.0, 1.0, 0.1]


def test_guideline_verdict_holds_and_fails():
    ok = guideline_verdict(_sweep())
    assert ok["dns"]["holds"] and ok["dns"]["strict"] and ok["dns"]["verdict"] == "supported"
    assert ok["softmax"]["holds"]
    bad = guideline_verdict(_sweep(best_m={5: 10, 20: 3, 50: 1}, best_rho={5: 0.1, 20: 1, 50: 10}))
    assert not bad["dns"]["holds"] and not bad["softmax"]["holds"]
    assert bad["dns"]["verdict"] == "contradicted"
    assert "dns_N" not in ok  # no N grid at M = 5 in this table
    flat = guideline_verdict(_sweep(best_m={5: 3, 20: 3, 50: 3}))
    assert flat["dns"]["holds"] and flat["dns"]["verdict"] == "no change"


def test_comparison_table_gain_over_bpr():
    table = comparison_table(_sweep(), k=50)
    assert table["method"].tolist() == ["BPR (RNS)", "DNS(M*, N)", "Softmax-v(rho*, N)"]
    gain = 1 / (0.8 * 0.9) - 1  # RNS: base 0.8, off-peak 0.9
    np.testing.assert_allclose(table["ndcg@50 vs BPR"], [0.0, gain, gain])
    assert "| 50 | M = 10" in markdown(_sweep())


@pytest.mark.parametrize("name", ["dns_m", "softmax_rho", "dns_n"])
def test_figure_scripts_draw(name, tmp_path):
    module = importlib.import_module(f"opauc_sim.plots.train_{name}")
    df = _sweep()
    if name == "dns_n":
        df.loc[df["sampler"] == "dns", "N"] = [10, 50, 200]
        df.loc[df["sampler"] == "dns", "M"] = 5
    fig = module.make_figure(df)
    assert len(fig.axes) == 2
    with pytest.raises(FileNotFoundError, match="opauc-sim sweep"):
        module.draw(results_dir=str(tmp_path), out_dir=str(tmp_path))
