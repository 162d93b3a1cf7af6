"""The pre-registered guideline test (docs/guideline-test.md): where the best M lands per K.

Reads ``results/guideline_<dataset>.csv`` (``studies/guideline.py``) and writes, per data
set and arm:

- ``figures/guideline_<dataset>[_oracle].png``: a heatmap of test NDCG@K relative to each
  K's best over M (columns K, rows M; 1 is the best), the theory's prediction M* = K as a
  dashed line, and the measured continuous M*(K) with its 95% bootstrap interval;
- ``figures/guideline_<dataset>[_oracle]_curves.png``: test NDCG@K and Recall@K against M,
  one colour per K, the seed mean with a ±1 sd band, BPR (RNS) dashed;
- where the study has an extension of its grid (``results/guideline_<dataset>_explore.csv``,
  docs/guideline-test.md, Deviations), both again on the union, named ``..._explore`` and
  titled exploratory (:func:`opauc_sim.train.guideline.extend`).

Weight decays, selection and statistic are those of :mod:`opauc_sim.train.guideline`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from opauc_sim.results_cache import load_result, save_figure
from opauc_sim.train import guideline as G
from opauc_sim.train import samplers

__all__ = ["draw", "make_curves", "make_heatmap", "relative_table"]


def relative_table(df: pd.DataFrame, *, oracle: bool, metric: str = "ndcg") -> pd.DataFrame:
    """Seed-mean test metric@K of DNS(M, all), rows M, columns K, divided by each K's max."""
    rows = G.arm_rows(df, oracle)
    dns = rows[rows["sampler"] != samplers.BASELINE]
    ks = G.study_ks(df)
    means = dns.groupby("M")[[f"test_{metric}@{k}" for k in ks]].mean()
    means.columns = ks
    return means / means.max(axis=0)


def _log_position(ms: list[int], values) -> np.ndarray:
    """Row positions (cell centres 0.5, 1.5, ...) of M values on the heatmap's log-M rows."""
    x = np.log(np.asarray(ms, dtype=float))
    v = np.log(np.clip(np.asarray(values, dtype=float), ms[0], ms[-1]))
    return np.interp(v, x, np.arange(len(ms))) + 0.5


