"""DNS over all items (N = "all") against a brute-force reference, on both engines.

The reference sorts every candidate item of every pair (no heap, no grouping by user, no
GEMM), then writes each pair's loss and gradient term from the formulas of
:mod:`opauc_sim.train.numba_kernels` one pair at a time, in float64. The engines (their
``full_losses_and_grads``: the Numba kernels, and the torch engine's autograd) must match
it to 1e-12: the selected negatives exactly, losses and gradients in value.

Ties: a GEMM may round the same dot product differently at another position of the
table (torch's CPU GEMM does, for the last rows of a block), so two equal item rows need
not score equal there. The ``rounded`` problems round the tables to halves, which makes
every product and sum exact: equal scores are equal in any GEMM, and ties are many.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from opauc_sim.train import numba_engine
from opauc_sim.train.config import TrainConfig


def _softplus(x):
    return np.logaddexp(0.0, x)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def brute_force(user_w, item_w, users, items, exclusions, config):
    """Pair losses, gradients of the batch loss and selections, pair by pair."""
    excl = exclusions.toarray().astype(bool)
    n_items = item_w.shape[0]
    g_user, g_item = np.zeros_like(user_w), np.zeros_like(item_w)
    losses, selected = [], []
    scale = 1.0 if config.authors_code else 1.0 / len(users)
    wd = 0.0 if config.authors_code else config.weight_decay
    for u, i in zip(users, items, strict=True):
        scores = item_w @ user_w[u]
        cands = np.flatnonzero(~excl[u])
        order = np.lexsort((cands, -scores[cands]))  # by score, ties to the smaller id
        top = cands[order[: config.M]]
        w = 1.0 if config.authors_code else 1.0 / max(len(top), 1)
        x = scores[top] - scores[i]
        reg = user_w[u] @ user_w[u] + item_w[i] @ item_w[i] + w * (item_w[top] ** 2).sum()
        losses.append(w * _softplus(x).sum() + 0.5 * wd * reg)
        selected.append(top)
        c = w * _sigmoid(x)
        g_user[u] += scale * (c @ item_w[top] - c.sum() * item_w[i] + wd * user_w[u])
        g_item[i] += scale * (-c.sum() * user_w[u] + wd * item_w[i])
        for r, j in enumerate(top):
            g_item[j] += scale * (c[r] * user_w[u] + wd * w * item_w[j])
    assert n_items == excl.shape[1]
    return np.array(losses), g_user, g_item, selected


def _problem(seed, n_users=7, n_items=30, dim=4, b=25, density=0.3, ties=False, rounded=False):
    rng = np.random.default_rng(seed)
    user_w = rng.normal(size=(n_users, dim))
    item_w = rng.normal(size=(n_items, dim))
    if rounded:  # exact arithmetic: ties survive any GEMM
        user_w, item_w = np.round(user_w * 2) / 2, np.round(item_w * 2) / 2
    if ties:  # repeated item rows: equal scores, so the tie rule decides
        item_w[1::3] = item_w[0 : n_items - 1 : 3][: len(item_w[1::3])]
    excl = sp.csr_matrix(rng.random((n_users, n_items)) < density)
    users = rng.integers(0, n_users, b)
    items = rng.integers(0, n_items, b)
    return user_w, item_w, users, items, excl


CASES = {
    "project": dict(weight_decay=0.01),
    "project_no_wd": dict(weight_decay=0.0),
    "authors": dict(weight_decay=0.01, authors_code=True),
}


def _torch_full(*args):
    pytest.importorskip("torch")
    from opauc_sim.train import torch_engine

    return torch_engine.full_losses_and_grads(*args)


ENGINES = {
    "numba": numba_engine.full_losses_and_grads,
    "torch": pytest.param(_torch_full, marks=pytest.mark.torch),
}
engines = pytest.mark.parametrize("full", list(ENGINES.values()), ids=list(ENGINES))


def assert_same(got, want):
    """Selections exactly, losses and gradients to 1e-12."""
    for g, w in zip(got[3], want[3], strict=True):
        np.testing.assert_array_equal(g, w)
    for g, w in zip(got[:3], want[:3], strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


@engines
@pytest.mark.parametrize("m", [1, 3, 8, 30])
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_full_items_equal_brute_force(full, m, case, seed):
    # Seeds 2, 3: repeated item rows; 3 also rounded tables (exact ties in any GEMM).
    user_w, item_w, users, items, excl = _problem(seed, ties=seed >= 2, rounded=seed == 3)
    config = TrainConfig(sampler="dns", M=m, N="all", **CASES[case])
    want = brute_force(user_w, item_w, users, items, excl, config)
    assert_same(full(user_w, item_w, users, items, excl, config), want)


@engines
@pytest.mark.parametrize("m", [100, 300])
def test_full_items_with_a_threshold_pass_equal_brute_force(full, m):
    """M from numba_inline._TWO_PASS on: the top M found above a threshold; repeated and
    rounded item rows, so that ties decide, and users with long excluded runs."""
    from opauc_sim.train.numba_inline import _TWO_PASS

    assert m >= _TWO_PASS
    user_w, item_w, users, items, excl = _problem(
        6, n_users=9, n_items=3000, b=40, density=0.2, ties=True, rounded=True
    )
    dense = excl.toarray()
    dense[0, 100:1700] = True  # a long excluded run
    dense[1, : 3000 - m // 2] = True  # fewer candidates than M
    excl = sp.csr_matrix(dense)
    config = TrainConfig(sampler="dns", M=m, N="all", weight_decay=0.01)
    want = brute_force(user_w, item_w, users, items, excl, config)
    assert_same(full(user_w, item_w, users, items, excl, config), want)


@engines
def test_a_user_with_fewer_candidates_than_m_uses_all_of_them(full):
    user_w, item_w, users, items, _ = _problem(4, n_users=3, n_items=6, b=9)
    excl = sp.csr_matrix(np.array([[1, 1, 1, 1, 0, 0], [0] * 6, [1, 0, 1, 0, 1, 0]], bool))
    config = TrainConfig(sampler="dns", M=5, N="all", weight_decay=0.01)
    got = full(user_w, item_w, users, items, excl, config)
    want = brute_force(user_w, item_w, users, items, excl, config)
    assert {len(s) for s, u in zip(got[3], users, strict=True) if u == 0} == {2}
    assert_same(got, want)


@engines
def test_full_items_float32_is_close_to_float64(full):
    user_w, item_w, users, items, excl = _problem(5, n_items=200, b=60, density=0.1)
    config = TrainConfig(sampler="dns", M=10, N="all", weight_decay=0.01)
    want = full(user_w, item_w, users, items, excl, config)
    got = full(user_w.astype(np.float32), item_w.astype(np.float32), users, items, excl, config)
    np.testing.assert_allclose(got[0], want[0], rtol=2e-5)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-4, atol=1e-6)
