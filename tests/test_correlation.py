"""The beta-peak correlation study: exact moments, Monte Carlo, scipy agreement, determinism."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from opauc_sim import correlation as corr
from opauc_sim import rankings
from opauc_sim.metrics import ranks as rm
from tests import reference_sim as ref


def _enumerated_curve(n_pos, n_neg, ks, betas):
    """Population Pearson over every arrangement, from the definitions on full rankings."""
    rows = []
    labels = [ref.materialise(p, n_neg) for p in ref.all_arrangements(n_pos, n_neg)]
    y = {b: [ref.opauc_area(lab, b) for lab in labels] for b in betas}
    for metric in ("recall", "precision", "ndcg"):
        for k in ks:
            if metric == "recall":
                x = [ref.hits(lab, k) / n_pos for lab in labels]
            elif metric == "precision":
                x = [ref.hits(lab, k) / k for lab in labels]
            else:
                x = [ref.ndcg(lab, k) for lab in labels]
            for b in betas:
                rows.append(ref.population_pearson(x, y[b]))
    return np.array(rows)


@pytest.mark.parametrize(
    ("n_pos", "n_neg", "ks", "betas"),
    [
        (3, 5, [1, 2, 4, 7], [0.2, 0.35, 0.5, 0.7, 1.0]),
        (4, 4, [1, 3, 5], [0.1, 0.25, 0.6, 1.0]),
        (1, 6, [1, 2, 6], [1 / 6, 0.4, 1.0]),
        (6, 2, [2, 7], [0.3, 0.5, 1.0]),
    ],
)
def test_exact_matches_exhaustive_enumeration(n_pos, n_neg, ks, betas):
    """exact=True equals the population Pearson over all C(n, n_pos) rankings (1e-12)."""
    curve = corr.beta_curve(n_pos, n_neg, ks=ks, betas=betas, exact=True)
    np.testing.assert_allclose(
        curve["corr"].to_numpy(), _enumerated_curve(n_pos, n_neg, ks, betas), rtol=0, atol=1e-12
    )
    assert list(curve.columns) == ["metric", "k", "beta", "corr"]


def test_exact_moments_closed_forms():
    """E[hits@K] = K n_pos / n, E[C(1)] = n_pos n_neg / 2, Var(C(1)) = n_pos n_neg (n+1) / 12."""
    n_pos, n_neg, k = 7, 11, 5
    n = n_pos + n_neg
    f = np.zeros(n)
    f[:k] = 1
    m = corr.exact_moments(n_pos, n_neg, f, [1.0])
    assert m["ex"] == pytest.approx(k * n_pos / n, rel=1e-13)
    # hits@K is hypergeometric.
    var_h = k * (n_pos / n) * (n_neg / n) * (n - k) / (n - 1)
    assert m["exx"] - m["ex"] ** 2 == pytest.approx(var_h, rel=1e-12)
    assert m["ey"][0] == pytest.approx(n_pos * n_neg / 2, rel=1e-13)
    assert m["eyy"][0] - m["ey"][0] ** 2 == pytest.approx(n_pos * n_neg * (n + 1) / 12, rel=1e-11)


def _fig6_small():
    return dict(ks=[1, 5, 10, 20, 50, 100], betas=corr.fig6_grid(800, 31))


def test_monte_carlo_agrees_with_exact_within_ci():
    """On the Fig. 6 setting, Monte Carlo 95% CIs cover the exact value about 95% of the time
    (pooled over 8 independent runs, as the points of one run are strongly correlated), and
    no point is far outside."""
    grid = _fig6_small()
    exact = corr.beta_curve(200, 800, **grid, exact=True)["corr"]
    covered = []
    for seed in range(8):
        mc = corr.beta_curve(200, 800, **grid, n_rankings=4096, seed=seed)
        covered.append((mc["ci_low"] <= exact) & (exact <= mc["ci_high"]))
        se = (mc["ci_high"] - mc["ci_low"]) / (2 * 2.04)
        assert ((mc["corr"] - exact).abs() / se).max() < 5.5
        assert (mc["n_rankings"] == 4096).all()
    rate = float(np.mean(covered))
    assert 0.88 < rate < 0.995


def test_monte_carlo_ci_shrinks_with_n():
    """The CI half-width scales like 1 / sqrt(n_rankings)."""
    kw = dict(ks=[5], betas=[0.01, 1.0], metrics=["recall"])
    w1 = corr.beta_curve(50, 200, **kw, n_rankings=4096, seed=1)
    w2 = corr.beta_curve(50, 200, **kw, n_rankings=65536, seed=1)
    ratio = ((w1.ci_high - w1.ci_low) / (w2.ci_high - w2.ci_low)).to_numpy()
    assert ((ratio > 2.5) & (ratio < 6.5)).all()


@pytest.mark.parametrize("method", ["pearson", "spearman", "kendall"])
def test_matches_scipy_on_the_same_rankings(method):
    """beta_curve equals scipy's pearsonr / spearmanr / kendalltau(tau-b) computed between
    Recall/Precision/NDCG@K and Norm_OPAUC (McClish) on the very same rankings."""
    n_pos, n_neg, n = 12, 40, 700
    ks = [1, 3, 10]
    betas = [0.025, 0.1, 0.55, 1.0]
    curve = corr.beta_curve(n_pos, n_neg, ks=ks, betas=betas, method=method, n_rankings=n, seed=3)
    pos = rankings.uniform(n_pos, n_neg, n, seed=3)
    y = rm.opauc(pos, n_neg, betas, normalize="mcclish")
    xs = {
        "recall": rm.recall_at_k(pos, n_neg, ks),
        "precision": rm.precision_at_k(pos, n_neg, ks),
        "ndcg": rm.ndcg_at_k(pos, n_neg, ks),
    }
    fn = {"pearson": stats.pearsonr, "spearman": stats.spearmanr, "kendall": stats.kendalltau}[
        method
    ]
    expect = [
        fn(xs[m][:, a], y[:, b]).statistic
        for m in ("recall", "precision", "ndcg")
        for a in range(3)
        for b in range(4)
    ]
    np.testing.assert_allclose(curve["corr"].to_numpy(), expect, rtol=0, atol=1e-12)
    assert (curve["ci_low"] <= curve["corr"]).all() and (curve["corr"] <= curve["ci_high"]).all()


def test_deterministic_across_chunk_sizes_and_threads():
    """The Monte Carlo curve and CI are bit-identical for every chunk size and thread count
    (2 threads where NUMBA_NUM_THREADS allows it)."""
    import numba

    kw = dict(ks=[1, 7, 30], betas=corr.fig6_grid(150, 9), n_rankings=5000, seed=9)
    base = corr.beta_curve(40, 150, **kw)
    for chunk in (64, 320, 4096):
        for n_threads in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            other = corr.beta_curve(40, 150, **kw, chunk_size=chunk, n_threads=n_threads)
            pd.testing.assert_frame_equal(base, other, check_exact=True)


def test_binormal_generator_and_quality():
    """Better rankings (larger mu) move the curves; mu = 0 agrees with the exact uniform."""
    kw = dict(ks=[5], betas=[0.01, 0.1, 1.0], metrics=["recall"])
    exact = corr.beta_curve(30, 120, **kw, exact=True)
    b0 = corr.beta_curve(30, 120, **kw, generator="binormal", mu=0.0, n_rankings=20_000)
    assert ((b0.ci_low <= exact["corr"]) & (exact["corr"] <= b0.ci_high)).mean() >= 2 / 3
    b2 = corr.beta_curve(30, 120, **kw, generator="binormal", mu=2.0, n_rankings=20_000)
    assert (b2["corr"] - exact["corr"]).abs().max() > 0.05


def test_normalisation_does_not_matter():
    """Correlations against raw OPAUC, OPAUC/beta and McClish's Norm_OPAUC are equal."""
    pos = rankings.uniform(10, 30, 500, seed=2)
    x = rm.recall_at_k(pos, 30, 5)
    vals = [
        stats.pearsonr(x, rm.opauc(pos, 30, 0.2, normalize=nm)).statistic
        for nm in (None, "max", "mcclish")
    ]
    assert max(vals) - min(vals) < 1e-12


