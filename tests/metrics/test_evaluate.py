"""opauc_sim.metrics._evaluate: evaluate equals the single functions, exclude, K beyond n_items,
OPAUC at K / n_neg, normalisations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from opauc_sim.metrics import (
    auc,
    evaluate,
    ndcg_at_k,
    opauc,
    precision_at_k,
    recall_at_k,
)
from tests import reference as ref
from tests.metrics.common import RANK, TOL, close, quiet
from tests.strategies import (
    score_matrices,
    score_rows,
)


@given(score_matrices(max_items=12), st.data())
def test_evaluate_equals_the_single_metric_functions(mat, data):
    """evaluate's columns are exactly the single-metric functions' values."""
    labels, scores = mat
    n = scores.shape[1]
    ks = data.draw(st.lists(st.integers(1, n), min_size=1, max_size=3, unique=True))
    betas = data.draw(
        st.lists(st.sampled_from([0.05, 0.1, 0.3, 0.5, 1.0]), min_size=1, max_size=3, unique=True)
    )
    df = quiet(evaluate, labels, scores, ks=ks, betas=betas)
    for k in ks:
        assert close(df[f"recall@{k}"], quiet(recall_at_k, labels, scores, k), tol=0.0)
        assert close(df[f"precision@{k}"], precision_at_k(labels, scores, k), tol=0.0)
        assert close(df[f"ndcg@{k}"], quiet(ndcg_at_k, labels, scores, k), tol=0.0)
    assert close(df["auc"], quiet(auc, labels, scores), tol=0.0)
    for b in betas:
        assert close(df[f"opauc@{b:g}"], quiet(opauc, labels, scores, b), tol=0.0)
    assert (df["n_pos"] == labels.sum(axis=1)).all()


@given(score_matrices(max_items=12), st.sampled_from(["dense", "csr"]), st.data())
def test_exclude_equals_deleting_the_items(mat, kind, data):
    """Excluding items gives what deleting them from the row gives."""
    labels, scores = mat
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    mask = rng.random(scores.shape) < 0.3
    excl = sp.csr_matrix(mask) if kind == "csr" else mask
    ks, betas = sorted({1, min(2, scores.shape[1])}), (0.25, 1.0)
    df = quiet(evaluate, labels, scores, ks=ks, betas=betas, exclude=excl)
    for i in range(len(scores)):
        keep = ~mask[i]
        if not keep.any():
            assert df.loc[i, "n_pos"] == 0 and df.loc[i, "n_neg"] == 0
            assert np.isnan(df.loc[i, "recall@1"]) and df.loc[i, "precision@1"] == 0.0
            continue
        y_i, s_i = labels[i][keep], scores[i][keep]
        for k in ks:
            exp = ref.topk_expected(y_i, s_i, k)
            assert close(df.loc[i, f"recall@{k}"], exp["recall"])
            assert close(df.loc[i, f"precision@{k}"], exp["precision"])
            assert close(df.loc[i, f"ndcg@{k}"], exp["ndcg"])
        assert close(df.loc[i, "auc"], ref.auc_pairs(y_i, s_i))
        for b in betas:
            assert close(df.loc[i, f"opauc@{b:g}"], ref.opauc_roc(y_i, s_i, b))


@given(score_matrices(max_items=12), st.sampled_from(["none", "dense", "csr"]), st.data())
def test_opauc_at_k_over_each_rows_own_n_neg(mat, kind, data):
    """opauc@K/n_neg is OPAUC at beta = K / n_neg with each row's own n_neg (after exclude),
    beta = 1 where n_neg < K; on tie-free rows n_pos*n_neg times it counts the pairs of a
    positive and one of the top-K negatives that are ordered correctly."""
    labels, scores = mat
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    mask = rng.random(scores.shape) < 0.3 if kind != "none" else np.zeros(scores.shape, bool)
    excl = None if kind == "none" else sp.csr_matrix(mask) if kind == "csr" else mask
    opauc_ks = data.draw(st.lists(st.integers(1, 15), min_size=1, max_size=3, unique=True))
    df = quiet(evaluate, labels, scores, ks=(1,), betas=(1.0,), exclude=excl, opauc_ks=opauc_ks)
    for i in range(len(scores)):
        keep = ~mask[i]
        y_i, s_i = labels[i][keep], scores[i][keep]
        n_neg = int((y_i == 0).sum())
        for k in opauc_ks:
            beta = min(k / n_neg, 1.0) if n_neg else 1.0
            assert close(df.loc[i, f"opauc@{k}/n_neg"], ref.opauc_roc(y_i, s_i, beta))


def test_opauc_at_k_over_n_neg_counts_top_k_pairs():
    # P N P N N P, n_neg = 3; K = 2: the top-2 negatives are at ranks 1 and 3.
    y = np.array([1, 0, 1, 0, 0, 1])
    s = -np.arange(6.0)
    df = evaluate(y, s, ks=(1,), betas=(1.0,), opauc_ks=(2,))
    # Pairs (positive above a top-2 negative): P0 beats both, P2 beats one, P5 none.
    assert df.loc[0, "opauc@2/n_neg"] * 3 * 3 == pytest.approx(3, abs=TOL)


@pytest.mark.parametrize(
    ("value", "exc", "pattern"),
    [
        ((0,), ValueError, r"opauc_ks\[0\] must be >= 1, got 0"),
        ((2.5,), TypeError, r"opauc_ks\[0\] must be an integer"),
        ((3, 3), ValueError, r"opauc_ks must not repeat"),
    ],
)
def test_bad_opauc_ks(value, exc, pattern):
    with pytest.raises(exc, match=pattern):
        evaluate([1, 0], [0.1, 0.2], ks=(1,), opauc_ks=value)


def test_evaluate_accepts_empty_betas_and_can_skip_auc():
    """betas=() gives no fixed-beta column; auc=False drops AUC and stops rows early."""
    rng = np.random.default_rng(5)
    labels = rng.random((30, 200)) < 0.05
    scores = rng.normal(size=(30, 200))
    full = evaluate(labels, scores, ks=(5, 20), betas=(0.1,), opauc_ks=(5,))
    lean = evaluate(labels, scores, ks=(5, 20), betas=(), opauc_ks=(5,), auc=False)
    assert "auc" not in lean.columns and not any(c.startswith("opauc@0") for c in lean.columns)
    for col in lean.columns:
        np.testing.assert_array_equal(lean[col].to_numpy(), full[col].to_numpy())


def test_k_beyond_n_items_on_a_3700_item_matrix():
    """The issue's case: ks=(5000,) on 3,700 items works, and precision@5000 = hits/5000."""
    rng = np.random.default_rng(3)
    y = rng.random((6, 3700)) < 0.02
    s = rng.random((6, 3700))
    df = evaluate(y, s, ks=(5000,), betas=(0.1,))
    n_pos = y.sum(axis=1)
    assert (df["precision@5000"].to_numpy() == n_pos / 5000).all()  # every item is a hit
    assert (df["recall@5000"] == 1.0).all()
    assert close(df["ndcg@5000"], ndcg_at_k(y, s, 3700), tol=0.0)  # the full ranking's
    assert close(df["auc"], auc(y, s), tol=0.0)


