"""opauc_sim.metrics._scorer: evaluate_scorer, users in chunks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from opauc_sim.metrics import (
    UndefinedMetricWarning,
    evaluate,
    evaluate_scorer,
)
from tests.metrics.common import quiet


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


def _model(seed=3, n_users=40, n_items=60):
    rng = np.random.default_rng(seed)
    u, v = rng.normal(size=(n_users, 4)), rng.normal(size=(n_items, 4))
    y = rng.random((n_users, n_items)) < 0.1
    train = (rng.random((n_users, n_items)) < 0.2) & ~y
    return u, v, y, train


def test_an_exclude_frame_is_lined_up_by_label():
    """The issue's case: an exclude DataFrame with its columns in another order masked the
    wrong items (aligned by position)."""
    u, v, y, train = _model()
    items = [f"i{j}" for j in range(y.shape[1])]
    y_frame = pd.DataFrame(y, columns=items)
    ex_frame = pd.DataFrame(train, columns=items)
    shuffled = ex_frame[items[::-1]].iloc[::-1]  # columns and rows in another order
    users = np.arange(len(y))
    kw = dict(ks=(5,), betas=(0.1,))
    got = quiet(evaluate_scorer, lambda r: u[r] @ v.T, users, y_frame, exclude=shuffled, **kw)
    expected = quiet(evaluate, y, u @ v.T, exclude=train, **kw)
    assert np.array_equal(got.to_numpy(), expected.to_numpy(), equal_nan=True)
    with pytest.raises(ValueError, match=r"exclude \(a DataFrame\) must have the row and column"):
        evaluate_scorer(lambda r: u[r] @ v.T, users, y_frame, exclude=shuffled.iloc[:, 1:])


def test_a_scorer_that_modifies_its_rows_changes_nothing():
    u, v, y, train = _model()

    def rude(rows):
        out = u[rows] @ v.T
        rows[:] = 0  # a scorer may reuse the array it was given
        return out

    users = np.arange(len(y))
    kw = dict(ks=(5,), betas=(0.1,), exclude=train, chunk=7)
    got = quiet(evaluate_scorer, rude, users, y, **kw)
    expected = quiet(evaluate_scorer, lambda r: u[r] @ v.T, users, y, **kw)
    assert np.array_equal(got.to_numpy(), expected.to_numpy(), equal_nan=True)
    assert users.tolist() == list(range(len(y)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("auc", [False, True])
def test_the_sparse_fast_path_equals_dense(dtype, auc):
    """Sparse truth and exclusion (the CSR kernel, nothing densified) give exactly the
    dense values, float32 scores ranked as float32, for any chunk; auc=False drops AUC."""
    u, v, y, train = _model()
    u, v = u.astype(dtype), v.astype(dtype)
    users = np.array([5, 0, 39, 12, 7, 7])
    kw = dict(ks=(1, 5, 80), betas=(0.05,), opauc_ks=(5,), topk=("recall", "ndcg", "mrr", "map"))
    dense = quiet(evaluate, y[users], u[users] @ v.T, exclude=train[users], auc=auc, **kw)
    for chunk in (1, 4, None):
        got = quiet(
            evaluate_scorer,
            lambda r: u[r] @ v.T,
            users,
            sp.csr_array(y),
            exclude=sp.csr_array(train),
            auc=auc,
            chunk=chunk,
            **kw,
        )
        assert list(got.columns) == list(dense.columns)
        assert ("auc" in got.columns) is auc
        assert np.array_equal(got.to_numpy(), dense.to_numpy(), equal_nan=True), chunk


@pytest.mark.parametrize("chunk", [1, 2, None])
def test_a_bad_sparse_label_is_named_by_its_row_in_the_whole_matrix(chunk):
    """The sparse path checks y_true and exclude once, whole: the error names the row of
    the matrix given, not of a chunk (it said "index 1" for row 3 scored alone)."""
    y = sp.csr_array(np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 2, 1]]))
    flat = lambda rows: np.tile([0.9, 0.5, 0.1], (len(rows), 1))  # noqa: E731
    with pytest.raises(ValueError, match=r"found the value 2 at row 3, column 1$"):
        evaluate_scorer(flat, [2, 3], y, ks=(1,), betas=(), chunk=chunk)
    bad = sp.csr_array(np.array([[0, 0, 0], [0, 0, 0], [0, 0, 0], [3, 0, 0]]))
    with pytest.raises(ValueError, match=r"exclude must be boolean \(or 0/1\), got the value 3"):
        evaluate_scorer(flat, [2, 3], y > 0, exclude=bad, ks=(1,), betas=(), chunk=chunk)


def test_taken_csr_rows_equal_scipy_row_indexing():
    """take_csr_rows (the chunks' rows of the checked lists) against scipy's own row
    indexing: repeated, unsorted and empty rows, an empty selection."""
    from opauc_sim.metrics._inputs import take_csr_rows

    rng = np.random.default_rng(3)
    dense = rng.random((40, 30)) < 0.15
    dense[7] = False  # an empty row
    m = sp.csr_array(dense)
    lists = (m.indptr.astype(np.int64), m.indices.astype(np.int64))
    for rows in ([7, 0, 39, 7, 12], list(range(40))[::-1], []):
        rows = np.asarray(rows, dtype=np.int64)
        ptr, idx = take_csr_rows(lists, rows)
        want = m[rows] if len(rows) else sp.csr_array((0, 30), dtype=bool)
        assert np.array_equal(ptr, want.indptr) and np.array_equal(idx, want.indices)


def test_sparse_input_with_duplicates_and_unsorted_indices():
    """A COO truth with a stored duplicate and a CSR exclusion with unsorted indices give
    the dense values (the lists are made canonical once, before the chunks); a duplicate
    that sums to 2 is refused, as evaluate refuses it."""
    u, v, y, train = _model()
    users = np.array([3, 1, 3, 30])
    coo = sp.coo_array(y)
    at = (np.r_[coo.row, coo.row[:1]], np.r_[coo.col, coo.col[:1]])
    twice = sp.coo_array((np.r_[coo.data.astype(int), [1]], at), shape=y.shape)  # a 2
    dup = sp.coo_array((np.r_[coo.data, [True]], at), shape=y.shape)  # True twice: True
    t = sp.csr_array(train)
    t.indices = np.ascontiguousarray(
        np.concatenate(
            [t.indices[a:b][::-1] for a, b in zip(t.indptr[:-1], t.indptr[1:], strict=True)]
        )
    )
    t.has_sorted_indices = False
    kw = dict(ks=(1, 5), betas=(0.1,))
    dense = quiet(evaluate, y[users], u[users] @ v.T, exclude=train[users], **kw)
    with pytest.raises(ValueError, match="y_true must hold only 0 and 1"):
        quiet(evaluate_scorer, lambda r: u[r] @ v.T, users, twice, exclude=t, chunk=2, **kw)
    got = quiet(evaluate_scorer, lambda r: u[r] @ v.T, users, dup, exclude=t, chunk=2, **kw)
    assert np.array_equal(got.to_numpy(), dense.to_numpy(), equal_nan=True)