def test_constant_variable_gives_nan():
    """K = n makes hits@K constant: its correlation is NaN, not a number from round-off."""
    c = corr.beta_curve(3, 4, ks=[7], betas=[0.5, 1.0], metrics=["recall"], exact=True)
    assert c["corr"].isna().all()
    m = corr.beta_curve(3, 4, ks=[7], betas=[0.5], metrics=["recall"], n_rankings=500)
    assert m["corr"].isna().all()


def test_binormal_study_is_reproducible_from_a_seed_object():
    """The same SeedSequence (or Generator) passed twice gives the same study, equal to the
    int seed's (a regression: spawning advanced the caller's SeedSequence)."""
    kw = dict(ks=[2], betas=[0.1, 1.0], metrics=["recall"], n_rankings=256)
    ss = np.random.SeedSequence(3)
    first = corr.binormal_study([0.0, 0.5], 10, 30, seed=ss, **kw)[0]
    again = corr.binormal_study([0.0, 0.5], 10, 30, seed=ss, **kw)[0]
    from_int = corr.binormal_study([0.0, 0.5], 10, 30, seed=3, **kw)[0]
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    pd.testing.assert_frame_equal(first, from_int, check_exact=True)
    g = np.random.default_rng(4)
    a = corr.binormal_study([0.5], 10, 30, seed=g, **kw)[0]
    pd.testing.assert_frame_equal(a, corr.binormal_study([0.5], 10, 30, seed=g, **kw)[0])


