"""Gowalla training study: test NDCG@K / Recall@K against M, N and rho (Fig. 8-10 analogs).

Reads ``results/train_gowalla.csv`` (``studies/gowalla.sh``) and writes
``figures/train_gowalla_dns_m.png``, ``..._dns_n.png`` and ``..._softmax_rho.png``: seed
means with min-max bands over seeds, BPR dashed (``opauc_sim.train.study.plot_param``).
"""

from __future__ import annotations

from pathlib import Path

from opauc_sim.results_cache import load_result, save_figure
from opauc_sim.train.study import plot_param

PANELS = (
    ("train_gowalla_dns_m", "dns", "M", {"N": 200}, "DNS(M, N=200) against M (Fig. 8 analog)"),
    ("train_gowalla_dns_n", "dns", "N", {"M": 5}, "DNS(M=5, N) against N (Fig. 9 analog)"),
    (
        "train_gowalla_softmax_rho",
        "softmax",
        "rho",
        {"N": 200},
        "Softmax-v(rho, N=200) against rho (Fig. 10 analog)",
    ),
)


def draw(results_dir: str = "results", out_dir: str = "figures") -> list[Path]:
    df, meta = load_result("train_gowalla", results_dir)
    params = meta.get("params", {})
    recipe = "authors' recipe" if params.get("authors_code") else "project recipe"
    head = f"Gowalla, MF, {params.get('epochs', '?')} epochs, lr {params.get('lr', '?')}, {recipe}"
    written = []
    for name, sampler, param, fixed, title in PANELS:
        sub = df[df["sampler"] == sampler]
        for key, value in fixed.items():
            sub = sub[sub[key] == value]
        if sub[param].nunique() < 2:
            continue  # not enough of the grid finished yet
        fig = plot_param(df, sampler, param, fixed=fixed, title=f"{head}: {title}")
        written.append(save_figure(fig, name, out_dir, dpi=120))
    return written
