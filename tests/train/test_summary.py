"""The training summaries (opauc_sim.train.summary, opauc_sim.train.report) on a synthetic
sweep table with seeds, where every selection is known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from opauc_sim.train import report as R
from opauc_sim.train import summary as study

PAPER = {"BPR": (0.1216, 0.2048), "DNS(M*, N)": (0.1811, 0.2989)}
DNS_M = study.Family("dns", "M", {"N": 200})


def _rows():
    rng = np.random.default_rng(0)
    rows = []

    def add(sampler, m, n, rho, wd, seed, base):
        label = {
            "rns": "RNS",
            "dns": f"DNS(M={m}, N={n})",
            "softmax": f"Softmax-v(rho={rho:g}, N={n})",
        }
        row = dict(
            sampler=sampler,
            M=m,
            N=n,
            rho=rho if sampler == "softmax" else np.nan,
            weight_decay=wd,
            authors_code=True,
            epochs=200,
            lr=1e-3,
            seed=seed,
            split_seed=seed,
            label=label[sampler],
        )
        for k in (5, 20, 50):
            row[f"test_ndcg@{k}"] = base * (1 + k / 100) + rng.normal(0, 0.002)
            row[f"test_recall@{k}"] = 1.5 * row[f"test_ndcg@{k}"]
        rows.append(row)

    for wd, base in ((0.01, 0.10), (0.001, 0.12)):
        add("rns", 1, 1, np.nan, wd, 0, base)
    for m, base in ((1, 0.16), (5, 0.18), (20, 0.15)):
        add("dns", m, 200, np.nan, 0.01, 0, base)
    for r, base in ((0.1, 0.15), (1.0, 0.17)):
        add("softmax", 1, 200, r, 0.01, 0, base)
    for seed in (1, 2):
        add("rns", 1, 1, np.nan, 0.001, seed, 0.12)
        add("dns", 5, 200, np.nan, 0.01, seed, 0.18)
        add("dns", 1, 200, np.nan, 0.01, seed, 0.16)
    return pd.DataFrame(rows)


def test_table2_uses_the_best_config_and_all_its_seeds():
    df = _rows()
    t = study.table2(df, reference=PAPER).set_index("method")
    assert t.loc["BPR", "config"] == "RNS" and t.loc["BPR", "wd"] == 0.001
    assert t.loc["DNS(M*, N)", "config"] == "DNS(M=5, N=200)"
    assert t.loc["DNS(M*, N)", "n_seeds"] == 3 and t.loc["Softmax-v(rho*, N)", "n_seeds"] == 1
    runs = df[(df.sampler == "dns") & (df.M == 5)]["test_ndcg@50"]
    assert t.loc["DNS(M*, N)", "ndcg"] == pytest.approx(runs.mean(), rel=1e-12)
    assert t.loc["DNS(M*, N)", "ndcg_sd"] == pytest.approx(runs.std(ddof=1), rel=1e-12)
    bpr = df[(df.sampler == "rns") & (df.weight_decay == 0.001)]["test_ndcg@50"].mean()
    assert t.loc["DNS(M*, N)", "ndcg vs BPR"] == pytest.approx(runs.mean() / bpr - 1)
    assert t.loc["DNS(M*, N)", "paper_ndcg"] == 0.1811
    assert (t["selected_on"] == "test").all()  # no validation columns in the rows


def test_paired_difference_is_scipys_paired_t_test():
    df = _rows()
    a = df[(df.sampler == "dns") & (df.M == 5)].iloc[0]
    b = df[(df.sampler == "dns") & (df.M == 1)].iloc[0]
    got = study.paired_difference(df, a, b, "test_ndcg@5")
    x = df[(df.sampler == "dns") & (df.M == 5)].sort_values("seed")["test_ndcg@5"]
    y = df[(df.sampler == "dns") & (df.M == 1)].sort_values("seed")["test_ndcg@5"]
    assert got["n"] == 3 and got["n_positive"] == 3
    assert got["mean"] == pytest.approx((x.to_numpy() - y.to_numpy()).mean(), rel=1e-12)
    assert got["p"] == pytest.approx(stats.ttest_rel(x, y).pvalue, rel=1e-12)


def test_guideline_and_markdown_render():
    df = _rows()
    g = study.guideline_per_k(df)
    dns = g[g.param == "M"]
    assert set(dns["K"]) == {5, 20, 50} and (dns["best"] == 5).all()
    text = R.report_markdown(df, reference=PAPER)
    assert "DNS(M=5, N=200), wd 0.01 | 3 |" in text and "0.1811 / 0.2989" in text
    (bpr,) = [line for line in text.splitlines() if line.startswith("| BPR |")]
    assert bpr.split("|")[6].strip() == ""  # no gain of BPR over itself


def test_report_command_prints_the_study_tables(tmp_path, capsys):
    from opauc_sim.cli import main

    path = tmp_path / "s.csv"
    _rows().assign(id=[f"{i:016x}" for i in range(len(_rows()))], dataset="gowalla").to_csv(
        path, index=False
    )
    assert main(["report", str(path)]) == 0
    out = capsys.readouterr().out
    assert "| BPR | RNS, wd 0.001 | 3 |" in out and "DNS's M (N = 200)" in out
    assert main(["report", str(tmp_path / "missing.csv")]) == 2


def test_param_curves_average_every_seed_of_each_value():
    df = _rows()
    tidy = study.param_curves(df, DNS_M)
    got = tidy[(tidy.metric == "ndcg") & (tidy.K == 5)].set_index("M")
    for m, n_seeds in ((1, 3), (5, 3), (20, 1)):
        runs = df[(df.sampler == "dns") & (df.M == m)]["test_ndcg@5"]
        assert got.loc[m, "n_seeds"] == n_seeds
        assert got.loc[m, "mean"] == pytest.approx(runs.mean(), rel=1e-12)
        assert (got.loc[m, "lo"], got.loc[m, "hi"]) == (runs.min(), runs.max())


def test_plot_param_marks_each_ks_best_on_the_relative_panel():
    pytest.importorskip("matplotlib")
    df = _rows()
    from opauc_sim.plots.train_sweep import make_figure

    fig = make_figure(df, DNS_M)
    rel = fig.axes[2]
    stars = [line for line in rel.get_lines() if line.get_marker() == "*"]
    assert len(stars) == 3  # one per K, each in its own row above 1
    assert all(line.get_xdata()[0] == 5 for line in stars)
    heights = [line.get_ydata()[0] for line in stars]
    assert min(heights) > 1.0 and len(set(heights)) == 3
    curves = [line for line in rel.get_lines() if line.get_marker() == "o"]
    assert all(max(line.get_ydata()) == 1.0 for line in curves)


def test_study_size_line_sums_every_run():
    df = _rows().assign(epoch_seconds_median=2.0, eval_seconds_total=30.0)
    per_run = 200 * 2.0 + 30.0
    assert (study.run_seconds(df) == per_run).all()
    first = R.report_markdown(df).splitlines()[0]
    assert first == (
        f"{len(df)} runs, {len(df) * per_run / 3600:.1f} core-hours of training and "
        f"evaluation (median run {per_run / 60:.1f} min)."
    )


def test_guideline_verdicts_say_whether_the_best_moves():
    text = R.report_markdown(_rows())
    (same,) = [line for line in text.splitlines() if line.startswith("- DNS's M")]
    assert same.startswith("- DNS's M (N = 200): best 5 at K = 5, 5 at K = 20, 5 at K = 50")
    assert same.endswith("the guideline's shift is not seen.")
    moving = _rows()
    for k, m in ((5, 1), (20, 1), (50, 5)):  # the best M rises with K: the guideline
        hit = (moving.sampler == "dns") & (moving.M == m)
        moving.loc[hit, f"test_ndcg@{k}"] += 0.1
    (line,) = [x for x in R.report_markdown(moving).splitlines() if x.startswith("- DNS's M")]
    assert "best 1 at K = 5, 1 at K = 20, 5 at K = 50; moves as the guideline says" in line
    assert "at K = 5 it beats the largest K's best by" in line  # M = 1 and 5: 3 seeds
    falling = _rows()
    for k, m in ((5, 20), (50, 1)):
        hit = (falling.sampler == "dns") & (falling.M == m)
        falling.loc[hit, f"test_ndcg@{k}"] += 0.1
    (line,) = [x for x in R.report_markdown(falling).splitlines() if x.startswith("- DNS's M")]
    assert line.endswith("moves against the guideline.")


def test_tilt_table_is_the_paired_kept_share_difference():
    df = _rows()
    tilt = study.tilt_table(df, DNS_M).set_index("M")
    assert list(tilt.index) == [1.0, 20.0]  # the best (M = 5) is the reference
    one = df[(df.sampler == "dns") & (df.M == 1)].sort_values("seed")
    best = df[(df.sampler == "dns") & (df.M == 5)].sort_values("seed")
    r5 = one["test_ndcg@5"].to_numpy() / best["test_ndcg@5"].to_numpy()
    r50 = one["test_ndcg@50"].to_numpy() / best["test_ndcg@50"].to_numpy()
    assert tilt.loc[1.0, "n"] == 3
    assert tilt.loc[1.0, "kept@5"] == pytest.approx(r5.mean(), rel=1e-12)
    assert tilt.loc[1.0, "mean"] == pytest.approx((r5 - r50).mean(), rel=1e-12)
    assert tilt.loc[1.0, "p"] == pytest.approx(stats.ttest_rel(r5, r50).pvalue, rel=1e-12)
    assert tilt.loc[20.0, "n"] == 1 and np.isnan(tilt.loc[20.0, "p"])
    text = R.report_markdown(df)
    assert "| 20 |" in text and "| M | NDCG@5 kept | NDCG@50 kept |" in text


def test_paired_methods_compares_each_best_with_bpr_and_dns_with_softmax():
    df = _rows()
    lines = [x for x in R.report_markdown(df).splitlines() if " paired over " in x]
    heads = [x.split(", NDCG@K")[0] for x in lines if "NDCG@K paired" in x]
    assert heads == [
        "- DNS(M=5, N=200) − RNS",
        "- Softmax-v(rho=1, N=200) − RNS",
        "- DNS(M=5, N=200) − Softmax-v(rho=1, N=200)",
    ]
    dns = df[(df.sampler == "dns") & (df.M == 5)].sort_values("seed")["test_ndcg@20"]
    bpr = df[(df.sampler == "rns") & (df.weight_decay == 0.001)].sort_values("seed")
    want = (dns.to_numpy() - bpr["test_ndcg@20"].to_numpy()).mean()
    assert f"K = 20: {want:+.4f}" in lines[0] and "paired over 3 seed(s)" in lines[0]
    assert "(one seed)" in lines[1]  # Softmax-v has seed 0 only


def test_arms_are_never_pooled():
    main = _rows().assign(exclude_heldout=False)
    oracle = _rows().assign(exclude_heldout=True)
    oracle["test_ndcg@50"] += 0.05
    both = pd.concat([main, oracle], ignore_index=True)
    assert [name for name, _ in study.arms(both)] == ["main", "oracle"]
    row = both[(both.sampler == "dns") & (both.M == 5) & ~both.exclude_heldout].iloc[0]
    assert len(study.seeds_of(both, row)) == 3  # not 6
    text = R.report_markdown(both)
    assert text.count("| DNS(M*, N) |") == 2 and "Oracle arm" in text