def test_binormal_study_draws_each_stream_once(monkeypatch):
    """Each mu's rankings are generated once: the negatives in the top K come from the
    curve's own sums (they used to be drawn a second time), and equal a direct count."""
    calls = []
    real = rankings.iter_chunks

    def counting(*args, **kwargs):
        calls.append(kwargs.get("mu"))
        return real(*args, **kwargs)

    monkeypatch.setattr(rankings, "iter_chunks", counting)
    kw = dict(ks=[1, 4], betas=[0.1, 1.0], metrics=["ndcg"], n_rankings=300, seed=2)
    _, peaks = corr.binormal_study([0.0, 1.0], 10, 30, **kw)
    assert calls == [0.0, 1.0]
    monkeypatch.setattr(rankings, "iter_chunks", real)
    ss = np.random.SeedSequence(2, spawn_key=(1,))  # mu = 1.0's stream
    pos = np.concatenate([c for _, c in real(10, 30, 300, generator="binormal", mu=1.0, seed=ss)])
    neg_top = [4 - (pos < 4).sum(axis=1).mean(), 1 - (pos < 1).sum(axis=1).mean()]
    got = peaks[peaks.mu == 1.0].set_index("k")["neg_in_top_k"]
    assert got[4] == pytest.approx(neg_top[0], abs=1e-12)
    assert got[1] == pytest.approx(neg_top[1], abs=1e-12)


def test_exact_accepts_the_default_seed_only(tmp_path, capsys):
    """exact=True draws no ranking: the default seed passes, any other is refused (it used
    to be ignored silently), and the CLI says so in one line."""
    from opauc_sim.cli import main

    kw = dict(ks=[2], betas=[0.5], metrics=["recall"], exact=True)
    assert len(corr.beta_curve(10, 30, seed=0, **kw)) == 1
    argv = ["simulate", "curve", "--n-pos", "10", "--n-neg", "30", "--ks", "2", "--exact"]
    assert (
        main([*argv, "--seed", "3", "--no-figure", "--quiet", "--results-dir", str(tmp_path)]) == 2
    )
    err = capsys.readouterr().err.strip()
    assert err == (
        "opauc-sim simulate: error: seed applies to Monte Carlo only (exact=True draws none), got 3"
    )
    assert not list(tmp_path.iterdir())  # nothing written


