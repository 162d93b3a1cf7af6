"""opauc_sim.metrics._inputs: every input form and dtype to the canonical form, and bad input
named in one line."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from opauc_sim.metrics import (
    auc,
    evaluate,
    ndcg_at_k,
    opauc,
    recall_at_k,
)
from tests.metrics.common import FUNCS, close, quiet


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


def test_metrics_module_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, opauc_sim.metrics; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


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


# ------------------------------------------------------------------- sparse formats


def test_dok_labels_are_sparse_not_dicts():
    """A scipy dok matrix is a Mapping: it must be read as a sparse matrix (7bdb996 did)."""
    y = np.array([[1, 0, 1, 0], [0, 1, 0, 0]])
    s = np.array([[0.9, 0.8, 0.1, 0.5], [0.2, 0.3, 0.4, 0.1]])
    expected = evaluate(y, s, ks=(2,))
    for dok in (sp.dok_matrix(y), sp.dok_array(y)):
        pd.testing.assert_frame_equal(evaluate(dok, s, ks=(2,)), expected)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil", "dok", "bsr", "dia"])
def test_every_sparse_format_of_labels_and_exclude(fmt):
    """Every scipy.sparse format gives the dense values: sparse truth with sparse (or no)
    exclusion goes to the CSR kernel, with dense exclusion it is densified."""
    rng = np.random.default_rng(3)
    y = rng.random((6, 15)) < 0.3
    y[:, 0] = True
    ex = (rng.random((6, 15)) < 0.2) & ~np.eye(6, 15, dtype=bool)
    s = rng.integers(0, 6, (6, 15)).astype(float)  # ties
    kw = dict(ks=(2, 20), betas=(0.3, 1.0), topk=("recall", "ndcg", "mrr", "map", "hit_rate"))
    for excl in (None, ex):
        expected = quiet(evaluate, y, s, exclude=excl, **kw)
        as_sparse = None if excl is None else sp.csr_array(excl).asformat(fmt)
        for e in (as_sparse, excl):
            got = quiet(evaluate, sp.csr_array(y).asformat(fmt), s, exclude=e, **kw)
            assert np.array_equal(got.to_numpy(), expected.to_numpy(), equal_nan=True), fmt


def test_sparse_labels_outside_0_1_and_stored_zeros():
    y = sp.csr_array(np.array([[1.0, 0, 0], [0, 2.0, 0]]))
    with pytest.raises(ValueError, match=r"y_true must hold only 0 and 1.*2\.0 at row 1, column 1"):
        evaluate(y, np.ones((2, 3)), ks=(1,))
    stored = sp.csr_array(
        (np.array([1.0, 0.0]), np.array([0, 2]), np.array([0, 2, 2])), shape=(2, 3)
    )
    plain = sp.csr_array(np.array([[1.0, 0, 0], [0, 0, 0]]))
    s = np.array([[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]])
    pd.testing.assert_frame_equal(
        quiet(evaluate, stored, s, ks=(2,)), quiet(evaluate, plain, s, ks=(2,))
    )
    assert stored.data.tolist() == [1.0, 0.0]  # the caller's matrix is left as it was
    with pytest.raises(ValueError, match=r"exclude must be boolean \(or 0/1\), got the value 3"):
        evaluate(plain, s, ks=(1,), exclude=sp.csr_array(np.array([[0, 3, 0], [0, 0, 0]])))
    with pytest.raises(ValueError, match=r"exclude must have the shape of y_score"):
        evaluate(plain, s, ks=(1,), exclude=sp.csr_array(np.zeros((2, 4))))


# ------------------------------------------------------------------- pandas nullable dtypes


@pytest.mark.parametrize(
    ("labels", "scores"), [("boolean", "Float64"), ("Int64", "Int64"), ("UInt8", "Float32")]
)
def test_pandas_nullable_dtypes(labels, scores):
    """Nullable columns without missing values are their NumPy dtypes (they used to be
    refused as "dtype object"), in y_true, y_score, exclude and Series."""
    y, s = _frames()
    s = (s * 100).round()  # exact in every dtype
    excl = pd.DataFrame(False, index=y.index, columns=y.columns)
    excl.iloc[:, 1::4] = True
    kw = dict(ks=(3,), betas=(0.5,))
    got = evaluate(y.astype(labels), s.astype(scores), exclude=excl.astype("boolean"), **kw)
    pd.testing.assert_frame_equal(got, evaluate(y, s, exclude=excl, **kw), check_exact=True)
    row = quiet(recall_at_k, y.iloc[0].astype(labels), s.iloc[0].astype(scores), 3)
    assert row == quiet(recall_at_k, y.iloc[0].to_numpy(), s.iloc[0].to_numpy(), 3)


def test_pandas_missing_values_are_named():
    y, s = _frames()
    y = y.astype("boolean")
    y.iloc[2, 4] = pd.NA
    with pytest.raises(
        ValueError,
        match=r"y_true must not hold missing values \(pd.NA\); found one at row 2, column 4",
    ):
        evaluate(y, s, ks=(3,))
    s = s.astype("Float64")
    s.iloc[1, 0] = pd.NA
    with pytest.raises(ValueError, match=r"y_score must not hold missing values.*row 1, column 0"):
        auc(y.fillna(False), s)
    with pytest.raises(TypeError, match=r"y_score must be boolean or real-valued.*category"):
        auc(y.fillna(False), s.fillna(0).astype("category"))


# ------------------------------------------------------------------- torch dtypes and kinds


def test_torch_float8_quantized_and_refused_kinds():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    y = rng.random((4, 12)) < 0.4
    y[:, 0] = True
    s = rng.integers(0, 8, (4, 12)).astype(np.float32)  # exact in float8_e4m3 and quint8
    expected = evaluate(y, s, ks=(3,), betas=(0.5,))
    for dtype in (torch.float8_e4m3fn, torch.float8_e5m2, torch.float16, torch.bfloat16):
        got = evaluate(torch.tensor(y), torch.tensor(s).to(dtype), ks=(3,), betas=(0.5,))
        pd.testing.assert_frame_equal(got, expected)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch deprecates its quantized tensors
        q = torch.quantize_per_tensor(torch.tensor(s), 1.0, 0, torch.quint8)
    pd.testing.assert_frame_equal(evaluate(torch.tensor(y), q, ks=(3,), betas=(0.5,)), expected)
    with pytest.raises(TypeError, match="y_score is a torch tensor on the meta device"):
        evaluate(y, torch.empty(4, 12, device="meta"), ks=(3,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nested tensors are a prototype
        nested = torch.nested.nested_tensor([torch.ones(12), torch.ones(11)])
    with pytest.raises(TypeError, match=r"y_true must be a rectangular array: got a nested"):
        auc(nested, s[:2])
    if hasattr(torch, "float4_e2m1fn_x2"):
        packed = torch.zeros(4, 12, dtype=torch.uint8).view(torch.float4_e2m1fn_x2)
        with pytest.raises(TypeError, match=r"y_score must be a tensor of real numbers.*float4"):
            auc(y, packed)


# ------------------------------------------------------------------- object arrays


def test_object_arrays_of_python_numbers():
    big = 2**70
    s = np.array([[big + 1, big, 3], [big, big + 2, big + 1]], dtype=object)
    y = np.array([[1, 0, 0], [0, 1, 0]])
    assert float(big + 1) == float(big)  # float64 would tie them
    assert recall_at_k(y, s, 1).tolist() == [1.0, 1.0]
    assert auc(y, s).tolist() == [1.0, 1.0]
    mixed = np.array([0.5, 2, True, 1.25], dtype=object)  # exact as float64: no ranks needed
    assert auc([1, 0, 1, 0], mixed) == auc([1, 0, 1, 0], [0.5, 2.0, 1.0, 1.25])
    with pytest.raises(TypeError, match=r"y_score must hold real numbers; found 'x'"):
        auc([1, 0], np.array([0.1, "x"], dtype=object))
    with pytest.raises(ValueError, match="y_score must not contain NaN"):
        auc([1, 0], np.array([big, float("nan")], dtype=object))
    assert auc(np.array([1, 0], dtype=object), [0.2, 0.1]) == 1.0
