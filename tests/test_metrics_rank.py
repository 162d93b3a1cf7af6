"""HitRate@K, MRR@K, MAP@K and graded NDCG: exact tie expectations against enumeration of
every order within tie groups, and against ranx and scikit-learn."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from opauc_sim.metrics import (
    UndefinedMetricWarning,
    evaluate,
    hit_rate_at_k,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
)
from tests import reference as ref
from tests.strategies import score_matrices, score_rows

TOL = 1e-12
RANK = {"hit_rate": hit_rate_at_k, "mrr": mrr_at_k, "map": map_at_k}


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


def test_hand_computed_ties():
    # Three tied items, one positive: P(first) = 1/3; E[RR] = (1 + 1/2 + 1/3) / 3.
    y, s = [0, 1, 0], [0.5, 0.5, 0.5]
    assert hit_rate_at_k(y, s, 1) == pytest.approx(1 / 3, abs=TOL)
    assert hit_rate_at_k(y, s, 2) == pytest.approx(2 / 3, abs=TOL)
    assert mrr_at_k(y, s, 3) == pytest.approx((1 + 1 / 2 + 1 / 3) / 3, abs=TOL)
    # Two positives tied with one negative, below a negative: orders PPN, PNP, NPP after N.
    y, s = [0, 1, 1, 0], [0.9, 0.5, 0.5, 0.5]
    # AP: PPN at ranks 1,2 -> (1/2 + 2/3)/2; PNP -> (1/2 + 2/4)/2; NPP -> (1/3 + 2/4)/2.
    exp = ((1 / 2 + 2 / 3) + (1 / 2 + 2 / 4) + (1 / 3 + 2 / 4)) / 2 / 3
    assert map_at_k(y, s, 4) == pytest.approx(exp, abs=TOL)


@given(score_rows(), st.data())
def test_rank_metrics_match_enumeration_of_tie_orders(row, data):
    """Every value is the exact average over all orders within tie groups (K beyond the row
    included)."""
    labels, scores = row
    k = data.draw(st.integers(1, len(scores) + 3))
    exp = ref.topk_expected(labels, scores, k)
    for name, fn in RANK.items():
        assert close(quiet(fn, labels, scores, k), exp[name]), name


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


def test_agree_with_ranx_on_tie_free_data():
    """mrr@k, hit_rate@k and map@k (and recall, precision, ndcg) equal ranx's per query."""
    ranx = pytest.importorskip("ranx")
    rng = np.random.default_rng(5)
    n_rows, n_items = 40, 60
    y = rng.random((n_rows, n_items)) < 0.08
    y[:, 0] = True  # every query has a relevant document
    s = rng.random((n_rows, n_items))  # distinct scores: tie-free
    qrels = {f"q{i:03d}": {f"d{j}": 1 for j in np.flatnonzero(y[i])} for i in range(n_rows)}
    run = {f"q{i:03d}": {f"d{j}": float(s[i, j]) for j in range(n_items)} for i in range(n_rows)}
    ks = (1, 5, 20)
    names = {"mrr": "mrr", "hit_rate": "hit_rate", "map": "map"}
    names |= {"recall": "recall", "precision": "precision", "ndcg": "ndcg"}
    theirs = ranx.evaluate(
        ranx.Qrels(qrels),
        ranx.Run(run),
        [f"{m}@{k}" for m in names.values() for k in ks],
        return_mean=False,
        make_comparable=True,
    )
    ours = evaluate(y, s, ks=ks, betas=(), topk=tuple(names))
    via_dicts = evaluate(qrels, run, ks=ks, betas=(), topk=tuple(names))
    order = [f"q{i:03d}" for i in range(n_rows)]
    for ours_name, ranx_name in names.items():
        for k in ks:
            expected = np.asarray(theirs[f"{ranx_name}@{k}"], dtype=float)
            assert close(ours[f"{ours_name}@{k}"], expected), (ours_name, k)
            assert close(via_dicts.loc[order, f"{ours_name}@{k}"], expected), (ours_name, k)


def test_ranx_unretrieved_relevant_documents_via_dicts():
    """A relevant document missing from the run still counts in Recall's denominator
    (ranked below every retrieved one), as in ranx."""
    ranx = pytest.importorskip("ranx")
    qrels = {"q1": {"a": 1, "z": 1}, "q2": {"b": 2}}
    run = {"q1": {"a": 0.9, "b": 0.5, "c": 0.1}, "q2": {"a": 0.8, "b": 0.7}}
    ours = evaluate(qrels, run, ks=(2,), betas=(), topk=("recall", "mrr", "map", "ndcg"))
    theirs = ranx.evaluate(
        ranx.Qrels(qrels), ranx.Run(run), ["recall@2", "mrr@2", "map@2"], return_mean=False
    )
    for name in ("recall", "mrr", "map"):
        assert close(ours[f"{name}@2"].to_numpy(), theirs[f"{name}@2"]), name
    assert list(ours.index) == ["q1", "q2"] and ours.loc["q1", "n_pos"] == 2