def test_moment_kernel_sums_match_direct():
    """The streaming moment-sum kernel adds up exactly the per-ranking hits, DCG and C."""
    from opauc_sim.correlation.kernels import _first_table, _moment_sums_batch

    rng = np.random.default_rng(3)
    n_pos, n_neg = 6, 9
    pos = np.stack([np.sort(rng.choice(15, n_pos, replace=False)) for _ in range(70)])
    ks = np.array([1, 4, 10])
    ms = np.array([1.0, 2.5, 9.0])
    hits = rm.hits_at_k(pos, n_neg, ks)
    dcg = rm.dcg_at_k(pos, n_neg, ks)
    y = rm.pair_count(pos, n_neg, ms / n_neg)
    x = np.concatenate((hits, dcg), axis=1)
    shift_x = x[0].copy()
    shift_y = y[0].copy()
    block = 32
    sums = np.empty((3, 1 + 2 * 6 + 2 * 3 + 18))
    first = _first_table(ms, n_neg)
    _moment_sums_batch(pos, hits, dcg, ms, first, True, True, shift_x, shift_y, block, sums)
    for b in range(3):
        xs = x[b * block : (b + 1) * block] - shift_x
        ys = y[b * block : (b + 1) * block] - shift_y
        expect = np.concatenate(
            ([len(xs)], xs.sum(0), (xs**2).sum(0), ys.sum(0), (ys**2).sum(0), (xs.T @ ys).ravel())
        )
        np.testing.assert_allclose(sums[b], expect, rtol=1e-12, atol=1e-9)


def test_exact_is_scale_free_at_tiny_beta():
    """For beta * n_neg <= 1, C(beta) = beta * n_neg * #{a_i = 0}: the curve is flat, so
    exact Pearson at beta = 1e-9 equals that at beta = 1e-3 (a regression: the zero-variance
    test compared Var(C) with an absolute floor and returned NaN below beta ~ 1e-8)."""
    c = corr.beta_curve(20, 80, ks=[1, 5], betas=[1e-9, 1e-3], metrics=["ndcg"], exact=True)
    tiny, small = c[c.beta == 1e-9]["corr"].to_numpy(), c[c.beta == 1e-3]["corr"].to_numpy()
    assert np.isfinite(tiny).all()
    np.testing.assert_allclose(tiny, small, rtol=0, atol=1e-9)


def test_fig6_claims_exact():
    """Regression on the exact Fig. 6 setting: peaks rise with K, peak corr > 0.8, NDCG keeps
    more of its peak to the left, Recall = Precision; K = 1 and K = 100 are the exceptions
    (K = 1 is flat below beta = 1/n_neg; at K = 100 the AUC correlation exceeds 0.4)."""
    curve = corr.beta_curve(
        200, 800, ks=[1, 5, 10, 20, 50, 100], betas=corr.fig6_grid(), exact=True
    )
    claims = corr.check_paper_claims(curve)
    assert list(claims.claim.unique()) == list(corr.CLAIMS)  # every claim, by its stable key
    summary = claims[claims.scope == "all"].set_index("claim")["holds"]
    assert summary["peak_order"] and summary["peak_above"] and summary["ndcg_left"]
    assert summary["recall_eq_precision"]
    failed = claims[(claims.scope != "all") & (claims.holds == False)]  # noqa: E712
    assert set(failed.claim) == {"peak", "auc_below"}
    assert {s.split("@")[1] for s in failed.scope} == {"1", "100"}
    peaks = corr.peak_beta(curve)
    assert list(peaks.columns) == ["metric", "k", "beta", "corr", "corr_at_1", "interior"]
    assert len(peaks) == 18


