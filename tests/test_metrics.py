"""opauc_sim.metrics against definitional references, scikit-learn, and on bad input."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from opauc_sim import metrics
from opauc_sim.metrics import (
    UndefinedMetricWarning,
    auc,
    evaluate,
    ndcg_at_k,
    opauc,
    precision_at_k,
    recall_at_k,
)
from tests import reference as ref
from tests.strategies import (
    LABEL_VARIANTS_1D,
    LABEL_VARIANTS_2D,
    as_label_variant,
    betas_for,
    score_matrices,
    score_rows,
)

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


# ----------------------------------------------------------------------------- examples


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


def test_float32_and_integer_scores_match_float64():
    rng = np.random.default_rng(0)
    y = (rng.random((4, 30)) < 0.3).astype(int)
    s = rng.integers(0, 5, size=(4, 30))
    df64 = evaluate(y, s.astype(np.float64), ks=(1, 5), betas=(0.2,))
    pd_int = evaluate(y, s, ks=(1, 5), betas=(0.2,))
    df32 = evaluate(y, s.astype(np.float32), ks=(1, 5), betas=(0.2,))
    assert df64.equals(pd_int) and df64.equals(df32)


def test_integer_scores_beyond_2_53_keep_their_order():
    """int64 scores such as nanosecond timestamps differ below float64's resolution; they
    must not merge into ties (a regression: 2**60 + 1 and 2**60 scored AUC 0.5)."""
    t0 = 1_700_000_000_000_000_000  # ns since the epoch, > 2**53
    y = np.array([1, 0, 1, 0, 0])
    s = np.array([t0 + 3, t0 + 2, t0 + 1, t0, t0 + 4], dtype=np.int64)
    ranks = np.array([3.0, 2.0, 1.0, 0.0, 4.0])
    expected = evaluate(y, ranks, ks=(1, 2), betas=(0.5,))
    assert evaluate(y, s, ks=(1, 2), betas=(0.5,)).equals(expected)
    assert auc([1, 0], [2**60 + 1, 2**60]) == 1.0
    big = np.array([2**64 - 1, 2**64 - 2], dtype=np.uint64)
    assert auc([1, 0], big) == 1.0 and auc([0, 1], big) == 0.0


def test_half_precision_labels_are_accepted():
    """float16 labels (and scores) work like float64 ones instead of failing in Numba."""
    y = np.array([1, 0, 1, 0])
    s = np.array([0.9, 0.8, 0.1, 0.5])
    assert auc(y.astype(np.float16), s.astype(np.float16)) == auc(y, s)
    assert recall_at_k(y.astype(np.float16), s, 2) == recall_at_k(y, s, 2)
    with pytest.raises(ValueError, match="y_true"):
        auc(np.array([0.5, 0, 1, 0], dtype=np.float16), s)


def test_empty_batch_returns_empty_array():
    out = auc(np.zeros((0, 5)), np.zeros((0, 5)))
    assert isinstance(out, np.ndarray) and out.shape == (0,)


# ------------------------------------------------------------------- against references


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


def test_exclude_1d():
    df = evaluate([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.5], ks=(1,), betas=(1.0,), exclude=[0, 1, 0, 0])
    assert df.loc[0, "auc"] == ref.auc_pairs([1, 1, 0], [0.9, 0.1, 0.5])


# ------------------------------------------------------------------- scikit-learn oracle


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


# ------------------------------------------------------------------- undefined rows


def test_undefined_rows_give_nan_and_one_warning_with_the_count():
    y = np.array([[1, 0, 0], [0, 0, 0], [1, 1, 1], [0, 0, 0]])
    s = np.arange(12.0).reshape(4, 3)
    with pytest.warns(UndefinedMetricWarning, match=r"^2 of 4 rows have no positives") as rec:
        r = recall_at_k(y, s, 2)
    assert len(rec) == 1
    assert np.isnan(r[[1, 3]]).all() and not np.isnan(r[[0, 2]]).any()
    with pytest.warns(UndefinedMetricWarning, match=r"^3 of 4 rows") as rec:
        a = opauc(y, s, 0.5)
    assert len(rec) == 1 and np.isnan(a[1:]).all() and not np.isnan(a[0])
    with pytest.warns(UndefinedMetricWarning, match=r"^3 of 4 rows") as rec:
        df = evaluate(y, s, ks=(1,), betas=(0.5,))
    assert len(rec) == 1
    assert np.isnan(df["auc"][1:]).all() and df["recall@1"].isna().tolist() == [0, 1, 0, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert precision_at_k(y, s, 2)[1] == 0.0  # defined: no warning
        auc(y[:1], s[:1])  # all defined: no warning


@pytest.mark.parametrize(
    "call",
    [
        lambda y, s: auc(y, s),
        lambda y, s: opauc(y, s, 0.5),
        lambda y, s: recall_at_k(y, s, 1),
        lambda y, s: ndcg_at_k(y, s, 1),
        lambda y, s: evaluate(y, s, ks=(1,)),
    ],
)
def test_warning_points_at_the_callers_line(call):
    with pytest.warns(UndefinedMetricWarning) as rec:
        call([0, 0], [1.0, 2.0])
    assert rec[0].filename == __file__


_MODULE_LEVEL_CALLS = """\
import numpy as np
import pandas as pd
from opauc_sim import metrics
from opauc_sim.metrics import ranks
y, s = [0, 0], [1.0, 2.0]
table = pd.DataFrame({"user": [1], "item": [1], "score": [0.5]})
truth = pd.DataFrame(columns=["user", "item"])
metrics.auc(y, s)
metrics.opauc(y, s, 0.5)
metrics.map_at_k(y, s, 1)
metrics.evaluate(y, s, ks=(1,))
metrics.evaluate_scorer(lambda rows: np.ones((len(rows), 2)), [0], np.zeros((1, 2)), ks=(1,))
metrics.evaluate_long(table, truth, ks=(1,))
ranks.auc([], 3)
ranks.recall_at_k([[]], 3, 1)
ranks.evaluate([], 3, ks=(1,))
"""


def test_warning_from_module_level_code_points_at_that_file(tmp_path):
    """The stack level is computed (the first frame outside opauc_sim), not counted: a call
    at module level in another file, imported, is named with its file and line (a counted
    level one too high pointed into importlib, or at ``sys:1`` from a script)."""
    import importlib.util

    path = tmp_path / "user_module.py"
    path.write_text(_MODULE_LEVEL_CALLS)
    spec = importlib.util.spec_from_file_location("user_module", path)
    with pytest.warns(UndefinedMetricWarning) as rec:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    lines = _MODULE_LEVEL_CALLS.splitlines()
    calls = [i + 1 for i, line in enumerate(lines) if line.startswith(("metrics.", "rank_"))]
    got = [(w.filename, w.lineno) for w in rec if w.category is UndefinedMetricWarning]
    assert got == [(str(path), line) for line in calls]


# ------------------------------------------------------------------- bad input


BAD_INPUT = [
    ("shape", lambda: auc([1, 0, 1], [0.1, 0.2]), ValueError, r"y_true .*shape.*\(3,\).*\(2,\)"),
    (
        "3-D",
        lambda: auc(np.ones((2, 2, 2)), np.ones((2, 2, 2))),
        ValueError,
        r"y_score.*1-D or 2-D",
    ),
    ("0-D", lambda: auc(1, 0.5), ValueError, r"y_score.*1-D or 2-D.*\(\)"),
    ("nan", lambda: auc([1, 0], [0.1, np.nan]), ValueError, r"y_score.*NaN.*index 1"),
    ("nan 2d", lambda: auc([[1, 0], [1, 0]], [[0, 1], [np.nan, 1]]), ValueError, r"row 1, col"),
    ("label 2", lambda: auc([1, 2], [0.1, 0.2]), ValueError, r"y_true.*0 and 1.*2.*index 1"),
    ("label -1", lambda: recall_at_k([1, -1], [0.1, 0.2], 1), ValueError, r"y_true.*-1"),
    ("label .5", lambda: auc([1.0, 0.5], [0.1, 0.2]), ValueError, r"y_true.*0\.5"),
    ("label nan", lambda: auc([1.0, np.nan], [0.1, 0.2]), ValueError, r"y_true.*nan"),
    ("k 0", lambda: recall_at_k([1, 0], [0.1, 0.2], 0), ValueError, r"k must be >= 1, got 0"),
    ("k huge", lambda: ndcg_at_k([1, 0], [0.1, 0.2], 2**63), ValueError, r"k must be <= \d+, got"),
    ("k float", lambda: recall_at_k([1, 0], [0.1, 0.2], 1.0), TypeError, r"k must be an int.*1\.0"),
    ("k bool", lambda: recall_at_k([1, 0], [0.1, 0.2], True), TypeError, r"k must be an int"),
    ("beta 0", lambda: opauc([1, 0], [0.1, 0.2], 0.0), ValueError, r"beta must be > 0.*0\.0"),
    ("beta >1", lambda: opauc([1, 0], [0.1, 0.2], 1.5), ValueError, r"beta must be <= 1.*1\.5"),
    ("beta nan", lambda: opauc([1, 0], [0.1, 0.2], np.nan), ValueError, r"beta must be finite"),
    ("beta str", lambda: opauc([1, 0], [0.1, 0.2], "0.1"), TypeError, r"beta must be a real"),
    (
        "norm",
        lambda: opauc([1, 0], [0.1, 0.2], 0.5, normalize="mc"),
        ValueError,
        r"normalize.*'mc'",
    ),
    ("ks empty", lambda: evaluate([1, 0], [0.1, 0.2], ks=()), ValueError, r"ks must not be empty"),
    ("betas none", lambda: evaluate([1, 0], [0.1, 0.2], ks=(1,), betas=None), TypeError, r"betas"),
    (
        "ks neg",
        lambda: evaluate([1, 0], [0.1, 0.2], ks=(1, -5)),
        ValueError,
        r"ks\[1\] must be >= 1",
    ),
    ("ks dup", lambda: evaluate([1, 0], [0.1, 0.2], ks=(1, 1), betas=(0.5,)), ValueError, r"ks"),
    (
        "betas bad",
        lambda: evaluate([1, 0], [0.1, 0.2], ks=(1,), betas=(0.5, 2)),
        ValueError,
        r"betas\[1\] must be <= 1",
    ),
    ("score str", lambda: auc([1, 0], ["a", "b"]), TypeError, r"y_score.*dtype"),
    ("score cplx", lambda: auc([1, 0], [1j, 2]), TypeError, r"y_score.*dtype"),
    ("label str", lambda: auc(["a", "b"], [0.1, 0.2]), TypeError, r"y_true.*dtype"),
    (
        "sparse score",
        lambda: auc(sp.csr_matrix([[1, 0]]), sp.csr_matrix([[1.0, 0.0]])),
        TypeError,
        r"y_score.*sparse",
    ),
    ("ragged", lambda: auc([[1, 0], [1]], [[0.1, 0.2], [0.3, 0.4]]), ValueError, r"y_true must be"),
    (
        "ragged s",
        lambda: auc([[1, 0], [1, 0]], [[0.1], [0.2, 0.3]]),
        ValueError,
        r"y_score must be",
    ),
    (
        "masked",
        lambda: auc([1, 0], np.ma.array([0.1, 0.2], mask=[1, 0])),
        TypeError,
        r"y_score must not be a masked",
    ),
    (
        "excl shape",
        lambda: evaluate([1, 0], [0.1, 0.2], ks=(1,), exclude=[True]),
        ValueError,
        r"exclude must have the shape",
    ),
    (
        "excl value",
        lambda: evaluate([1, 0], [0.1, 0.2], ks=(1,), exclude=[0, 3]),
        ValueError,
        r"exclude must be boolean.*3",
    ),
]


@pytest.mark.parametrize(
    ("case", "call", "exc", "pattern"), BAD_INPUT, ids=[b[0] for b in BAD_INPUT]
)
def test_bad_input_raises_naming_the_argument_and_value(case, call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_bad_input_does_not_modify_the_callers_arrays():
    y = np.array([[1, 0, 2]])
    s = np.array([[0.3, 0.2, 0.1]])
    y0, s0 = y.copy(), s.copy()
    with pytest.raises(ValueError):
        evaluate(y, s, ks=(1,))
    assert np.array_equal(y, y0) and np.array_equal(s, s0)


def test_public_names_are_exported():
    for name in ("recall_at_k", "precision_at_k", "ndcg_at_k", "auc", "opauc", "evaluate"):
        assert name in metrics.__all__
        assert re.search(r"Examples\n\s*-+", getattr(metrics, name).__doc__)


def _auc_by_broadcast(y, s):
    """AUC by comparing every (positive, negative) pair at once, 1/2 per tie."""
    p, q = s[y == 1][:, None], s[y == 0][None, :]
    return ((p > q).sum() + 0.5 * (p == q).sum()) / (p.size * q.size)


@pytest.mark.parametrize(
    "scores",
    [
        "spread",  # many groups, spread out: bucket table
        "crowded",  # heavy tail: most positives in one bucket, two-level fallback
        "ties",  # many groups with ties on both sides
        "infinite",  # an infinite positive score: no table, two-level
        "few",  # few groups: linear count
    ],
)
def test_every_negative_placement_path_is_exact(scores):
    """The kernel places negatives by one of three methods chosen by the positives' scores;
    each must give exactly what pair counting and sklearn give."""
    from sklearn.metrics import ndcg_score

    rng = np.random.default_rng(7)
    n = 700
    y = np.zeros((3, n), dtype=int)
    y[:, rng.permutation(n)[:350]] = 1
    s = {
        "spread": lambda: rng.normal(size=(3, n)),
        "crowded": lambda: 10.0 ** rng.uniform(-30, 30, (3, n)),
        "ties": lambda: rng.integers(0, 300, (3, n)).astype(float),
        "infinite": lambda: np.where(rng.random((3, n)) < 0.01, np.inf, rng.normal(size=(3, n))),
        "few": lambda: rng.integers(0, 20, (3, n)).astype(float),
    }[scores]()
    y[:, 0], s[:, 0] = 1, np.inf if scores == "infinite" else s[:, 0]
    df = evaluate(y, s, ks=(1, 10, 100), betas=(0.05, 0.5, 1.0))
    for i in range(3):
        assert abs(df.loc[i, "auc"] - _auc_by_broadcast(y[i], s[i])) < TOL
        assert abs(df.loc[i, "opauc@1"] - df.loc[i, "auc"]) < TOL
        for beta in (0.05, 0.5):
            expected = ref.sklearn_raw_opauc(y[i], np.nan_to_num(s[i], posinf=1e308), beta)
            assert abs(df.loc[i, f"opauc@{beta:g}"] - expected) < TOL
        for k in (1, 10, 100):
            finite = np.nan_to_num(s[i], posinf=1e308)
            assert abs(df.loc[i, f"ndcg@{k}"] - ndcg_score([y[i]], [finite], k=k)) < TOL


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
