"""opauc_sim.stats against scipy, ranx and definitions."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from opauc_sim import stats
from opauc_sim.metrics import evaluate

TOL = 1e-12


def _two_models(seed=0, n_users=60):
    rng = np.random.default_rng(seed)
    y = rng.random((n_users, 80)) < 0.1
    y[:, 0] = True
    base = rng.normal(size=(n_users, 80))
    a = evaluate(y, base + 0.3 * y, ks=(5, 20), betas=(0.1,), topk=("recall", "ndcg", "mrr"))
    b = evaluate(y, base + 0.6 * y, ks=(5, 20), betas=(0.1,), topk=("recall", "ndcg", "mrr"))
    ids = pd.Index([f"u{i}" for i in range(n_users)], name="user")
    a.index = b.index = ids
    return a, b


def test_p_values_equal_scipy():
    a, b = _two_models()
    res = stats.compare(a, b.iloc[::-1], correction=None, n_permutations=2000)
    for m in res.table.index:
        x, y = a[m].to_numpy(), b[m].to_numpy()
        assert abs(res.table.loc[m, "t_p"] - sps.ttest_rel(y, x).pvalue) < TOL, m
        assert abs(res.table.loc[m, "t_stat"] - sps.ttest_rel(y, x).statistic) < 1e-9, m
        assert abs(res.table.loc[m, "wilcoxon_p"] - sps.wilcoxon(y - x).pvalue) < TOL, m
        assert res.table.loc[m, "n"] == len(x)
        assert abs(res.table.loc[m, "diff"] - (y.mean() - x.mean())) < TOL
        d = y - x
        assert abs(res.table.loc[m, "d_z"] - d.mean() / d.std(ddof=1)) < TOL


def test_nan_rows_are_dropped_pairwise():
    rng = np.random.default_rng(3)
    x, y = rng.random(30), rng.random(30)
    x[[2, 5]] = np.nan
    y[7] = np.nan
    res = stats.compare(x, y, tests=("t", "wilcoxon"))
    keep = ~(np.isnan(x) | np.isnan(y))
    assert res.table.loc["value", "n"] == 27
    assert abs(res.table.loc["value", "t_p"] - sps.ttest_rel(y[keep], x[keep]).pvalue) < TOL
    assert abs(res.table.loc["value", "wilcoxon_p"] - sps.wilcoxon(y[keep] - x[keep]).pvalue) < TOL


def test_randomization_exact_by_enumeration():
    d = np.array([0.3, -0.1, 0.25, 0.05, 0.4, -0.2, 0.1, 0.15])
    _, p = stats._randomization(d, 10, np.random.default_rng(0))
    obs = abs(d.mean())
    flips = [abs(np.mean(np.array(s) * d)) for s in itertools.product((1, -1), repeat=len(d))]
    assert p == pytest.approx(np.mean([f >= obs - 1e-12 for f in flips]), abs=TOL)


@pytest.mark.parametrize("shift", [0.02, 0.05])
def test_randomization_agrees_with_ranx_within_monte_carlo_error(shift):
    ranx_tests = pytest.importorskip("ranx.statistical_tests")
    rng = np.random.default_rng(7)
    x = rng.random(200)
    y = x + shift + 0.3 * rng.standard_normal(200)
    n = 20_000
    ours = stats.compare(
        x, y, tests=("randomization",), stat_test="randomization", n_permutations=n, seed=1
    ).table.loc["value", "randomization_p"]
    theirs, _ = ranx_tests.fisher_randomization_test(x, y, n_permutations=n, random_seed=1)
    assert 0.005 < theirs < 0.995  # a p-value with Monte-Carlo error worth checking
    # both are binomial estimates of one p: 5 standard errors of their difference
    se = math.sqrt(2 * theirs * (1 - theirs) / n)
    assert abs(ours - theirs) < 5 * se + 1 / n


def test_holm_and_bonferroni():
    p = np.array([0.01, 0.04, 0.03, np.nan, 0.005])
    holm = stats._adjust(p, "holm")
    # by hand: sorted 0.005, 0.01, 0.03, 0.04 with factors 4, 3, 2, 1 and running max
    assert np.allclose(holm[[4, 0, 2, 1]], [0.02, 0.03, 0.06, 0.06], atol=TOL)
    assert np.isnan(holm[3])
    assert np.allclose(stats._adjust(p, "bonferroni")[[0, 1, 2, 4]], [0.04, 0.16, 0.12, 0.02])
    assert np.array_equal(stats._adjust(p, None), p, equal_nan=True)


def test_report_shape_and_latex():
    a, b = _two_models()
    res = stats.compare(a, b, names=("bpr", "dns"), n_permutations=500)
    rep = res.report()
    assert list(rep.index) == ["a bpr", "b dns"]
    assert list(rep.columns) == list(res.table.index)
    sig = res.significant()
    for m in rep.columns:
        better_b = res.table.loc[m, "mean_dns"] > res.table.loc[m, "mean_bpr"]
        assert rep.loc["b dns", m].endswith("^a") == bool(sig[m] and better_b)
    tex = res.to_latex(caption="MF on ML-100K")
    assert tex.startswith("\\begin{table}") and "\\toprule" in tex and "recall@5" in tex
    assert tex.count("\\\\") == 3
    assert "Superscript" in str(res)


def test_summarize_against_scipy_and_bootstrap():
    a, _ = _two_models()
    s = stats.summarize(a, confidence=0.9, n_boot=4000, seed=2)
    assert "n_pos" not in s.index
    for m in s.index:
        x = a[m].dropna().to_numpy()
        assert s.loc[m, "n"] == len(x)
        assert abs(s.loc[m, "mean"] - x.mean()) < TOL
        assert abs(s.loc[m, "se"] - sps.sem(x)) < TOL
        lo, hi = sps.t.interval(0.9, len(x) - 1, loc=x.mean(), scale=sps.sem(x))
        assert abs(s.loc[m, "t_low"] - lo) < TOL and abs(s.loc[m, "t_high"] - hi) < TOL
        # the percentile bootstrap is close to the t interval on ~normal means
        assert abs(s.loc[m, "boot_low"] - lo) < 0.25 * (hi - lo)
        assert s.loc[m, "boot_low"] < x.mean() < s.loc[m, "boot_high"]
    again = stats.summarize(a, confidence=0.9, n_boot=4000, seed=2)
    pd.testing.assert_frame_equal(s, again)


def test_bad_input():
    x = np.arange(5.0)
    with pytest.raises(ValueError, match="correction must be one of"):
        stats.compare(x, x, correction="fdr")
    with pytest.raises(ValueError, match=r"tests\[0\] must be one of"):
        stats.compare(x, x, tests=("z",))
    with pytest.raises(ValueError, match="same length"):
        stats.compare(x, x[:3])
    with pytest.raises(ValueError, match="same users"):
        stats.compare(pd.Series(x, index=list("abcde")), pd.Series(x, index=list("abcdz")))
    with pytest.raises(ValueError, match="metrics: 'auc'"):
        stats.compare(x, x, metrics=["auc"])
    with pytest.raises(ValueError, match="confidence must be < 1"):
        stats.summarize(x, confidence=1.0)


# ------------------------------------------------------------ degenerate differences


def test_constant_differences_are_not_significant_and_warn():
    """The issue's case: 2 users, both +0.1. scipy's ttest_rel says t huge, p ~ 0; the one
    rule says the t statistic is undefined (NaN, a warning naming the metric), and the
    model is not marked better."""
    a = pd.DataFrame({"recall@5": [0.2, 0.3]}, index=["u1", "u2"])
    b = a + 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy: "catastrophic cancellation"
        assert sps.ttest_rel(b["recall@5"], a["recall@5"]).pvalue < 1e-10  # what scipy says
    with pytest.warns(
        stats.DegenerateTestWarning,
        match=r"metric 'recall@5', t-test: all 2 paired differences equal 0.1",
    ):
        res = stats.compare(a, b)
    row = res.table.loc["recall@5"]
    assert math.isnan(row["t_stat"]) and math.isnan(row["t_p"]) and math.isnan(row["t_p_adj"])
    assert row["randomization_p"] == 0.5 and row["wilcoxon_p"] == 0.5  # exact, defined
    assert not res.significant()["recall@5"]
    assert "^" not in str(res)
    assert math.isnan(row["d_z"])


def test_zero_differences_give_p_one_in_every_test():
    a = np.array([0.2, 0.4, 0.6])
    res = stats.compare(a, a.copy())
    row = res.table.loc["value"]
    assert (row["t_stat"], row["t_p"]) == (0.0, 1.0)
    assert (row["wilcoxon_stat"], row["wilcoxon_p"]) == (0.0, 1.0)
    assert (row["randomization_stat"], row["randomization_p"]) == (0.0, 1.0)


def test_the_rule_and_the_public_tests():
    assert stats.degenerate([0.0, 0.0]) == "zero"
    assert stats.degenerate(np.array([0.3, 0.4]) - np.array([0.2, 0.3])) == "constant"
    assert stats.degenerate([0.1, 0.1 + 1e-9]) is None and stats.degenerate([0.1]) is None
    d = np.random.default_rng(0).normal(0.1, 0.2, 30)
    t, p = stats.paired_ttest(d)
    expected = sps.ttest_1samp(d, 0.0)
    assert abs(t - expected.statistic) < 1e-9 and abs(p - expected.pvalue) < TOL
    assert stats.paired_wilcoxon(d) == pytest.approx(tuple(sps.wilcoxon(d)), abs=TOL)
    assert stats.paired_randomization(d[:10])[1] == stats._randomization(d[:10], 10, None)[1]
    with pytest.warns(stats.DegenerateTestWarning, match="zero variance"):
        assert all(math.isnan(v) for v in stats.paired_ttest([0.5, 0.5, 0.5]))
    assert stats.paired_randomization([0.5] * 3)[1] == 0.25  # 2 of 2**3 sign patterns
    assert stats.paired_ttest([0.1]) == (pytest.approx(math.nan, nan_ok=True),) * 2
    with pytest.raises(ValueError, match="diffs must not hold NaN"):
        stats.paired_ttest([0.1, np.nan])