def test_auc_claim_is_not_applicable_without_beta_one():
    """Without beta = 1 in the grid the AUC claim is not applicable (NaN), not true or false;
    the other claims are still judged."""
    curve = corr.beta_curve(20, 80, ks=[2, 5], betas=[0.01, 0.05, 0.2, 0.5], exact=True)
    claims = corr.check_paper_claims(curve)
    auc = claims[claims.claim == "auc_below"]
    assert auc["holds"].isna().all()
    assert auc[auc.scope == "all"]["detail"].item() == "not applicable on this curve"
    summary = claims[claims.scope == "all"].set_index("claim")["holds"]
    assert bool(summary["recall_eq_precision"]) and bool(summary["peak_above"])


def test_peak_beta_and_ci_columns():
    """peak_beta keeps the CI of Monte Carlo curves and takes the first maximum."""
    c = pd.DataFrame(
        {
            "metric": "ndcg",
            "k": 3,
            "beta": [0.5, 0.1, 1.0],
            "corr": [0.9, 0.9, 0.2],
            "ci_low": [0.8, 0.85, 0.1],
            "ci_high": [1.0, 0.95, 0.3],
        }
    )
    p = corr.peak_beta(c)
    assert p.loc[0, "beta"] == 0.1 and p.loc[0, "ci_low"] == 0.85
    with pytest.raises(ValueError, match="lacks columns"):
        corr.peak_beta(c.drop(columns="corr"))


def test_peak_law_refines():
    """The coarse-to-fine search finds the peak of a fine exact curve."""
    law = corr.peak_law([(20, 80, 5)], metrics=["recall"], n_coarse=11, n_fine=21)
    fine = corr.beta_curve(
        20, 80, ks=[5], betas=np.geomspace(1 / 80, 1, 400), metrics=["recall"], exact=True
    )
    best = fine.loc[fine["corr"].idxmax()]
    assert law.loc[0, "corr_peak"] == pytest.approx(best["corr"], abs=2e-3)
    assert math.isclose(law.loc[0, "k_over_n"], 0.05)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(n_pos=0), ValueError, "n_pos must be >= 1, got 0"),
        (dict(n_neg=0), ValueError, "n_neg must be >= 1, got 0"),
        (dict(ks=[5, 60]), ValueError, r"ks\[1\] must be <= 50, got 60"),
        (dict(ks=[0]), ValueError, r"ks\[0\] must be >= 1"),
        (dict(ks=[]), ValueError, "ks must not be empty"),
        (dict(betas=[0.0, 0.5]), ValueError, r"betas\[0\] must be > 0"),
        (dict(betas=[0.5, 1.01]), ValueError, r"betas\[1\] must be <= 1"),
        (dict(betas=[float("nan")]), ValueError, "finite"),
        (dict(betas=[]), ValueError, "betas must not be empty"),
        (dict(metrics=["auc"]), ValueError, "metrics"),
        (dict(metrics=["ndcg", "ndcg"]), ValueError, "repeat"),
        (dict(method="tau"), ValueError, "method"),
        (dict(generator="zipf"), ValueError, "generator"),
        (dict(n_rankings=1), ValueError, "n_rankings"),
        (dict(chunk_size=100), ValueError, "multiple of 64"),
        (dict(exact=True, method="spearman"), ValueError, "exact=True"),
        (dict(exact=True, generator="binormal"), ValueError, "exact=True"),
        (dict(exact=True, seed=5), ValueError, "seed applies to Monte Carlo only.*got 5"),
        (dict(exact=True, seed=None), ValueError, "seed applies to Monte Carlo only"),
        (dict(exact=True, seed=np.random.SeedSequence(0)), ValueError, "seed"),
        (dict(exact="yes"), TypeError, "exact"),
    ],
)
def test_bad_input(kwargs, error, match):
    """Bad arguments raise, naming the argument and the value."""
    args = dict(n_pos=10, n_neg=40, ks=[5], betas=[0.5], n_rankings=100)
    args.update(kwargs)
    n_pos, n_neg = args.pop("n_pos"), args.pop("n_neg")
    with pytest.raises(error, match=match):
        corr.beta_curve(n_pos, n_neg, **args)