def make_heatmap(
    df: pd.DataFrame, *, oracle: bool = False, title: str = "", exploratory: bool = False
):
    """The heatmap of :func:`relative_table` with the prediction and the measured M*(K)
    (``exploratory``: ``df`` is a study with its extension)."""
    from opauc_sim._optional import require_matplotlib

    require_matplotlib()
    import seaborn as sns
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    table = relative_table(df, oracle=oracle)
    ms, ks = [int(m) for m in table.index], [int(k) for k in table.columns]
    v = G.verdict(df, oracle=oracle, metric="ndcg", exploratory=exploratory)
    fig = Figure(figsize=(7.2, 5.4), layout="constrained")
    ax = fig.subplots()
    sns.heatmap(
        table, ax=ax, annot=True, fmt=".2f", cmap="viridis", vmin=max(0.0, table.min().min()),
        vmax=1.0, cbar_kws={"label": "test NDCG@K / best over M at that K"},
        annot_kws={"fontsize": 8},
    )  # fmt: skip
    cols = np.arange(len(ks)) + 0.5
    ax.plot(cols, _log_position(ms, ks), "--", color="deepskyblue", lw=2.2)
    if v is not None:
        centre = _log_position(ms, [v.m_cont[k] for k in ks])
        lo = _log_position(ms, [v.m_ci[k][0] for k in ks])
        hi = _log_position(ms, [v.m_ci[k][1] for k in ks])
        ax.errorbar(
            cols + 0.28, centre, yerr=[centre - lo, hi - centre], fmt="D", color="red",
            mec="white", ms=6, capsize=4, lw=1.5,
        )  # fmt: skip
    ax.set_xlabel("K")
    ax.set_ylabel("M of DNS(M, all)")
    ax.set_yticklabels([str(m) for m in ms], rotation=0)
    handles = [
        Line2D([], [], color="deepskyblue", ls="--", lw=2.2, label="predicted M* = K"),
        Line2D([], [], color="red", marker="D", ls="", label="measured M*(K), 95% CI"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    ax.figure.get_layout_engine().set(rect=(0, 0, 1, 1))
    if v is not None:
        lo_s, hi_s = min(v.seeds.values()), max(v.seeds.values())
        seeds = f"{lo_s} seed(s) per M" if lo_s == hi_s else f"{lo_s}–{hi_s} seeds per M"
        slope = f"slope {v.slope:+.2f} [{v.ci[0]:+.2f}, {v.ci[1]:+.2f}]"
        title = f"{title}\n{seeds}; {slope}; guideline {v.decision}"
    ax.set_title(title, fontsize=9)
    return fig


def make_curves(df: pd.DataFrame, *, oracle: bool = False, title: str = ""):
    """Test NDCG@K and Recall@K against M with ±1 sd seed bands, BPR dashed."""
    from opauc_sim._optional import require_matplotlib

    require_matplotlib()
    import seaborn as sns
    from matplotlib.figure import Figure

    from opauc_sim.plots._style import k_colours

    rows = G.arm_rows(df, oracle)
    ks = G.study_ks(df)
    colours = list(k_colours(len(ks)))
    fig = Figure(figsize=(12, 4.2), layout="constrained")
    axes = fig.subplots(1, 2)
    dns = rows[rows["sampler"] != samplers.BASELINE]
    rns = rows[rows["sampler"] == samplers.BASELINE]
    for ax, metric in zip(axes, ("ndcg", "recall"), strict=True):
        long = dns.melt(
            id_vars=["M", "seed"], value_vars=[f"test_{metric}@{k}" for k in ks],
            var_name="K", value_name="value",
        )  # fmt: skip
        long["K"] = long["K"].str.split("@").str[1].astype(int)
        sns.lineplot(
            data=long, x="M", y="value", hue="K", palette=colours, errorbar="sd",
            marker="o", ax=ax, legend=metric == "ndcg",
        )  # fmt: skip
        for colour, k in zip(colours, ks, strict=True):
            if len(rns):
                ax.axhline(rns[f"test_{metric}@{k}"].mean(), color=colour, ls="--", lw=1)
        ax.set_xscale("log")
        grid = sorted(dns["M"].unique())
        ax.set_xticks(grid, [str(int(m)) for m in grid])
        ax.set_xticks([], minor=True)
        ax.set_ylabel(f"test {'NDCG' if metric == 'ndcg' else 'Recall'}@K")
        ax.grid(alpha=0.3, lw=0.4)
    axes[0].legend(title="K (dashed: BPR)", fontsize=8)
    fig.suptitle(f"{title} (band: ±1 sd over seeds)", fontsize=10)
    return fig


def draw(results_dir: str = "results", out_dir: str = "figures") -> list[Path]:
    """Both figures for every cached guideline study and arm (module docstring)."""
    names = sorted(
        p.stem
        for p in Path(results_dir).glob("guideline_*.csv")
        if not p.stem.endswith(("_control", "_explore"))
    )
    if not names:
        raise FileNotFoundError(
            f"no guideline study (guideline_<dataset>.csv) in {results_dir!r}: its rows are "
            "opauc-sim sweep runs of the pre-registered grid (the repository's "
            "docs/guideline-test.md)"
        )
    written = []
    for name in names:
        df, _ = load_result(name, results_dir)
        written += _draw_study(df, name, out_dir)
        if (Path(results_dir) / f"{name}_explore.csv").is_file():
            extension, _ = load_result(f"{name}_explore", results_dir)
            union = G.extend(df, extension, option=f"{name}_explore.csv")
            written += _draw_study(union, name, out_dir, exploratory=True)
    return written


def _draw_study(df: pd.DataFrame, name: str, out_dir: str, *, exploratory: bool = False):
    """Both figures of each arm of one study (or of a study with its extension)."""
    dataset = name.removeprefix("guideline_")
    written = []
    for oracle in (False, True):
        if G.verdict(df, oracle=oracle, n_boot=10, exploratory=exploratory) is None:
            continue
        arm = "oracle arm (held-out items excluded)" if oracle else "main arm"
        head = f"{dataset}, DNS(M, all), {arm}"
        tag = "_oracle" if oracle else ""
        if exploratory:
            head, tag = f"{head}; EXPLORATORY: grid extended", f"{tag}_explore"
        fig = make_heatmap(df, oracle=oracle, title=head, exploratory=exploratory)
        written.append(save_figure(fig, f"{name}{tag}", out_dir))
        written.append(
            save_figure(make_curves(df, oracle=oracle, title=head), f"{name}{tag}_curves", out_dir)
        )
    return written
