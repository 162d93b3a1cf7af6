"""Helpers shared by the tests of :mod:`opauc_sim.metrics`."""

from __future__ import annotations

import warnings

import numpy as np

from opauc_sim.metrics import (
    UndefinedMetricWarning,
    auc,
    hit_rate_at_k,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    opauc,
    precision_at_k,
    recall_at_k,
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


RANK = {"hit_rate": hit_rate_at_k, "mrr": mrr_at_k, "map": map_at_k}