@given(score_rows(max_items=8), st.data())
def test_graded_ndcg_matches_enumeration(row, data):
    labels, scores = row
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    gains = labels * rng.integers(1, 4, len(labels)).astype(float)
    if data.draw(st.booleans()):
        gains = gains * 0.37  # non-integer gains
    k = data.draw(st.integers(1, len(scores) + 2))
    expected = ref.graded_ndcg_expected(gains, scores, k)
    assert close(quiet(ndcg_at_k, gains, scores, k, graded=True), expected)


@pytest.mark.parametrize("ties", [False, True])
def test_graded_ndcg_against_sklearn(ties):
    from sklearn.metrics import ndcg_score

    rng = np.random.default_rng(11)
    gains = rng.integers(0, 4, (20, 50)).astype(float)
    gains[:, 0] = 3
    scores = rng.integers(0, 6, (20, 50)).astype(float) if ties else rng.normal(size=(20, 50))
    for k in (1, 5, 50, 80):
        expected = [ndcg_score([g], [s], k=k) for g, s in zip(gains, scores, strict=True)]
        assert close(ndcg_at_k(gains, scores, k, graded=True), expected)
        df = evaluate(gains, scores, ks=(k,), betas=(0.5,), graded=True)
        assert close(df[f"ndcg@{k}"], expected)
        # the binary metrics take gain > 0 as positive
        assert close(df[f"recall@{k}"], evaluate(gains > 0, scores, ks=(k,))[f"recall@{k}"])


@given(score_matrices(max_items=10), st.sampled_from(["none", "dense"]), st.data())
def test_graded_with_binary_gains_equals_binary_ndcg(mat, kind, data):
    labels, scores = mat
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    excl = rng.random(scores.shape) < 0.3 if kind == "dense" else None
    k = data.draw(st.integers(1, 12))
    binary = quiet(ndcg_at_k, labels, scores, k, exclude=excl)
    graded = quiet(ndcg_at_k, labels.astype(float), scores, k, exclude=excl, graded=True)
    assert close(binary, graded)


@pytest.mark.parametrize(
    ("gains", "pattern"),
    [([1.0, -1.0], r"y_true \(graded\).*>= 0.*-1"), ([1.0, np.inf], r"y_true \(graded\)")],
)
def test_bad_graded_gains(gains, pattern):
    with pytest.raises(ValueError, match=pattern):
        ndcg_at_k(gains, [0.1, 0.2], 1, graded=True)


def test_bad_topk():
    with pytest.raises(ValueError, match=r"topk\[1\] must be one of"):
        evaluate([1, 0], [0.1, 0.2], ks=(1,), topk=("recall", "mrrr"))
    with pytest.raises(ValueError, match="topk must not repeat"):
        evaluate([1, 0], [0.1, 0.2], ks=(1,), topk=("mrr", "mrr"))


def test_graded_ndcg_agrees_with_ranx_through_dicts():
    """Graded qrels: ranx's ndcg@k (linear gains, unretrieved relevant documents in the
    ideal DCG) equals evaluate(graded=True) on dicts, for K within the run."""
    ranx = pytest.importorskip("ranx")
    rng = np.random.default_rng(9)
    qrels, run = {}, {}
    for q in range(15):
        docs = [f"d{j:02d}" for j in range(30)]
        graded = rng.choice(docs, 6, replace=False)
        qrels[f"q{q:02d}"] = {d: int(rng.integers(1, 4)) for d in graded}
        retrieved = rng.choice(docs, 20, replace=False)  # some relevant ones are missing
        run[f"q{q:02d}"] = {d: float(v) for d, v in zip(retrieved, rng.random(20), strict=True)}
    theirs = ranx.evaluate(
        ranx.Qrels(qrels), ranx.Run(run), ["ndcg@5", "ndcg@20"], return_mean=False
    )
    ours = evaluate(qrels, run, ks=(5, 20), betas=(), topk=("ndcg",), graded=True)
    assert close(ours["ndcg@5"].to_numpy(), theirs["ndcg@5"])
    assert close(ours["ndcg@20"].to_numpy(), theirs["ndcg@20"])
