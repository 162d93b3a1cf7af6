"""The training path's evaluation equals metrics.evaluate / metrics.opauc row by row.

``evaluate_ranking`` makes one call of ``metrics.evaluate(..., opauc_ks=ks, betas=())``
per chunk of users, OPAUC at each user's own beta = K / n_neg; these tests check it against
the definitions, computed user by user on the masked rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from opauc_sim import metrics
from opauc_sim._definitions import ranking_columns
from opauc_sim._validation import UndefinedMetricWarning
from opauc_sim.train.evaluation import evaluate_ranking, mean_metrics
from tests import reference as ref


def _problem(seed: int, n_users: int = 25, n_items: int = 30, ties: bool = True):
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(n_users, n_items))
    if ties:  # rounded scores make many tie groups, including across the K cut
        scores = np.round(scores, 1)
    excl = rng.random((n_users, n_items)) < rng.uniform(0.0, 0.7, size=(n_users, 1))
    y = (rng.random((n_users, n_items)) < 0.2) & ~excl
    y[0] = False  # a user without held-out items: not evaluated
    y[1, :] = ~excl[1]  # a user with no negative left: AUC/OPAUC undefined (NaN)
    excl[2, 3:], excl[2, :3] = True, False  # a user with fewer than K negatives
    y[2, :3] = [True, False, False]
    return y, scores, excl


@pytest.mark.parametrize("seed", range(6))
def test_per_user_equals_evaluate_row_by_row(seed):
    y, scores, excl = _problem(seed)
    ks = (1, 2, 5)
    with pytest.warns(UndefinedMetricWarning, match=r"no negatives \(1\)"):
        got = evaluate_ranking(sp.csr_matrix(y), scores, exclude=sp.csr_matrix(excl), ks=ks)
    users = [u for u in range(y.shape[0]) if (y[u] & ~excl[u]).any()]
    assert got["user"].tolist() == users
    for row, u in zip(got.itertuples(index=False), users, strict=True):
        keep = ~excl[u]
        yt, ys = y[u, keep], scores[u, keep]
        n_neg = int((~yt).sum())
        assert row.n_neg == n_neg and row.n_pos == int(yt.sum())
        for k in ks:  # K may exceed the row's items left after exclude
            for name, fn in (
                (f"recall@{k}", metrics.recall_at_k),
                (f"precision@{k}", metrics.precision_at_k),
                (f"ndcg@{k}", metrics.ndcg_at_k),
            ):
                assert getattr_col(row, got, name) == pytest.approx(fn(yt, ys, k), abs=1e-12)
        if n_neg == 0:
            assert np.isnan(row.auc)
            continue
        assert row.auc == pytest.approx(metrics.auc(yt, ys), abs=1e-12)
        for k in ks:
            beta = min(k / n_neg, 1.0)
            expected = metrics.opauc(yt, ys, beta)
            assert getattr_col(row, got, f"opauc@{k}/n_neg") == pytest.approx(expected, abs=1e-12)
            assert getattr_col(row, got, f"opauc_norm@{k}/n_neg") == pytest.approx(
                expected / beta, abs=1e-12
            )


def getattr_col(row, df, name):
    return row[list(df.columns).index(name)]


@pytest.mark.filterwarnings("ignore::opauc_sim._validation.UndefinedMetricWarning")
def test_chunking_does_not_change_results():
    y, scores, excl = _problem(11, n_users=40)
    a = evaluate_ranking(y, scores, exclude=excl, ks=(3,))
    b = evaluate_ranking(y, scores, exclude=excl, ks=(3,), chunk_rows=7)
    c = evaluate_ranking(y, lambda rows: scores[rows], exclude=excl, ks=(3,), chunk_rows=5)
    np.testing.assert_allclose(a.to_numpy(float), b.to_numpy(float), rtol=0, atol=1e-15)
    np.testing.assert_allclose(a.to_numpy(float), c.to_numpy(float), rtol=0, atol=1e-15)


@pytest.mark.filterwarnings("ignore::opauc_sim._validation.UndefinedMetricWarning")
def test_mean_metrics_averages_evaluated_users_and_skips_nan():
    y, scores, excl = _problem(3)
    per_user = evaluate_ranking(y, scores, exclude=excl, ks=(2,))
    means = mean_metrics(per_user)
    assert set(means) >= {"recall@2", "ndcg@2", "auc", "opauc@2/n_neg"}
    assert "user" not in means and "n_neg" not in means
    assert means["auc"] == pytest.approx(np.nanmean(per_user["auc"]), abs=1e-15)
    assert means["recall@2"] == pytest.approx(per_user["recall@2"].mean(), abs=1e-15)


@pytest.mark.filterwarnings("ignore::opauc_sim._validation.UndefinedMetricWarning")
def test_k_larger_than_the_number_of_items():
    """K above n_items is allowed: all items are in the top K; OPAUC(K/n_neg > 1) is the AUC."""
    y, scores, excl = _problem(4, n_users=6, n_items=8, ties=False)
    y[:, 0], excl[:, 0] = True, False
    got = evaluate_ranking(y, scores, exclude=excl, ks=(20,))
    np.testing.assert_allclose(got["recall@20"], 1.0)
    has_neg = got["n_neg"] > 0
    assert has_neg.any()
    np.testing.assert_allclose(got["opauc@20/n_neg"][has_neg], got["auc"][has_neg], atol=1e-12)


@pytest.mark.filterwarnings("ignore::opauc_sim._validation.UndefinedMetricWarning")
def test_k_beyond_the_items_left_matches_enumeration():
    """With ties and K beyond a user's items left after exclude, every column is the
    enumeration's over tie orders (Precision divides by K), with no padding of the matrix."""
    y, scores, excl = _problem(5, n_users=8, n_items=7, ties=True)
    ks = (2, 9)
    got = evaluate_ranking(y, np.round(scores), exclude=excl, ks=ks).set_index("user")
    for u, row in got.iterrows():
        keep = ~excl[u]
        yt, ys = y[u, keep], np.round(scores[u, keep])
        n_neg = int((~yt).sum())
        for k in ks:
            exp = ref.topk_expected(yt, ys, k)
            for name in ("recall", "precision", "ndcg"):
                assert row[f"{name}@{k}"] == pytest.approx(exp[name], abs=1e-12, nan_ok=True)
            if n_neg:
                beta = min(k / n_neg, 1.0)
                area = ref.opauc_roc(yt, ys, beta)
                assert row[f"opauc@{k}/n_neg"] == pytest.approx(area, abs=1e-12)
                assert row[f"opauc_norm@{k}/n_neg"] == pytest.approx(area / beta, abs=1e-12)
    assert list(got.columns) == [*ranking_columns(ks), "n_pos", "n_neg"]