@given(score_rows(max_items=8), st.data())
def test_evaluate_without_betas_and_k_beyond_n_items_matches_enumeration(row, data):
    """evaluate(betas=()) at a K inside and a K beyond the row: every Top-K column is the
    enumeration's over tie orders, AUC is still there, and there is no OPAUC column."""
    labels, scores = row
    ks = (data.draw(st.integers(1, len(scores))), len(scores) + data.draw(st.integers(1, 20)))
    if ks[0] == ks[1]:
        ks = ks[:1]
    topk = ("recall", "precision", "ndcg", "hit_rate", "mrr", "map")
    df = quiet(evaluate, labels, scores, ks=ks, betas=(), topk=topk)
    assert not [c for c in df.columns if c.startswith("opauc")]
    for k in ks:
        exp = ref.topk_expected(labels, scores, k)
        for name in topk:
            assert close(df[f"{name}@{k}"].iloc[0], exp[name]), (name, k)
    assert close(df["auc"].iloc[0], quiet(auc, labels, scores))


def test_empty_betas_give_no_opauc_columns_and_opauc_ks_still_works():
    y, s = [1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5]
    df = evaluate(y, s, ks=(2,), betas=())
    assert [c for c in df.columns if c.startswith("opauc")] == []
    df = evaluate(y, s, ks=(2,), betas=(), opauc_ks=(1, 9))
    assert df.loc[0, "opauc@1/n_neg"] == pytest.approx(ref.opauc_roc(y, s, 0.5), abs=TOL)
    assert df.loc[0, "opauc@9/n_neg"] == pytest.approx(ref.auc_pairs(y, s), abs=TOL)