@pytest.mark.slow
def test_monte_carlo_1e6_close_to_exact():
    """At 1e6 rankings Monte Carlo is within 0.005 of exact everywhere on the Fig. 6 grid."""
    grid = _fig6_small()
    exact = corr.beta_curve(200, 800, **grid, exact=True)
    mc = corr.beta_curve(200, 800, **grid, n_rankings=1_000_000, seed=1)
    assert (mc["corr"] - exact["corr"]).abs().max() < 0.005
    ok = (mc["ci_low"] <= exact["corr"]) & (exact["corr"] <= mc["ci_high"])
    assert ok.mean() > 0.85


@pytest.mark.parametrize(
    ("n_pos", "n_neg", "k"), [(200, 800, 5), (50, 950, 20), (500, 500, 100), (3, 5, 2), (7, 1, 8)]
)
def test_auc_correlation_closed_form(n_pos, n_neg, k):
    """corr(metric@K, AUC) = -corr_r(f(r), r) over the n ranks, equal to the exact DP."""
    exact = corr.beta_curve(
        n_pos, n_neg, ks=[k], betas=[1.0], metrics=["recall", "ndcg"], exact=True
    )["corr"].to_numpy()
    closed = [corr.auc_correlation(n_pos, n_neg, k, m) for m in ("recall", "ndcg")]
    np.testing.assert_allclose(exact, closed, rtol=0, atol=1e-12, equal_nan=True)


def test_fit_peak_law_recovers_a_planted_law():
    """A table with beta_peak = 1.5 K / n exactly is fitted with slope 1 and ratio 1.5."""
    rows = [
        {
            "n_pos": p,
            "n_neg": q,
            "k": k,
            "metric": "recall",
            "beta_peak": 1.5 * k / (p + q),
            "k_over_n": k / (p + q),
            "k_over_n_neg": k / q,
        }
        for p, q in [(50, 200), (300, 700)]
        for k in (2, 5, 20)
    ]
    fit = corr.fit_peak_law(pd.DataFrame(rows)).set_index("scale")
    assert fit.loc["K/n", "slope"] == pytest.approx(1.0)
    assert fit.loc["K/n", "ratio"] == pytest.approx(1.5)
    assert fit.loc["K/n", "max_rel_err"] == pytest.approx(0.0, abs=1e-12)
    assert fit.loc["K/n_neg", "max_rel_err"] > 0.05


def _load_figure_script(name):
    import importlib

    return importlib.import_module(f"opauc_sim.plots.{name}")