def test_keep_float32_gives_the_same_metrics_as_float64():
    """The training evaluation ranks float32 scores as float32: exactly the same numbers."""
    from opauc_sim.metrics import evaluate

    rng = np.random.default_rng(11)
    scores = rng.normal(size=(40, 300)).astype(np.float32)
    scores[:, ::7] = np.round(scores[:, ::7], 1)  # ties
    labels = rng.random((40, 300)) < 0.05
    exclude = (rng.random((40, 300)) < 0.1) & ~labels
    kw = dict(ks=(5, 20, 500), betas=(0.1,), opauc_ks=(5, 20), exclude=exclude)
    kw["topk"] = ("recall", "precision", "ndcg", "mrr", "map", "hit_rate")
    a = evaluate(labels, scores, **kw)
    b = evaluate(labels, scores, keep_float32=True, **kw)
    c = evaluate(labels, scores.astype(np.float64), keep_float32=True, **kw)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)


def test_split_builds_train_all_once():
    """Every configuration's test ranking masks train + valid; it used to be rebuilt (a
    sparse sum over the whole training data) for each one."""
    import scipy.sparse as sp

    from opauc_sim.train.data import Split

    m = sp.random(20, 30, density=0.2, random_state=0, format="csr").astype(bool)
    v = sp.random(20, 30, density=0.05, random_state=1, format="csr").astype(bool)
    split = Split(train=m, valid=v, test=v)
    assert split.train_all is split.train_all
    assert (split.train_all != (m + v).astype(bool)).nnz == 0
