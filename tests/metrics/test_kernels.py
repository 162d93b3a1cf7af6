"""opauc_sim.metrics._kernels: every placement path exact, the dense and CSR front ends equal,
one compiled kernel for every dtype."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from opauc_sim.metrics import TOPK_METRICS, auc, evaluate
from tests import reference as ref
from tests.metrics.common import TOL, quiet
from tests.strategies import score_matrices


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
    # The CSR front end: one version for every sparse format and dtype of the labels.
    for matrix in (sp.csr_matrix(y), sp.csc_array(y.astype(np.int64)), sp.coo_array(y * 1.0)):
        quiet(evaluate, matrix, s, ks=(3,), exclude=sp.csr_array(~y))
        quiet(auc, matrix, s.astype(np.int32))
    csr_versions = _kernels._batch_stats_csr.signatures
    assert len([sig for sig in csr_versions if "float32" not in str(sig[0])]) == 1


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
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, env=env
    )
    first, second = (float(v) for v in out.stdout.split())
    assert first > 0.5  # the cache was empty: the first call compiled
    assert second < 1.0


@given(score_matrices(max_items=12), st.booleans(), st.data())
def test_the_csr_front_end_equals_the_dense_one(mat, use_excl, data):
    """Sparse truth and exclusion go to _batch_stats_csr, which reads the index lists and
    never the dense masks; every statistic equals the dense kernel's, ties, infinities and
    NaN scores of excluded items included."""
    labels, scores = mat
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    excl = rng.random(scores.shape) < 0.3 if use_excl else None
    if use_excl and excl.any():
        scores = np.where(excl & (rng.random(scores.shape) < 0.3), np.nan, scores)
    kw = dict(ks=(1, 3, 30), betas=(0.2, 1.0), opauc_ks=(2,), topk=TOPK_METRICS)
    sparse_excl = None if excl is None else sp.csr_array(excl)
    for auc_ in (True, False):
        dense = quiet(evaluate, labels, scores, exclude=excl, auc=auc_, **kw)
        csr = quiet(evaluate, sp.csr_array(labels), scores, exclude=sparse_excl, auc=auc_, **kw)
        assert np.array_equal(dense.to_numpy(), csr.to_numpy(), equal_nan=True)


@pytest.mark.parametrize("want_auc", [False, True])
def test_placement_after_the_count_passes_is_exact(want_auc):
    """Without AUC the walk counts _LINEAR_MAX groups, then places the rest of the row at
    once (a large K or beta needs many groups): the same values as pair counting."""
    from opauc_sim.metrics import _kernels

    rng = np.random.default_rng(11)
    n = 400
    y = np.zeros((4, n), dtype=bool)
    y[:, rng.permutation(n)[:150]] = True
    s = rng.normal(size=(4, n))
    s[1] = np.round(s[1], 1)  # ties between positives and negatives
    s[2, :5] = np.inf
    excl = rng.random((4, n)) < 0.1
    assert _kernels._LINEAR_MAX < 150
    df = evaluate(y, s, ks=(1, 300), betas=(0.9, 1.0), exclude=excl, auc=want_auc)
    for i in range(4):
        keep = ~excl[i]
        yy, ss = y[i][keep], s[i][keep]
        assert abs(df.loc[i, "opauc@1"] - _auc_by_broadcast(yy, ss)) < TOL
        assert abs(df.loc[i, "opauc@0.9"] - ref.opauc_roc(yy, ss, 0.9)) < TOL
        assert abs(df.loc[i, "recall@300"] - _expected_hits(yy, ss, 300) / yy.sum()) < TOL


def _expected_hits(y, s, k):
    """hits@K in expectation over the orders within each tie group, group by group."""
    hits = 0.0
    for v in np.unique(s):
        above, size = int((s > v).sum()), int((s == v).sum())
        hits += y[s == v].sum() * min(max(k - above, 0), size) / size
    return hits


@pytest.mark.parametrize("n_pos", [1, 30, 200])  # one group; count passes then placement; sort
@pytest.mark.parametrize("where", ["positive", "negative", "top", "excluded and positive"])
@pytest.mark.parametrize("want_auc", [False, True])
def test_the_csr_front_end_reports_nan_scores_as_the_dense_one(n_pos, where, want_auc):
    """The CSR kernel counts NaN scores inside its first pass over a row, not in a pass of
    its own, and stops the row there: a NaN anywhere (a positive's, a negative's, the top
    score, beside NaN scores of excluded items, which are allowed) gives the dense front
    end's error, with the same count and the same first position."""
    rng = np.random.default_rng(n_pos)
    n = 300
    y = np.zeros((3, n), dtype=bool)
    for i in range(3):
        y[i, rng.permutation(n)[:n_pos]] = True
    s = rng.normal(size=(3, n))
    excl = np.zeros((3, n), dtype=bool)
    pos, neg = np.flatnonzero(y[1]), np.flatnonzero(~y[1])
    if where == "positive":
        s[1, pos[-1]] = np.nan
    elif where == "negative":
        s[1, neg[0]] = s[2, neg[-1]] = np.nan
    elif where == "top":
        s[1, neg[3]] = np.nan
        s[1, pos[0]] = 10.0
    else:
        excl[1, neg[:4]] = True
        s[1, neg[:4]] = np.nan
        s[1, pos[0]] = np.nan
    kw = dict(ks=(5, 500), betas=(0.1, 1.0), opauc_ks=(20,), topk=TOPK_METRICS, auc=want_auc)
    messages = []
    for truth, mask in ((y, excl), (sp.csr_array(y), sp.csr_array(excl))):
        with pytest.raises(ValueError, match="y_score must not contain NaN") as err:
            quiet(evaluate, truth, s, exclude=mask, **kw)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    nan_kept = np.isnan(s) & ~excl
    assert f"found {int(nan_kept.sum())} NaN" in messages[1]