def test_simulate_fig6_cli_writes_cache_tables_and_figures(tmp_path, capsys):
    """`opauc-sim simulate fig6` (small) caches curves/peaks/claims, prints the peak table
    and the claim checks, and its figures are drawn from the cache alone."""
    from opauc_sim.cli import main
    from opauc_sim.results_cache import load_result

    code = main(
        [
            "simulate",
            "fig6",
            "--n-rankings",
            "2048",
            "--n-betas",
            "13",
            "--quiet",
            "--results-dir",
            str(tmp_path),
            "--out-dir",
            str(tmp_path),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "Fig. 6 peak table" in out and "peak_order" in out and "recall_eq_precision" in out
    curves, meta = load_result("fig6_curves", tmp_path)
    assert set(curves["source"]) == {"monte_carlo", "exact"}
    assert len(curves) == 2 * 3 * 6 * 13
    assert meta["params"]["n_rankings"] == 2048 and meta["seed"] == 0
    peaks, _ = load_result("fig6_peaks", tmp_path)
    assert len(peaks) == 2 * 18
    assert (tmp_path / "beta_curves.png").stat().st_size > 10_000
    assert (tmp_path / "beta_curves_by_k.png").stat().st_size > 10_000


def test_simulate_curve_peak_law_and_binormal_cli(tmp_path, capsys, monkeypatch):
    """The other subcommands run end to end on small settings and cache their results."""
    from opauc_sim.cli import main
    from opauc_sim.correlation import studies
    from opauc_sim.results_cache import load_result

    common = ["--quiet", "--results-dir", str(tmp_path), "--out-dir", str(tmp_path)]
    assert (
        main(
            [
                "simulate",
                "curve",
                "--n-pos",
                "20",
                "--n-neg",
                "80",
                "--ks",
                "2",
                "5",
                "--n-betas",
                "9",
                "--exact",
                "--save",
                "mycurve",
                *common,
            ]
        )
        == 0
    )
    assert len(load_result("mycurve", tmp_path)[0]) == 3 * 2 * 9
    assert (tmp_path / "mycurve.png").stat().st_size > 10_000  # the curve is drawn
    monkeypatch.setattr(studies, "LAW_SIZES", [(20, 80), (30, 70)])
    monkeypatch.setattr(studies, "LAW_KS", [1, 2, 5])
    assert main(["simulate", "peak-law", *common]) == 0
    law, meta = load_result("peak_law", tmp_path)
    assert len(law) == 2 * 3 * 2 and meta["fit"]
    assert (
        main(
            [
                "simulate",
                "binormal",
                "--mus",
                "0",
                "1.5",
                "--n-rankings",
                "1024",
                "--n-betas",
                "9",
                *common,
            ]
        )
        == 0
    )
    peaks, _ = load_result("binormal_peaks", tmp_path)
    assert set(peaks["mu"]) == {0.0, 1.5}
    assert (peaks["neg_in_top_k"] >= 0).all()
    assert main(["simulate", "methods", "--n-rankings", "512", "--n-betas", "7", *common]) == 0
    methods, _ = load_result("fig6_methods_curves", tmp_path)
    assert set(methods["method"]) == {"pearson (exact)", "spearman", "kendall"}
    for name in ("peak_law.png", "binormal_peaks.png", "methods.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    capsys.readouterr()


def test_figure_scripts_are_pure():
    """make_figure builds a Figure from a DataFrame without touching pyplot's global state."""
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    curve = corr.beta_curve(10, 30, ks=[1, 3], betas=[0.1, 0.5, 1.0], exact=True)
    mc = corr.beta_curve(10, 30, ks=[1, 3], betas=[0.1, 0.5, 1.0], n_rankings=256)
    df = pd.concat([curve.assign(source="exact"), mc.assign(source="monte_carlo")])
    for name in ("beta_curves", "beta_curves_by_k"):
        fig = _load_figure_script(name).make_figure(df)
        assert len(fig.axes) >= 2
    assert plt.get_fignums() == before


def test_simulate_curve_draws_the_defined_curves_and_names_the_rest(tmp_path, capsys):
    """K = n makes Recall@K and Precision@K constant: their correlation is NaN at every
    beta. The command draws NDCG@K and names the two instead of failing on an all-NaN
    slice; with no curve defined the figure says so."""
    from opauc_sim.cli import main
    from opauc_sim.plots import beta_curves

    common = ["--quiet", "--results-dir", str(tmp_path), "--out-dir", str(tmp_path), "--exact"]
    argv = ["simulate", "curve", "--n-pos", "10", "--n-neg", "10", "--ks", "20", "--save", "k_is_n"]
    assert main([*argv, *common]) == 0
    out = capsys.readouterr().out
    assert "undefined (the metric is constant over the rankings" in out
    assert "Precision@20, Recall@20" in out
    assert (tmp_path / "k_is_n.png").stat().st_size > 10_000
    curve = corr.beta_curve(10, 10, ks=[20], betas=[0.5, 1.0], metrics=["recall"], exact=True)
    with pytest.raises(ValueError, match=r"no curve is defined .*: Recall@20"):
        beta_curves.make_figure(curve.assign(source="exact"))
