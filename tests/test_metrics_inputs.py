"""opauc_sim.metrics: cut-offs beyond the number of items, exclude on every function, and
inputs as they come (DataFrames, torch tensors, odd dtypes, long tables, dicts of dicts)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from opauc_sim.metrics import (
    UndefinedMetricWarning,
    auc,
    evaluate,
    evaluate_long,
    evaluate_scorer,
    hit_rate_at_k,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    opauc,
    precision_at_k,
    recall_at_k,
)
from tests import reference as ref
from tests.strategies import score_matrices, score_rows

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


# ------------------------------------------------------------------- exclude everywhere

FUNCS = {
    "recall": lambda y, s, **kw: recall_at_k(y, s, 2, **kw),
    "precision": lambda y, s, **kw: precision_at_k(y, s, 2, **kw),
    "ndcg": lambda y, s, **kw: ndcg_at_k(y, s, 2, **kw),
    "hit_rate": lambda y, s, **kw: hit_rate_at_k(y, s, 2, **kw),
    "mrr": lambda y, s, **kw: mrr_at_k(y, s, 2, **kw),
    "map": lambda y, s, **kw: map_at_k(y, s, 2, **kw),
    "auc": lambda y, s, **kw: auc(y, s, **kw),
    "opauc": lambda y, s, **kw: opauc(y, s, 0.4, **kw),
}


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


# ------------------------------------------------------------------- normalize in evaluate


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


# ------------------------------------------------------------------- DataFrames


def _frames():
    rng = np.random.default_rng(4)
    users = pd.Index([101, 7, 55, 12], name="user")
    items = [f"i{j}" for j in range(9)]
    y = pd.DataFrame(rng.random((4, 9)) < 0.4, index=users, columns=items)
    y.iloc[:, 0] = True
    s = pd.DataFrame(rng.random((4, 9)), index=users, columns=items)
    return y, s


def test_dataframe_index_is_kept_as_user_ids():
    y, s = _frames()
    df = evaluate(y, s, ks=(3,), betas=(0.5,))
    assert df.index.equals(y.index)
    plain = evaluate(y.to_numpy(), s.to_numpy(), ks=(3,), betas=(0.5,))
    assert np.array_equal(df.to_numpy(), plain.to_numpy())
    for fn in FUNCS.values():
        out = quiet(fn, y, s)
        assert isinstance(out, pd.Series) and out.index.equals(y.index)
        assert close(out.to_numpy(), quiet(fn, y.to_numpy(), s.to_numpy()), tol=0.0)
    # only y_true a DataFrame: its index labels the output
    assert auc(y, s.to_numpy()).index.equals(y.index)


def test_dataframes_are_aligned_on_labels():
    y, s = _frames()
    shuffled = y.iloc[[2, 0, 3, 1], ::-1]
    excl = pd.DataFrame(False, index=s.index, columns=s.columns).iloc[::-1]
    df = evaluate(shuffled, s, ks=(3,), betas=(0.5,), exclude=excl)
    pd.testing.assert_frame_equal(df, evaluate(y, s, ks=(3,), betas=(0.5,)))
    with pytest.raises(ValueError, match=r"y_true \(a DataFrame\) must have the row and column"):
        auc(y.rename(index={7: 8}), s)


# ------------------------------------------------------------------- odd dtypes


def test_big_endian_labels_and_scores_are_accepted():
    y = np.array([1, 0, 1, 0, 0])
    s = np.array([0.3, 0.9, 0.1, 0.5, 0.2])
    expected = evaluate(y, s, ks=(2,), betas=(0.5,))
    for yy, ss in ((y.astype(">i4"), s), (y, s.astype(">f8")), (y.astype(">i8"), s.astype(">i4"))):
        pd.testing.assert_frame_equal(
            evaluate(
                yy, ss if ss.dtype.kind == "f" else (s * 10).astype(">i4"), ks=(2,), betas=(0.5,)
            ),
            expected,
        )
    with pytest.raises(ValueError, match=r"y_true.*0 and 1.*3"):
        auc(np.array([1, 3, 0], dtype=">i4"), [0.1, 0.2, 0.3])


def test_longdouble_scores_are_compared_exactly():
    """Scores that differ only beyond float64 precision keep their order (auc 0, not 0.5)."""
    if np.finfo(np.longdouble).nmant <= 52:
        pytest.skip("longdouble is float64 on this platform")
    one = np.longdouble(1)
    s = np.array([one, one + np.longdouble(2.0) ** -60])
    assert float(s[0]) == float(s[1])  # float64 would tie them
    assert auc([1, 0], s) == 0.0 and auc([0, 1], s) == 1.0
    df = evaluate([1, 0, 0], np.append(s, np.longdouble(-np.inf)), ks=(1,), betas=(0.5,))
    assert df.loc[0, "auc"] == 0.5 and df.loc[0, "recall@1"] == 0.0
    with pytest.raises(ValueError, match="y_score must not contain NaN"):
        auc([1, 0], np.array([one, np.nan], dtype=np.longdouble))
    # longdouble labels are compared in their own precision: 1 + 2**-60 is no label
    with pytest.raises(ValueError, match="y_true"):
        auc(np.array([one + np.longdouble(2.0) ** -60, 0]), [0.2, 0.1])


def test_read_only_and_strided_inputs():
    rng = np.random.default_rng(0)
    y = rng.random((5, 12)) < 0.4
    s = rng.random((5, 24))[:, ::2]
    ro_y, ro_s = y.copy(), s.copy()
    ro_y.flags.writeable = False
    ro_s.flags.writeable = False
    expected = evaluate(y, np.ascontiguousarray(s), ks=(3,), betas=(0.5,))
    pd.testing.assert_frame_equal(evaluate(ro_y, ro_s, ks=(3,), betas=(0.5,)), expected)
    pd.testing.assert_frame_equal(evaluate(y, s, ks=(3,), betas=(0.5,)), expected)


def test_one_compiled_kernel_serves_every_dtype():
    """Inputs reach the kernel in one canonical form: no new compile per dtype."""
    from opauc_sim.metrics import _kernels

    if not hasattr(_kernels._batch_stats, "signatures"):
        pytest.skip("NUMBA_DISABLE_JIT: nothing is compiled")
    rng = np.random.default_rng(0)
    y = rng.random((3, 20)) < 0.4
    s = rng.random((3, 20))
    evaluate(y.astype(np.float64), s, ks=(3,))
    before = set(_kernels._batch_stats.signatures)
    for yy, ss in (
        (y, s.astype(np.float32)),
        (y.astype(np.int64), (s * 100).astype(np.int32)),
        (y.astype(">i4"), s.astype(">f8")),
        (y.astype(np.float16), s.astype(np.float16)),
        (y.astype(np.uint8), s.astype(np.longdouble)),
        (sp.csr_matrix(y.astype(np.float32)), s.astype(np.float32)),
    ):
        quiet(evaluate, yy, ss, ks=(3,), exclude=np.zeros_like(y))
        quiet(auc, yy, ss)
    assert set(_kernels._batch_stats.signatures) == before
    # One version for every input; a second only where evaluate(keep_float32=True) asked
    # for float32 scores (the training evaluation), possibly earlier in this process.
    float64_versions = [sig for sig in before if "float32" not in str(sig[0])]
    assert len(float64_versions) == 1


def test_metrics_module_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, opauc_sim.metrics; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------- torch tensors


def test_torch_tensors_with_grad_and_in_bfloat16():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    y = rng.random((4, 16)) < 0.4
    s = rng.random((4, 16)).astype(np.float32)
    expected = evaluate(y, s, ks=(3,), betas=(0.5,))
    ts = torch.tensor(s, requires_grad=True)
    pd.testing.assert_frame_equal(evaluate(torch.tensor(y), ts, ks=(3,), betas=(0.5,)), expected)
    bf = torch.tensor(s).to(torch.bfloat16)
    via_float = bf.float().numpy()
    pd.testing.assert_frame_equal(
        evaluate(torch.tensor(y), bf, ks=(3,), betas=(0.5,)),
        evaluate(y, via_float, ks=(3,), betas=(0.5,)),
    )
    assert auc(torch.tensor(y[0]).int(), ts[0] * 2) == auc(y[0], s[0])
    assert recall_at_k(torch.tensor(y), -ts, 3, exclude=torch.tensor(~y)) is not None


# ------------------------------------------------------------------- long tables


def _long(y, s, scored):
    users, items = np.nonzero(scored)
    table = pd.DataFrame({"u": users, "i": items, "s": s[users, items]})
    tu, ti = np.nonzero(y)
    truth = pd.DataFrame({"u": tu, "i": ti})
    return table, truth


@given(score_matrices(max_items=8), st.data())
def test_evaluate_long_unscored_bottom_and_drop(mat, data):
    """'bottom': unscored items rank below every scored one, tied with each other (so they
    are positives or negatives as truth says); 'drop': they are excluded."""
    labels, scores = mat
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    scored = rng.random(scores.shape) < 0.7
    scored[:, 0] = True
    table, truth = _long(labels, scores, scored)
    kw = {"ks": (1, 3), "betas": (0.3, 1.0), "topk": ("recall", "ndcg", "mrr")}
    kw_long = {**kw, "items": range(scores.shape[1])}  # the catalogue: every column
    bottom = quiet(evaluate_long, table, truth, user="u", item="i", score="s", **kw_long)
    drop = quiet(
        evaluate_long, table, truth, user="u", item="i", score="s", unscored="drop", **kw_long
    )
    for i in range(len(scores)):
        # bottom: a score strictly below the row's lowest scored value (ranks keep -inf)
        ranks = np.unique(scores[i][scored[i]], return_inverse=True)[1] + 1.0
        filled = np.zeros(scores.shape[1])
        filled[scored[i]] = ranks
        row = quiet(evaluate, labels[i], filled, **kw)
        assert close(bottom.loc[i].to_numpy(float), row.loc[0].to_numpy(float)), i
        row = quiet(evaluate, labels[i], scores[i], exclude=~scored[i], **kw)
        assert close(drop.loc[i].to_numpy(float), row.loc[0].to_numpy(float)), i


def test_evaluate_long_semantics_by_hand():
    scores = pd.DataFrame({"user": ["u"] * 3, "item": ["a", "b", "c"], "score": [3.0, 2, 1]})
    truth = pd.DataFrame({"user": ["u", "u"], "item": ["b", "z"]})  # z is never scored
    b = evaluate_long(scores, truth, ks=(1, 4), betas=())
    # items a b c z: z ranks last; n_pos = 2 (b, z), n_neg = 2 (a, c)
    assert b.loc["u", "n_pos"] == 2 and b.loc["u", "recall@1"] == 0.0
    assert b.loc["u", "recall@4"] == 1.0
    assert b.loc["u", "auc"] == ref.auc_pairs([0, 1, 0, 1], [3, 2, 1, 0])
    d = evaluate_long(scores, truth, ks=(4,), betas=(), unscored="drop")
    assert d.loc["u", "n_pos"] == 1 and d.loc["u", "recall@4"] == 1.0
    assert d.loc["u", "auc"] == 0.5
    # a catalogue adds unscored negatives at the bottom
    c = evaluate_long(scores, truth, ks=(4,), betas=(), items=["a", "b", "c", "z", "w"])
    assert c.loc["u", "n_neg"] == 3
    assert c.loc["u", "auc"] == ref.auc_pairs([0, 1, 0, 1, 0], [3, 2, 1, 0, 0])
    # exclude and graded relevance
    x = evaluate_long(scores, truth, ks=(4,), betas=(), exclude=truth.iloc[:1])
    assert x.loc["u", "n_pos"] == 1
    g = evaluate_long(
        scores, truth.assign(rel=[3.0, 1.0]), relevance="rel", graded=True, ks=(4,), betas=()
    )
    assert abs(g.loc["u", "ndcg@4"] - ndcg_at_k([0, 3, 0, 1], [3, 2, 1, 0], 4, graded=True)) < TOL


@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        ({"user": "uid"}, ValueError, r"scores has no column 'uid' \(given as user=\)"),
        ({"unscored": "fill"}, ValueError, r"unscored must be one of"),
        ({"items": ["a"]}, ValueError, r"items must list every item of scores; 'b'"),
    ],
)
def test_evaluate_long_bad_input(kwargs, exc, pattern):
    scores = pd.DataFrame({"user": [1, 1], "item": ["a", "b"], "score": [0.2, 0.1]})
    truth = pd.DataFrame({"user": [1], "item": ["a"]})
    with pytest.raises(exc, match=pattern):
        evaluate_long(scores, truth, ks=(1,), **kwargs)
    with pytest.raises(ValueError, match=r"the pair \(1, 'a'\) repeats"):
        evaluate_long(pd.concat([scores, scores]), truth, ks=(1,))
    with pytest.raises(ValueError, match="NaN"):
        evaluate_long(scores.assign(score=[np.nan, 1.0]), truth, ks=(1,))
    with pytest.raises(TypeError, match="truth must be a pandas DataFrame"):
        evaluate_long(scores, {"a": 1}, ks=(1,))


def test_dict_input_needs_both_dicts():
    with pytest.raises(TypeError, match="both be dicts of dicts"):
        auc({"q": {"a": 1}}, [0.1])
    with pytest.raises(TypeError, match=r"y_score must map each query to a dict"):
        auc({"q": {"a": 1}}, {"q": [0.1]})


# ------------------------------------------------------------------- streaming


def test_evaluate_scorer_equals_evaluate_and_bounds_the_chunk():
    rng = np.random.default_rng(8)
    u_emb, i_emb = rng.normal(size=(30, 4)), rng.normal(size=(25, 4))
    y = sp.csr_matrix(rng.random((30, 25)) < 0.2)
    train = sp.csr_matrix(rng.random((30, 25)) < 0.2)
    users = np.array([3, 0, 29, 5, 7, 11, 12])
    seen = []

    def score_fn(rows):
        seen.append(len(rows))
        return u_emb[rows] @ i_emb.T

    kw = {"ks": (2, 40), "betas": (0.1,), "opauc_ks": (3,), "topk": ("recall", "map")}
    got = quiet(evaluate_scorer, score_fn, users, y, exclude=train, chunk=3, **kw)
    full = quiet(evaluate, y[users], score_fn(users), exclude=train[users], **kw)
    assert max(seen[:-1]) == 3
    assert list(got.index) == list(users) and got.index.name == "user"
    assert np.array_equal(got.to_numpy(), full.to_numpy(), equal_nan=True)
    one = quiet(evaluate_scorer, score_fn, users, y.toarray(), exclude=train, chunk=100, **kw)
    assert np.array_equal(one.to_numpy(), full.to_numpy(), equal_nan=True)


def test_evaluate_scorer_warns_once_and_checks_its_input():
    y = np.array([[1, 0, 0], [0, 0, 0], [0, 0, 0]])

    def fn(rows):
        return np.tile([0.3, 0.2, 0.1], (len(rows), 1))

    with pytest.warns(UndefinedMetricWarning, match=r"^2 of 3 rows") as rec:
        evaluate_scorer(fn, [0, 1, 2], y, ks=(1,), chunk=1)
    assert len(rec) == 1
    with pytest.raises(ValueError, match=r"users must be rows of y_true in \[0, 3\), got 3"):
        evaluate_scorer(fn, [0, 3], y, ks=(1,))
    with pytest.raises(ValueError, match=r"score_fn must return shape"):
        evaluate_scorer(lambda r: np.zeros((len(r), 2)), [0], y, ks=(1,))
    with pytest.raises(TypeError, match="score_fn must be callable"):
        evaluate_scorer(None, [0], y, ks=(1,))
    with pytest.raises(ValueError, match="chunk must be >= 1"):
        evaluate_scorer(fn, [0], y, ks=(1,), chunk=0)


def test_torch_sparse_labels_and_a_torch_scorer():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    y = rng.random((6, 10)) < 0.3
    s = rng.random((6, 10))
    expected = evaluate(y, s, ks=(3,), betas=(0.5,))
    got = evaluate(torch.tensor(y).to_sparse(), torch.tensor(s), ks=(3,), betas=(0.5,))
    pd.testing.assert_frame_equal(got, expected)
    emb = torch.tensor(s, requires_grad=True)
    df = quiet(
        evaluate_scorer,
        lambda rows: emb[torch.as_tensor(rows)] * 1.0,
        range(6),
        y,
        ks=(3,),
        betas=(0.5,),
        chunk=4,
    )
    assert np.array_equal(df.to_numpy(), expected.to_numpy(), equal_nan=True)


def test_torch_cuda_tensors():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    rng = np.random.default_rng(2)
    y = rng.random((6, 10)) < 0.3
    s = rng.random((6, 10)).astype(np.float32)
    expected = evaluate(y, s, ks=(3,), betas=(0.5,))
    ts = torch.tensor(s, device="cuda", requires_grad=True)
    got = evaluate(torch.tensor(y, device="cuda"), ts, ks=(3,), betas=(0.5,))
    pd.testing.assert_frame_equal(got, expected)


def test_public_functions_have_examples():
    import re

    from opauc_sim import metrics, stats

    for module, names in (
        (metrics, ("hit_rate_at_k", "mrr_at_k", "map_at_k", "evaluate_long", "evaluate_scorer")),
        (stats, ("summarize", "compare")),
    ):
        for name in names:
            assert name in module.__all__
            assert re.search(r"Examples\n\s+-+", getattr(module, name).__doc__), name


_PROBE = """
import time, numpy as np
from opauc_sim.metrics import evaluate
rng = np.random.default_rng(0)
y = rng.random((50, 80)) < 0.1
s = rng.random((50, 80))
t0 = time.perf_counter(); evaluate(y.astype(np.float64), s, ks=(5,)); t1 = time.perf_counter()
evaluate(y, s.astype(np.float32), ks=(5,), topk=("mrr",)); t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


@pytest.mark.slow
def test_second_dtype_adds_no_compile_in_a_fresh_process(tmp_path):
    """The issue's must-show: with an empty Numba cache, a first call with float32 scores and
    bool labels after float64 ones costs well under 1 s (it compiled 4 s before)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "NUMBA_NUM_THREADS": "1"}
    env.pop("NUMBA_DISABLE_JIT", None)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, env=env
    )
    first, second = (float(v) for v in out.stdout.split())
    assert first > 0.5  # the cache was empty: the first call compiled
    assert second < 1.0
