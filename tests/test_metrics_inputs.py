"""opauc_sim.metrics: cut-offs beyond the number of items, exclude on every function, and
inputs as they come (DataFrames, torch tensors, odd dtypes, long tables, dicts of dicts)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from opauc_sim.metrics import (
    UndefinedMetricWarning,
    auc,
    evaluate,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from tests import reference as ref
from tests.strategies import score_rows

TOL = 1e-12


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return fn(*args, **kwargs)


def close(a, b, tol=TOL):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return np.array_equal(np.isnan(a), np.isnan(b)) and np.allclose(
        a[~np.isnan(a)], b[~np.isnan(b)], rtol=0, atol=tol
    )


# ------------------------------------------------------------------- K beyond n_items


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


@given(score_rows(), st.data())
def test_k_beyond_n_items_matches_enumeration(row, data):
    """With K > n_items the expected hits, DCG and IDCG are the enumeration's (the reference
    counts only real ranks, so K beyond the row changes nothing but the precision divisor)."""
    labels, scores = row
    k = len(scores) + data.draw(st.integers(1, 20))
    exp = ref.topk_expected(labels, scores, k)
    assert close(quiet(recall_at_k, labels, scores, k), exp["recall"])
    assert close(precision_at_k(labels, scores, k), exp["precision"])
    assert close(quiet(ndcg_at_k, labels, scores, k), exp["ndcg"])
    assert close(precision_at_k(labels, scores, k), labels.sum() / k)


def test_empty_betas_give_no_opauc_columns_and_opauc_ks_still_works():
    y, s = [1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5]
    df = evaluate(y, s, ks=(2,), betas=())
    assert [c for c in df.columns if c.startswith("opauc")] == []
    df = evaluate(y, s, ks=(2,), betas=(), opauc_ks=(1, 9))
    assert df.loc[0, "opauc@1/n_neg"] == pytest.approx(ref.opauc_roc(y, s, 0.5), abs=TOL)
    assert df.loc[0, "opauc@9/n_neg"] == pytest.approx(ref.auc_pairs(y, s), abs=TOL)


def test_train_padding_to_reach_k_still_gives_the_same_values():
    """The training path pads matrices with excluded columns to get past the old K check;
    padding must keep giving what the unpadded call gives now."""
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
