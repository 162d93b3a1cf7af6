"""studies/guideline_numbers.py: the descriptive numbers of docs/guideline-test.md, Results."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests.train.test_guideline import _rows

ROOT = Path(__file__).resolve().parent.parent


def _study_script(name: str):
    """Import ``studies/<name>.py`` (not a package) for the duration of a module's tests."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "studies" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[name]


@pytest.fixture(scope="module")
def mod():
    yield from _study_script("guideline_numbers")


def test_crossing_is_linear_in_log_m_and_nan_without_one(mod):
    assert mod.crossing(np.array([1, 10, 100]), np.array([-1.0, -1.0, 1.0])) == pytest.approx(
        np.sqrt(1000)
    )
    assert mod.crossing(np.array([1, 10]), np.array([-2.0, 0.0])) == pytest.approx(10)
    assert np.isnan(mod.crossing(np.array([1, 10]), np.array([1.0, 2.0])))  # never below


def test_numbers_are_the_seed_means_and_the_paired_test_of_the_rows(mod):
    df = _rows(lambda k: 3 * k, seeds=4, noise=0.002)
    table = mod.numbers(df).set_index(["metric", "K"])
    dns = df[(df["sampler"] == "dns") & (df["M"] == 200)].sort_values("seed")
    rns = df[df["sampler"] == "rns"].sort_values("seed")
    col = "test_ndcg@20"
    row = table.loc[("ndcg", 20)]
    assert row["M=200"] == pytest.approx(dns[col].mean(), abs=1e-15)
    assert row["BPR"] == pytest.approx(rns[col].mean(), abs=1e-15)
    diff = dns[col].to_numpy() - rns[col].to_numpy()
    assert row["M=200-BPR"] == pytest.approx(diff.mean(), abs=1e-15)
    assert row["p"] == pytest.approx(stats.ttest_rel(dns[col], rns[col]).pvalue, rel=1e-12)
    assert row["paired seeds"] == 4 and len(table) == 10


@pytest.fixture(scope="module")
def diagnose():
    yield from _study_script("guideline_diagnose")


def test_training_opauc_counts_the_pairs_with_the_m_hardest_negatives(diagnose):
    """Against a count by hand: per user, sum_i max(0, m - a_i) / (n+ m), a_i the
    negatives above positive i; m >= n- is the AUC. Users 0 and 1005 sit in two blocks."""
    import scipy.sparse as sp

    rng = np.random.default_rng(3)
    n_users, n_items = 1010, 12
    dense = rng.random((n_users, n_items)) < 0.3
    dense[7] = False  # a user with no positive is left out
    train = sp.csr_matrix(dense)
    U, V = rng.normal(size=(n_users, 4)), rng.normal(size=(n_items, 4))
    scores = U @ V.T
    for m in (1, 3, 12):
        want = []
        for u in range(n_users):
            pos = train[u].indices
            if len(pos) == 0 or len(pos) == n_items:
                continue
            neg = np.delete(scores[u], pos)
            a = (neg[None, :] > scores[u, pos][:, None]).sum(1)
            mm = min(m, len(neg))
            want.append(np.maximum(0, mm - a).sum() / (len(pos) * mm))
        got = diagnose.train_opauc(train, U, V, m)
        assert got == pytest.approx(np.mean(want), rel=1e-12, abs=1e-15)


def test_theorem3_link_finds_the_opauc_argmax_and_the_rank_correlation(diagnose):
    df = _rows(lambda k: 20, seeds=2)  # NDCG@K peaks at M = 20 for every K
    for k in (5, 10, 20, 50, 100):
        ndcg = df[f"test_ndcg@{k}"]
        df[f"test_opauc@{k}/n_neg"] = 0.1 * ndcg  # the same order over M
    link = diagnose.theorem3_link(df)
    assert list(link["argmax M of OPAUC"]) == [20] * 5
    assert np.allclose(link["spearman"], 1.0)
    df["test_opauc@5/n_neg"] = -df["test_opauc@5/n_neg"]  # reversed order at K = 5
    link = diagnose.theorem3_link(df)
    assert link["spearman"].iloc[0] == pytest.approx(-1.0) and link["argmax M of OPAUC"][0] == 1


def _by_seed(d, m, col, seeds):
    """Column ``col`` of the BPR (``m`` None) or DNS(M=m) rows, indexed by seed."""
    one = d[d["sampler"] == "rns"] if m is None else d[(d["sampler"] == "dns") & (d["M"] == m)]
    return one.set_index("seed")[col].loc[seeds]


def test_arm_gap_pairs_the_two_arms_by_seed_over_the_seeds_both_have(mod):
    main = _rows(lambda k: 200, seeds=5, noise=0.002, seed=1)
    oracle = _rows(lambda k: 5, seeds=3, oracle=True, noise=0.002, seed=2)
    oracle = oracle[~((oracle["M"] == 50) & (oracle["seed"] == 2))]  # a run not yet landed
    df = pd.concat([main, oracle], ignore_index=True)
    table = mod.arm_gap(df).set_index(["metric", "K", "sampler"])
    assert len(table) == 2 * 5 * 9
    col = "test_recall@10"
    for key, m, seeds in (("M=5", 5, [0, 1, 2]), ("M=50", 50, [0, 1]), ("BPR", None, [0, 1, 2])):
        a, b = _by_seed(oracle, m, col, seeds), _by_seed(main, m, col, seeds)
        row = table.loc[("recall", 10, key)]
        assert row["paired seeds"] == len(seeds)
        assert row["main"] == pytest.approx(b.mean(), abs=1e-15)
        assert row["oracle-main"] == pytest.approx((a - b).mean(), abs=1e-15)
        assert row["p"] == pytest.approx(stats.ttest_rel(a, b).pvalue, rel=1e-12)
    assert table.loc[("ndcg", 5, "M=5"), "oracle-main"] > 0.05  # peak at 5 against 200