def test_excluded_columns_change_nothing():
    """Columns excluded in every row (as an older training path padded its matrices) give
    exactly what the call without them gives, K beyond the real items included."""
    rng = np.random.default_rng(1)
    y = rng.random((5, 30)) < 0.3
    s = rng.random((5, 30))
    plain = evaluate(y, s, ks=(5, 50), betas=(0.2,), opauc_ks=(5, 50))
    pad = np.zeros((5, 20))
    padded = evaluate(
        np.hstack([y, pad.astype(bool)]),
        np.hstack([s, pad]),
        ks=(5, 50),
        betas=(0.2,),
        opauc_ks=(5, 50),
        exclude=np.hstack([np.zeros_like(y), np.ones((5, 20), bool)]),
    )
    pd.testing.assert_frame_equal(plain, padded, check_exact=True)


@pytest.mark.parametrize("normalize", [None, "max", "mcclish"])
def test_evaluate_normalize_equals_opauc_normalize(normalize):
    rng = np.random.default_rng(2)
    y = rng.random((8, 40)) < 0.3
    y[:, 0], y[:, 1] = True, False
    s = rng.integers(0, 7, (8, 40)).astype(float)
    df = evaluate(y, s, ks=(5,), betas=(0.05, 0.3, 1.0), normalize=normalize, opauc_ks=(4, 60))
    for beta in (0.05, 0.3, 1.0):
        assert close(df[f"opauc@{beta:g}"], opauc(y, s, beta, normalize=normalize), tol=0.0)
    n_neg = (~y).sum(axis=1)
    for k in (4, 60):
        for i in range(8):
            beta = min(k / n_neg[i], 1.0)
            expected = opauc(y[i], s[i], beta, normalize=normalize)
            assert abs(df.loc[i, f"opauc@{k}/n_neg"] - expected) < TOL
    with pytest.raises(ValueError, match=r"normalize.*'maxx'"):
        evaluate(y, s, ks=(5,), normalize="maxx")


@given(score_matrices(max_items=8), st.sampled_from(["none", "dense", "csr"]), st.data())
def test_evaluate_rank_columns_equal_functions_and_exclude_deletes(mat, kind, data):
    """evaluate(topk=...) columns are the functions' values; exclude equals deleting."""
    labels, scores = mat
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    mask = rng.random(scores.shape) < 0.3 if kind != "none" else np.zeros(scores.shape, bool)
    excl = None if kind == "none" else sp.csr_matrix(mask) if kind == "csr" else mask
    ks = data.draw(st.lists(st.integers(1, 10), min_size=1, max_size=3, unique=True))
    df = quiet(evaluate, labels, scores, ks=ks, betas=(0.5,), exclude=excl, topk=tuple(RANK))
    for k in ks:
        for name, fn in RANK.items():
            assert close(df[f"{name}@{k}"], quiet(fn, labels, scores, k, exclude=excl), tol=0)
    for i in range(len(scores)):
        keep = ~mask[i]
        for k in ks:
            exp = ref.topk_expected(labels[i][keep], scores[i][keep], k)
            for name in RANK:
                assert close(df.loc[i, f"{name}@{k}"], exp[name]), (name, k)
