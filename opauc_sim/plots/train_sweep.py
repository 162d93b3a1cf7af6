"""Training sweeps: test NDCG@K / Recall@K against M, N and rho (paper Fig. 8, 9, 10).

Reads every cached sweep ``results/train_<source>.csv`` (``opauc-sim sweep``) and writes,
for each hardness parameter with a grid there (:func:`opauc_sim.train.summary.families`),
``figures/train_<source>_<sampler>_<param>.png``: three panels against the parameter, one
colour per K: test NDCG@K, test Recall@K (seed means, error bars ±1 sd where a value has
several seeds), and NDCG@K relative to its best, where each K's best value is starred in
its own row above the curves (so that equal bests do not hide each other). BPR (RNS at
its selected weight decay) is the dashed line of each colour; a ring marks the value the
selection chose at that K (on validation, or on seed-0 test under the authors' recipe).
The paper's figure numbers: M is Fig. 8, N is Fig. 9, rho is Fig. 10.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from opauc_sim.results_cache import load_result, save_figure
from opauc_sim.train import summary as S

__all__ = ["draw", "make_figure", "sources"]

#: The paper's figure of each parameter (Shi et al., WWW 2023, Section 5).
PAPER_FIGURE = {"M": "Fig. 8", "N": "Fig. 9", "rho": "Fig. 10"}


def _axis_values(tidy: pd.DataFrame, param: str) -> tuple[list[float], list[str]]:
    pairs = sorted({(float(x), S._fmt(v)) for x, v in zip(tidy["x"], tidy[param], strict=True)})
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _bpr_level(df: pd.DataFrame, metric: str, k: int) -> float | None:
    best, _ = S.select(df, "rns", metric=metric, k=k)
    if best is None:
        return None
    return float(S.seeds_of(df, best)[f"test_{metric}@{k}"].mean())


def _metric_panel(ax, df, tidy, metric, ks, colours, param) -> None:
    for colour, k in zip(colours, ks, strict=True):
        part = tidy[(tidy["metric"] == metric) & (tidy["K"] == k)].sort_values("x")
        if part.empty:
            continue
        sd = part["sd"].fillna(0.0).to_numpy()
        ax.errorbar(part["x"], part["mean"], yerr=sd, fmt="-o", color=colour, ms=4, capsize=3)
        sel = part[part["selected"]]
        ax.plot(sel["x"], sel["mean"], "o", ms=11, mfc="none", mec=colour, mew=1.4)
        level = _bpr_level(df, metric, k)
        if level is not None:
            ax.axhline(level, color=colour, ls="--", lw=1)
    ax.set_ylabel(f"test {'NDCG' if metric == 'ndcg' else 'Recall'}@K")


def _relative_panel(ax, tidy, ks, colours, param) -> None:
    for i, (colour, k) in enumerate(zip(colours, ks, strict=True)):
        part = tidy[(tidy["metric"] == "ndcg") & (tidy["K"] == k)].sort_values("x")
        if part.empty:
            continue
        top = part["mean"].max()
        ax.plot(part["x"], part["mean"] / top, "-o", color=colour, ms=4)
        at = part.loc[part["mean"].idxmax(), "x"]
        ax.plot([at], [1.02 + 0.025 * i], "*", color=colour, ms=12, mec="k", mew=0.4)
    ax.axhline(1.0, color="0.6", lw=0.6)
    ax.set_ylabel(f"test NDCG@K / its best over {param}")


def make_figure(df: pd.DataFrame, family: S.Family, *, title: str = ""):
    """The three-panel figure of one family (module docstring)."""
    from opauc_sim._optional import require_matplotlib

    require_matplotlib()
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from opauc_sim.plots._style import k_colours

    sampler, param, _ = family
    ks = sorted({int(c.split("@")[1]) for c in df.columns if c.startswith("test_ndcg@")})
    ks = [k for k in ks if k in (5, 20, 50)] or ks[:3]
    tidy = S.param_curves(df, family, ks=ks)
    fig = Figure(figsize=(14.5, 4.2), layout="constrained")
    axes = fig.subplots(1, 3)
    colours = list(k_colours(len(ks)))
    for ax, metric in zip(axes[:2], ("ndcg", "recall"), strict=True):
        _metric_panel(ax, df, tidy, metric, ks, colours, param)
    _relative_panel(axes[2], tidy, ks, colours, param)
    values, labels = _axis_values(tidy, param) if len(tidy) else ([], [])
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xticks(values, labels)
        ax.set_xticks([], minor=True)
        ax.set_xlabel(r"$\rho$" if param == "rho" else param)
        ax.grid(alpha=0.3, lw=0.4)
    on_test = len(tidy) and S.select(df, sampler, k=ks[-1])[1]
    handles = [
        Line2D([], [], color=c, marker="o", ms=4, label=f"K={k}")
        for c, k in zip(colours, ks, strict=True)
    ]
    handles += [
        Line2D([], [], color="0.3", ls="--", label="BPR (RNS), selected wd"),
        Line2D([], [], color="0.3", marker="o", ls="", ms=10, mfc="none",
               label="chosen " + ("on seed-0 test" if on_test else "on validation")),
        Line2D([], [], color="0.3", marker="*", ls="", ms=10, label="best test mean at this K"),
        Line2D([], [], color="0.3", marker="|", ls="", ms=10, label="±1 sd over seeds"),
    ]  # fmt: skip
    fig.legend(handles=handles, loc="outside right center", fontsize=8, frameon=False)
    n = int(tidy["n_seeds"].max()) if len(tidy) else 0
    fig.suptitle(f"{title} (seeds per point: 1 to {n})" if title else "", fontsize=10)
    return fig


def sources(results_dir: str | Path = "results") -> list[str]:
    """The cached sweeps a figure is drawn from: ``train_*.csv`` with a sweep sidecar."""
    out = []
    for path in sorted(Path(results_dir).glob("train_*.csv")):
        try:
            _, meta = load_result(path.stem, results_dir)
        except (FileNotFoundError, ValueError):
            continue
        if meta.get("kind") == "sweep" or "dataset" in meta.get("params", {}):
            out.append(path.stem)
    return out


def _head(meta: dict) -> str:
    params = meta.get("params", {})
    recipe = "authors' recipe" if params.get("authors_code") else "project's recipe"
    return (
        f"{params.get('dataset', '?')}, MF, {params.get('epochs', '?')} epochs, "
        f"lr {params.get('lr', '?')}, {recipe}"
    )


def draw(results_dir: str = "results", out_dir: str = "figures") -> list[Path]:
    """One PNG per family of every cached sweep (module docstring)."""
    names = sources(results_dir)
    if not names:
        raise FileNotFoundError(
            f"no training sweep (train_*.csv) in {results_dir!r}; run 'opauc-sim sweep'"
        )
    written = []
    for name in names:
        df, meta = load_result(name, results_dir)
        for arm, part in S.arms(df):
            fams = S.families(part)
            for family in fams:
                sampler, param, fixed = family
                what = f"{family.name} ({PAPER_FIGURE.get(param, 'no paper figure')} analog)"
                stem = f"{name}_{sampler}_{param.lower()}"
                if sum(f[:2] == (sampler, param) for f in fams) > 1:  # e.g. M at two N
                    stem += "_" + "_".join(f"{k}{S._fmt(v)}" for k, v in fixed.items())
                stem += "" if arm == "main" else "_oracle"
                fig = make_figure(part, family, title=f"{_head(meta)}: {what}")
                written.append(save_figure(fig, stem, out_dir, dpi=120))
    return written
