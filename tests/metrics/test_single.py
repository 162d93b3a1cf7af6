"""opauc_sim.metrics._single: each one-metric function against definitional references (pair
counting, exact ROC integration, enumeration of tie orders) and scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from opauc_sim import metrics
from opauc_sim.metrics import (
    auc,
    evaluate,
    hit_rate_at_k,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    opauc,
    precision_at_k,
    recall_at_k,
)
from tests import reference as ref
from tests.metrics.common import FUNCS, RANK, TOL, close, quiet
from tests.strategies import (
    LABEL_VARIANTS_1D,
    LABEL_VARIANTS_2D,
    as_label_variant,
    betas_for,
    score_matrices,
    score_rows,
)


def test_hand_computed_example():
    # Ranking: P(0.9) N(0.8) N(0.5) P(0.1): a = [0, 2], n_pos = n_neg = 2.
    y, s = [1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5]
    assert recall_at_k(y, s, 1) == 0.5
    assert precision_at_k(y, s, 1) == 1.0
    assert precision_at_k(y, s, 4) == 0.5
    assert ndcg_at_k(y, s, 4) == pytest.approx((1 + 1 / math.log2(5)) / (1 + 1 / math.log2(3)))
    assert auc(y, s) == 0.5
    # m = beta * n_neg = 1: positive 0 contributes 1, positive 1 contributes 0.
    assert opauc(y, s, 0.5) == 0.25
    # m = 1.5 (fractional): 1.5 + 0 = 1.5 pairs of 4.
    assert opauc(y, s, 0.75) == pytest.approx(1.5 / 4, abs=TOL)
    assert opauc(y, s, 1.0) == auc(y, s)


def test_tie_rules_differ_inside_a_tie_group_as_documented():
    # One positive and one negative tied at the top, another negative below.
    y, s = [1, 0, 0], [1.0, 1.0, 0.0]
    # Random order inside the tie: the positive is at rank 0 with probability 1/2.
    assert recall_at_k(y, s, 1) == 0.5
    # The ROC diagonal from (0, 0) to (1/2, 1): area up to FPR 1/4 is 1/4 * 1/4 = 1/16.
    assert opauc(y, s, 0.25) == pytest.approx(1 / 16, abs=TOL)
    assert auc(y, s) == pytest.approx(0.75, abs=TOL)


def test_infinite_scores_are_ordered():
    y = [1, 0, 1, 0]
    s = [np.inf, -np.inf, -np.inf, 0.0]
    # inf positive first; then 0.0 negative; then a tie of -inf (one pos, one neg).
    assert recall_at_k(y, s, 1) == 0.5
    assert auc(y, s) == pytest.approx((2 + 0 + 0.5) / 4, abs=TOL)
    assert opauc(y, s, 1.0) == pytest.approx(ref.auc_pairs(y, s), abs=TOL)


def test_empty_batch_returns_empty_array():
    out = auc(np.zeros((0, 5)), np.zeros((0, 5)))
    assert isinstance(out, np.ndarray) and out.shape == (0,)


@given(score_rows(), st.sampled_from(LABEL_VARIANTS_1D), st.data())
def test_1d_metrics_match_definitional_references(row, variant, data):
    """Every metric of a row equals the definition: pairs with 1/2 per tie for AUC, the exact
    ROC integral for OPAUC, and the average over all tie orders for the Top-K metrics."""
    labels, scores = row
    y = as_label_variant(labels, variant)
    n_neg = int((labels == 0).sum())
    k = data.draw(st.integers(1, len(scores)))
    beta = data.draw(betas_for(n_neg))
    exp = ref.topk_expected(labels, scores, k)
    assert close(quiet(recall_at_k, y, scores, k), exp["recall"])
    assert close(precision_at_k(y, scores, k), exp["precision"])
    assert close(quiet(ndcg_at_k, y, scores, k), exp["ndcg"])
    assert close(quiet(auc, y, scores), ref.auc_pairs(labels, scores))
    assert close(quiet(opauc, y, scores, beta), ref.opauc_roc(labels, scores, beta))


@given(score_rows(ties=False, max_items=30), st.data())
def test_opauc_closed_form_on_tie_free_rows(row, data):
    """Tie-free: OPAUC(beta) = sum_i max(0, beta*n_neg - a_i) / (n_pos n_neg), fractional
    beta*n_neg included."""
    labels, scores = row
    beta = data.draw(betas_for(int((labels == 0).sum())))
    assert close(quiet(opauc, labels, scores, beta), ref.opauc_closed_form(labels, scores, beta))


@given(score_matrices(), st.sampled_from(LABEL_VARIANTS_2D), st.data())
def test_2d_equals_row_by_row(mat, variant, data):
    """A 2-D call gives, row by row, what 1-D calls give; sparse labels change nothing."""
    labels, scores = mat
    y = as_label_variant(labels, variant)
    k = data.draw(st.integers(1, scores.shape[1]))
    beta = data.draw(st.floats(0.01, 1.0))
    for fn, args in (
        (recall_at_k, (k,)),
        (precision_at_k, (k,)),
        (ndcg_at_k, (k,)),
        (auc, ()),
        (opauc, (beta,)),
    ):
        batch = quiet(fn, y, scores, *args)
        rows = [quiet(fn, labels[i], scores[i], *args) for i in range(len(scores))]
        assert batch.dtype == np.float64 and batch.shape == (len(scores),)
        assert close(batch, rows, tol=0.0), fn.__name__


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize(("n", "rate"), [(60, 0.2), (400, 0.6)])
def test_against_sklearn_partial_auc_and_ndcg(seed, ties, n, rate):
    """Against scikit-learn, with few and with many (> _LINEAR_MAX) distinct positive scores,
    so that both ways of placing the negatives are exercised."""
    from sklearn.metrics import ndcg_score, roc_auc_score

    rng = np.random.default_rng(seed)
    n_rows = 6
    labels = (rng.random((n_rows, n)) < rate).astype(int)
    labels[:, 0], labels[:, 1] = 1, 0  # both classes in every row
    if ties:
        scores = rng.integers(0, 4 if seed % 2 else n // 2, (n_rows, n)).astype(float)
    else:
        scores = rng.normal(size=(n_rows, n))
    for beta in (0.013, 0.1, 0.37, 1.0):
        ours = opauc(labels, scores, beta)
        mc = opauc(labels, scores, beta, normalize="mcclish")
        for i in range(n_rows):
            assert abs(ours[i] - ref.sklearn_raw_opauc(labels[i], scores[i], beta)) < TOL
            expected = roc_auc_score(labels[i], scores[i], max_fpr=beta if beta < 1 else None)
            assert abs(mc[i] - expected) < TOL
    assert close(
        auc(labels, scores), [roc_auc_score(y, s) for y, s in zip(labels, scores, strict=True)]
    )
    for k in (1, 5, 17, n):
        expected = [
            ndcg_score([y], [s], k=k, ignore_ties=False)
            for y, s in zip(labels, scores, strict=True)
        ]
        assert close(ndcg_at_k(labels, scores, k), expected)


def test_normalizations():
    y, s = [1, 0, 1, 0, 0], [3.0, 2.0, 1.0, 0.0, 2.0]
    raw = opauc(y, s, 0.4)
    assert opauc(y, s, 0.4, normalize="max") == pytest.approx(raw / 0.4, abs=TOL)
    assert opauc(y, s, 0.4, normalize="mcclish") == pytest.approx(ref.mcclish(raw, 0.4), abs=TOL)
    assert opauc(y, s, 1.0, normalize="mcclish") == auc(y, s)
    perfect = opauc([1, 1, 0, 0], [4, 3, 2, 1], 0.3, normalize="max")
    assert perfect == 1.0


def test_normalize_opauc_checks_beta():
    """The public helper validates beta like opauc does (it raised ZeroDivisionError at 0
    and silently mapped beta = 2)."""
    assert metrics.normalize_opauc(0.02, 0.2, "max") == pytest.approx(0.1, abs=TOL)
    for beta in (0.0, 2.0, float("nan")):
        with pytest.raises(ValueError, match="beta"):
            metrics.normalize_opauc(0.1, beta, "max")


def test_exclude_1d():
    df = evaluate([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5], ks=(1,), betas=(1.0,), exclude=[0, 1, 0, 0])
    assert df.loc[0, "auc"] == ref.auc_pairs([1, 1, 0], [0.9, 0.1, 0.5])


@pytest.mark.parametrize("name", list(FUNCS))
@given(mat=score_matrices(max_items=10), data=st.data())
def test_exclude_on_every_function_equals_deleting_the_items(name, mat, data):
    labels, scores = mat
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    mask = rng.random(scores.shape) < 0.3
    fn = FUNCS[name]
    got = quiet(fn, labels, scores, exclude=sp.csr_matrix(mask))
    assert close(got, quiet(fn, labels, scores, exclude=mask), tol=0.0)
    for i in range(len(scores)):
        keep = ~mask[i]
        expected = quiet(fn, labels[i][keep], scores[i][keep]) if keep.any() else None
        if expected is None:
            assert got[i] == 0.0 if name == "precision" else np.isnan(got[i])
        else:
            assert close(got[i], expected, tol=0.0), i


def test_exclude_is_not_masking_with_minus_inf():
    """The issue's case: masking with -inf keeps the items as tied negatives."""
    y = np.array([1, 0, 1, 0, 0, 0])
    s = np.array([0.9, 0.8, 0.1, 0.5, 0.95, 0.3])
    train = np.array([0, 0, 0, 0, 1, 1], dtype=bool)
    assert auc(y, s, exclude=train) == ref.auc_pairs(y[~train], s[~train])
    assert auc(y, np.where(train, -np.inf, s)) != auc(y, s, exclude=train)


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
