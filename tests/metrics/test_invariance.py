"""Every registered metric under the changes that must not change it (sklearn's
``test_common.py`` pattern): a permutation of the items, of the rows, the dtype of labels and
scores, and every input form (lists, DataFrames, every scipy.sparse format, torch, dicts,
long tables, a scorer). The metrics come from the registry, so a new Top-K metric is
checked here without a line added."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from opauc_sim import metrics
from opauc_sim.metrics import _registry
from tests.metrics.common import quiet

K = 3
#: name -> f(y_true, y_score, **kw): every Top-K metric of the registry at K, AUC, OPAUC.
METRICS = {
    name: (lambda y, s, _n=name, **kw: getattr(metrics, f"{_n}_at_k")(y, s, K, **kw))
    for name in _registry.TOPK
}
METRICS["auc"] = metrics.auc
METRICS["opauc"] = lambda y, s, **kw: metrics.opauc(y, s, 0.3, **kw)


def _data(seed=0, n_rows=5, n_items=11):
    rng = np.random.default_rng(seed)
    y = rng.random((n_rows, n_items)) < 0.35
    y[:, 0], y[:, 1] = True, False
    y[-1] = False  # a row without positives
    s = rng.integers(0, 5, (n_rows, n_items)) / 4  # ties; exact in every float dtype
    excl = (rng.random((n_rows, n_items)) < 0.2) & ~np.eye(n_rows, n_items, k=0, dtype=bool)
    return y, s, excl


def _same(a, b):
    return np.allclose(
        np.asarray(a, float), np.asarray(b, float), rtol=0, atol=1e-12, equal_nan=True
    )


@pytest.mark.parametrize("name", list(METRICS))
def test_permuting_items_and_rows(name):
    fn = METRICS[name]
    y, s, excl = _data()
    base = quiet(fn, y, s, exclude=excl)
    rng = np.random.default_rng(1)
    cols, rows = rng.permutation(y.shape[1]), rng.permutation(y.shape[0])
    assert _same(quiet(fn, y[:, cols], s[:, cols], exclude=excl[:, cols]), base)
    assert _same(quiet(fn, y[rows], s[rows], exclude=excl[rows]), base[rows])


@pytest.mark.parametrize("name", list(METRICS))
def test_dtypes(name):
    fn = METRICS[name]
    y, s, excl = _data(seed=2)
    base = quiet(fn, y, s, exclude=excl)
    for yy in (y, y.astype(np.int8), y.astype(np.uint8), y.astype(np.float32), y.astype(">i8")):
        for ss in (s, s.astype(np.float32), s.astype(np.float16), (s * 4).astype(np.int64)):
            assert _same(quiet(fn, yy, ss, exclude=excl.astype(np.uint8)), base), (
                yy.dtype,
                ss.dtype,
            )
    assert _same(quiet(fn, y, s.astype(object), exclude=excl), base)


@pytest.mark.parametrize("name", list(METRICS))
def test_input_forms(name):
    fn = METRICS[name]
    y, s, excl = _data(seed=3)
    base = quiet(fn, y, s, exclude=excl)
    assert _same(quiet(fn, y.tolist(), s.tolist(), exclude=excl.tolist()), base)
    for i in range(len(y)):  # 1-D rows give floats
        assert _same(quiet(fn, y[i], s[i], exclude=excl[i]), base[i])
    index = pd.Index([f"u{i}" for i in range(len(y))], name="user")
    frame = quiet(fn, pd.DataFrame(y, index=index), pd.DataFrame(s, index=index), exclude=excl)
    assert isinstance(frame, pd.Series) and frame.index.equals(index) and _same(frame, base)
    for fmt in ("csr", "csc", "coo", "dok", "lil"):
        sparse_y = sp.csr_array(y).asformat(fmt)
        for e in (excl, sp.csr_array(excl).asformat(fmt)):
            assert _same(quiet(fn, sparse_y, s, exclude=e), base), fmt
    torch = pytest.importorskip("torch")
    assert _same(quiet(fn, torch.tensor(y), torch.tensor(s), exclude=torch.tensor(excl)), base)


@pytest.mark.parametrize("name", list(METRICS))
def test_tables_dicts_and_scorers(name):
    """A run that scores every item of a query: dicts and long tables rank as the arrays
    (the rule for unretrieved documents never applies); a scorer, chunk by chunk, too."""
    y, s, excl = _data(seed=4)
    fn = METRICS[name]
    base = quiet(fn, y, s, exclude=excl)
    users = [f"u{i}" for i in range(len(y))]
    items = [f"d{j}" for j in range(y.shape[1])]
    qrels = {u: {d: int(y[i, j]) for j, d in enumerate(items)} for i, u in enumerate(users)}
    run = {u: {d: float(s[i, j]) for j, d in enumerate(items)} for i, u in enumerate(users)}
    skip = {u: [d for j, d in enumerate(items) if excl[i, j]] for i, u in enumerate(users)}
    assert _same(quiet(fn, qrels, run, exclude=skip).loc[users], base)
    column = "opauc@0.3" if name == "opauc" else "auc" if name == "auc" else f"{name}@{K}"
    kw = dict(ks=(K,), betas=(0.3,), topk=tuple(_registry.TOPK))
    rows = [(u, d, float(s[i, j])) for i, u in enumerate(users) for j, d in enumerate(items)]
    table = pd.DataFrame(rows, columns=["user", "item", "score"])
    truth = table[y.ravel()][["user", "item"]]
    excluded = table[excl.ravel()][["user", "item"]]
    for unscored in ("bottom", "miss", "drop"):
        long = quiet(metrics.evaluate_long, table, truth, exclude=excluded, unscored=unscored, **kw)
        assert _same(long.loc[users, column], base), unscored
    scored = quiet(
        metrics.evaluate_scorer,
        lambda r: s[r],
        range(len(y)),
        sp.csr_array(y),
        exclude=sp.csr_array(excl),
        chunk=2,
        **kw,
    )
    assert _same(scored[column], base)
