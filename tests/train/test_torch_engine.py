"""The torch engine (opauc_sim.train.torch_engine, torch_samplers) against its definitions.

- the samplers' weights against :mod:`opauc_sim.dro`, and the selection's tie rule;
- DNS over all items: one batch's pair losses, gradients (autograd) and selections equal
  :func:`opauc_sim.train.numba_engine.full_losses_and_grads` to 1e-12 in float64, ties
  included, stacked configurations as each alone (``tests/train/test_full_items.py``
  holds both engines against the brute-force reference);
- drawn candidates with ties: the same as the Numba kernels (ties to the earlier draw);
- PNS's draws follow :func:`opauc_sim.train.engine.popularity_cdf` (chi-square);
- no item of :func:`opauc_sim.train.engine.negative_exclusions` is ever a negative, for
  every sampler of the registry, both recipes, with and without the oracle control;
- whole training: fed a Numba engine's initial tables, batches and draws
  (:class:`~opauc_sim.train.torch_engine.MirrorEngine`), the torch engine trains to the
  Numba engine's tables, every kind of configuration, stacked.

Tiny synthetic data, CPU, float64. Skipped when torch (the 'train' extra) is missing.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

torch = pytest.importorskip("torch")

from opauc_sim import dro  # noqa: E402
from opauc_sim.train import data as D  # noqa: E402
from opauc_sim.train import engine as E  # noqa: E402
from opauc_sim.train import numba_engine, samplers, torch_engine  # noqa: E402
from opauc_sim.train import torch_samplers as ts  # noqa: E402
from opauc_sim.train.config import TrainConfig  # noqa: E402
from tests.train.test_engine_contract import KINDS, _stack  # noqa: E402
from tests.train.test_full_items import CASES, _problem, assert_same  # noqa: E402
from tests.train.test_numba_engine import _planted  # noqa: E402

pytestmark = pytest.mark.torch

F64 = torch.float64


@pytest.fixture(scope="module")
def split():
    return D.split_per_user(_planted(), seed=0)


# ----------------------------------------------------------------- sampler weights vs dro


@pytest.mark.parametrize("seed", range(5))
def test_softmax_v_weights_and_tau_match_dro(seed):
    rng = np.random.default_rng(seed)
    losses = rng.gamma(2.0, size=(7, 13)) * rng.uniform(0.01, 3)
    for rho in (0.01, 0.1, 1.0, 10.0, 100.0):
        w = ts.softmax_v_weights(torch.as_tensor(losses), rho).numpy()
        np.testing.assert_allclose(w, dro.softmax_v_weights(losses, rho), rtol=1e-12, atol=1e-15)
        tau = ts.softmax_v_tau(torch.as_tensor(losses), rho).numpy()[:, 0]
        np.testing.assert_allclose(tau, dro.taylor_tau(losses, rho), rtol=1e-12)


def test_softmax_v_zero_variance_guard_and_authors_nan():
    losses = torch.full((2, 4), 0.7, dtype=F64)
    guarded = ts.softmax_v_weights(losses, 1.0)
    np.testing.assert_array_equal(guarded.numpy(), dro.softmax_v_weights(losses.numpy(), 1.0))
    assert torch.isnan(ts.softmax_v_weights(losses, 1.0, guard=False)).all()


@pytest.mark.parametrize("m", [1, 2, 5, 9, 12])
@pytest.mark.parametrize("levels", [3, 1000])  # many ties, and almost none
def test_top_m_is_a_stable_sort_and_gives_dro_weights_with_index_ties(m, levels):
    rng = np.random.default_rng(m + levels)
    scores = rng.integers(0, levels, size=(3, 11, 9)).astype(np.float64)
    got = ts.top_m(torch.as_tensor(scores), m).numpy()
    want = np.argsort(-scores, axis=-1, kind="stable")[..., :m]
    np.testing.assert_array_equal(got, want)
    if m <= 9:
        weights = np.zeros(scores.shape)
        np.put_along_axis(weights, got, 1.0 / m, axis=-1)
        want = dro.dns_weights(scores.reshape(-1, 9), m, ties="index").reshape(scores.shape)
        np.testing.assert_array_equal(weights, want)


def test_top_m_puts_excluded_items_last():
    scores = torch.tensor([[1.0, -torch.inf, 3.0, -torch.inf, 3.0]], dtype=F64)
    assert ts.top_m(scores, 3)[0].tolist() == [2, 4, 0]
    assert ts.top_m(scores, 4)[0, :3].tolist() == [2, 4, 0]  # then one excluded


def _manual_pair_loss(ue, ie, item_w, cand, weights):
    pos = (ue * ie).sum(-1)
    neg = torch.einsum("bd,bnd->bn", ue, item_w[cand])
    return (weights * torch.nn.functional.softplus(neg - pos[:, None])).sum(-1)


@pytest.mark.parametrize("n", [4, 40])  # 40 >= items / 20: the GEMM path
def test_batch_loss_uses_dro_weights(n):
    """Per-pair losses of stacked DNS/Softmax-v/RNS configs equal losses with dro's weights."""
    g = torch.Generator().manual_seed(0)
    n_users, n_items, dim, b = 6, 30, 4, 8
    user_w = torch.randn(1, n_users, dim, generator=g, dtype=F64)
    item_w = torch.randn(1, n_items, dim, generator=g, dtype=F64)
    u = torch.randint(n_users, (b,), generator=g)
    i = torch.randint(n_items, (b,), generator=g)
    cand = torch.stack([torch.randperm(n_items, generator=g)[:n] for _ in range(b)])
    ue, ie = user_w[0, u], item_w[0, i]
    scores = torch.einsum("bd,bnd->bn", ue, item_w[0, cand]).numpy()
    losses = np.log1p(np.exp(scores - (ue * ie).sum(-1).numpy()[:, None]))
    configs = [
        TrainConfig(sampler="dns", M=3, N=n, weight_decay=0.0),
        TrainConfig(sampler="softmax", rho=0.5, N=n, weight_decay=0.0),
        TrainConfig(sampler="dns", M=1, N=n, weight_decay=0.0),
    ]
    expected = [
        dro.dns_weights(scores, 3),
        dro.softmax_v_weights(losses, 0.5),
        dro.dns_weights(scores, 1),
    ]
    stacked_u = user_w.expand(3, -1, -1)
    stacked_i = item_w.expand(3, -1, -1)
    group = torch_engine._GroupConstants(configs, "cpu", dtype=F64)
    got = torch_engine._batch_loss(stacked_u, stacked_i, u, i, cand, group)
    for c, w in enumerate(expected):
        want = _manual_pair_loss(ue, ie, item_w[0], cand, torch.as_tensor(w))
        np.testing.assert_allclose(got[c].numpy(), want.numpy(), rtol=1e-12)
    # Alone, each configuration gives the same losses (grouping does not matter).
    for c, config in enumerate(configs):
        alone_group = torch_engine._GroupConstants([config], "cpu", dtype=F64)
        alone = torch_engine._batch_loss(user_w, item_w, u, i, cand, alone_group)
        np.testing.assert_allclose(alone[0].numpy(), got[c].numpy(), rtol=1e-12)


def test_rns_batch_loss_is_bpr():
    g = torch.Generator().manual_seed(1)
    user_w = torch.randn(1, 5, 3, generator=g, dtype=F64)
    item_w = torch.randn(1, 9, 3, generator=g, dtype=F64)
    u, i = torch.tensor([0, 1, 4]), torch.tensor([2, 3, 8])
    cand = torch.tensor([[1], [0], [5]])
    group = torch_engine._GroupConstants([TrainConfig(weight_decay=0.0)], "cpu", dtype=F64)
    got = torch_engine._batch_loss(user_w, item_w, u, i, cand, group)[0]
    diff = (user_w[0, u] * (item_w[0, i] - item_w[0, cand[:, 0]])).sum(-1)
    np.testing.assert_allclose(got.numpy(), torch.nn.functional.softplus(-diff).numpy())


def test_authors_code_sums_dns_losses():
    """--authors-code: DNS weights each kept negative 1 (summed), so the pair loss is M times."""
    g = torch.Generator().manual_seed(2)
    user_w = torch.randn(1, 5, 3, generator=g, dtype=F64)
    item_w = torch.randn(1, 30, 3, generator=g, dtype=F64)
    u, i = torch.tensor([0, 1, 4, 2]), torch.tensor([2, 3, 8, 9])
    cand = torch.stack([torch.randperm(30, generator=g)[:6] for _ in range(4)])
    losses = []
    for authors in (False, True):
        config = TrainConfig(sampler="dns", M=3, N=6, weight_decay=0.0, authors_code=authors)
        group = torch_engine._GroupConstants([config], "cpu", F64)
        losses.append(torch_engine._batch_loss(user_w, item_w, u, i, cand, group).numpy())
    np.testing.assert_allclose(losses[1], 3 * losses[0], rtol=1e-12)


# ----------------------------------------------------------------- parity: one batch


@pytest.mark.parametrize("m", [1, 3, 8, 30, 40])  # 30, 40: M >= the candidates
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_full_items_equal_numba_with_ties(m, case, seed):
    """Rounded tables (exact ties in any GEMM): the same selections, values to 1e-12.
    (tests/train/test_full_items.py holds both engines against the brute force.)"""
    args = (
        *_problem(seed, ties=seed == 2, rounded=True),
        TrainConfig(sampler="dns", M=m, N="all", **CASES[case]),
    )
    assert_same(
        torch_engine.full_losses_and_grads(*args), numba_engine.full_losses_and_grads(*args)
    )


def test_full_items_stacked_configurations_equal_each_alone():
    user_w, item_w, users, items, excl = _problem(2, ties=True, rounded=True)
    configs = [
        TrainConfig(sampler="dns", M=m, N="all", weight_decay=wd)
        for m, wd in ((1, 0.01), (3, 0.0), (8, 0.1), (40, 0.01))
    ]
    rows = ts.CsrRows(excl, "cpu")
    u, i = torch.as_tensor(users), torch.as_tensor(items)
    stacked = [torch.tensor(np.stack([w] * len(configs))) for w in (user_w, item_w)]
    group = torch_engine._GroupConstants(configs, "cpu", F64)
    together = torch_engine._full_batch_loss(*stacked, u, i, rows, group)[0]
    for c, config in enumerate(configs):
        alone = torch_engine.full_losses_and_grads(user_w, item_w, users, items, excl, config)
        np.testing.assert_allclose(together[c].numpy(), alone[0], rtol=1e-12, atol=1e-12)


DRAWN = {
    "rns": dict(sampler="rns"),
    "dns": dict(sampler="dns", M=3, N=12),
    "dns_m_eq_n": dict(sampler="dns", M=12, N=12),
    "softmax": dict(sampler="softmax", rho=0.5, N=12),
}


@pytest.mark.parametrize("name", sorted(DRAWN))
@pytest.mark.parametrize("authors", [False, True])
@pytest.mark.parametrize("wd", [0.0, 0.01])
def test_drawn_candidates_with_ties_equal_numba(name, authors, wd):
    """Rounded tables: many tied scores among the candidates; both go to the earlier draw."""
    config = TrainConfig(**DRAWN[name], weight_decay=wd, authors_code=authors)
    rng = np.random.default_rng(3)
    user_w = np.round(rng.normal(size=(9, 4)) * 2) / 2
    item_w = np.round(rng.normal(size=(40, 4)) * 2) / 2
    users, items = rng.integers(0, 9, 16), rng.integers(0, 40, 16)
    cand = rng.integers(0, 40, (16, config.N))
    got = torch_engine.pair_losses_and_grads(user_w, item_w, users, items, cand, config)
    want = numba_engine.pair_losses_and_grads(user_w, item_w, users, items, cand, config)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------- draws and exclusions


def test_negatives_exclude_positives_and_are_uniform():
    matrix = sp.csr_matrix(np.array([[1, 1, 1, 0, 0, 0, 1, 0]] * 2, dtype=bool))
    mask = ts.NegativeMask(matrix, "cpu")
    sparse_mask = ts.NegativeMask(matrix, "cpu", dense_limit=0)
    g = torch.Generator().manual_seed(0)
    users = torch.tensor([0, 1] * 2000)
    for m in (mask, sparse_mask):
        draws = ts.draw_negatives(users, 5, 8, g, m)
        counts = np.bincount(draws.numpy().ravel(), minlength=8)
        assert counts[[0, 1, 2, 6]].sum() == 0
        freq = counts[[3, 4, 5, 7]] / counts.sum()
        np.testing.assert_allclose(freq, 0.25, atol=0.01)  # 20000 draws: sd ~0.003
    anything = ts.draw_negatives(users, 5, 8, g, None)
    assert np.isin(anything.numpy(), [0, 1, 2, 6]).any()  # authors' code: positives allowed


def _pns_draws(backend, split, users, n, excl, cdf):
    if backend == "torch":
        mask = None if excl is None else ts.NegativeMask(excl, "cpu")
        gen = torch.Generator().manual_seed(0)
        got = ts.draw_negatives(
            torch.as_tensor(users), n, split.n_items, gen, mask, torch.as_tensor(cdf)
        )
        return got.numpy()
    cand = np.empty((len(users), n), dtype=np.int64)
    bloom = np.empty((len(users), numba_engine._BLOOM_WORDS), dtype=np.uint64)
    numba_engine.draw_candidates(cand, users, np.uint64(7), 0, split.n_items, excl, bloom, cdf)
    return cand


@pytest.mark.parametrize("backend", ["torch", "numba"])
@pytest.mark.parametrize("alpha", [0.0, 0.75, 1.0])
@pytest.mark.parametrize("authors", [False, True])
def test_pns_draws_follow_the_popularity_cdf(split, backend, alpha, authors):
    """Chi-square against count^alpha restricted to the user's candidates (p < 1e-4 fails:
    the draws are seeded, so a pass is no accident of this run)."""
    config = TrainConfig(sampler="pns", alpha=alpha, authors_code=authors)
    excl = E.negative_exclusions(split, config)
    cdf = E.popularity_cdf(split, config, excl)
    counts = np.bincount(split.train.indices, minlength=split.n_items).astype(float)
    weight = np.where(counts > 0, counts**alpha, 0.0)
    for user in (0, 7):
        draws = _pns_draws(backend, split, np.full(4000, user), 5, excl, cdf).ravel()
        p = weight.copy()
        if excl is not None:
            p[excl[user].indices] = 0.0
        p /= p.sum()
        observed = np.bincount(draws, minlength=split.n_items)
        assert observed[p == 0].sum() == 0  # excluded, or never trained on
        keep = p > 0
        stat, pvalue = stats.chisquare(observed[keep], p[keep] * draws.size)
        assert pvalue > 1e-4, (user, stat)


def _spec_config(name: str, **kw) -> TrainConfig:
    spec = samplers.get(name)
    values = {"M": 2, "N": 8, "rho": 0.5, "alpha": 0.75}
    params = {p: values[p] for p in spec.params} | kw
    return TrainConfig(sampler=name, batch_size=64, lr=0.05, **params)


def _registry_configs():
    for name in samplers.names():
        yield pytest.param(name, {}, id=name)
        if samplers.get(name).full_items:
            yield pytest.param(name, {"N": samplers.ALL}, id=f"{name}-all")


def _expected_exclusions(split, config) -> np.ndarray:
    """The rule of docs (config, engine.negative_exclusions), written out again."""
    out = np.zeros((split.n_users, split.n_items), dtype=bool)
    if not config.authors_code or config.full_items:
        out |= split.train.toarray()
    if config.exclude_heldout:
        out |= split.valid.toarray() | split.test.toarray()
    return out


@pytest.mark.parametrize("name, extra", list(_registry_configs()))
@pytest.mark.parametrize("authors", [False, True])
@pytest.mark.parametrize("heldout", [False, True])
def test_no_excluded_item_is_ever_a_negative(split, monkeypatch, name, extra, authors, heldout):
    """For every sampler of the registry: what the engine draws or selects over two epochs
    avoids the exclusions, and (the spy sees the draws) reaches beyond them otherwise."""
    config = _spec_config(name, authors_code=authors, exclude_heldout=heldout, **extra)
    seen = []
    if config.full_items:
        real = torch_engine._full_selection

        def spy(user_w, item_w, users, exclusions, group):
            sel, weights, count = real(user_w, item_w, users, exclusions, group)
            for g, u in enumerate(users.tolist()):
                seen.append((u, sel[0, g, : count[0, g]].tolist()))
            return sel, weights, count

        monkeypatch.setattr(torch_engine, "_full_selection", spy)
    else:
        real = torch_engine.draw_negatives

        def spy(users, n, *args, **kw):
            cand = real(users, n, *args, **kw)
            seen.extend(zip(users.tolist(), cand.tolist(), strict=True))
            return cand

        monkeypatch.setattr(torch_engine, "draw_negatives", spy)
    engine = torch_engine.TorchEngine(split, [config], "cpu")
    for _ in range(2):
        engine.epoch()
    assert seen
    blocked = _expected_exclusions(split, config)
    hits = sum(int(blocked[u, items].sum()) for u, items in seen)
    assert hits == 0
    if authors and not heldout and not config.full_items:  # nothing excluded: positives come
        train = split.train.toarray()
        assert sum(int(train[u, items].sum()) for u, items in seen) > 0


# ----------------------------------------------------------------- parity: whole training


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
def test_mirror_engine_trains_as_the_numba_engine(split, kind, dtype, tol):
    """Same initial tables, batches and draws (MirrorEngine takes a Numba engine's
    streams): stacked configurations of every kind train to the same tables, epoch after
    epoch (measured: 2e-13 in float64, 2e-5 in float32, after 5 epochs)."""
    configs = _stack(kind)
    numba = numba_engine.NumbaEngine(split, configs, dtype=dtype)
    source = numba_engine.NumbaEngine(split, configs, dtype=dtype)
    mirror = torch_engine.MirrorEngine(split, configs, source, dtype=dtype)
    for _ in range(3):
        np.testing.assert_allclose(mirror.epoch(), numba.epoch(), rtol=tol, atol=tol)
        for c in range(len(configs)):
            got = mirror.to_numpy(mirror.snapshot(c))
            want = numba.to_numpy(numba.snapshot(c))
            for g, w in zip(got, want, strict=True):
                np.testing.assert_allclose(g, w, rtol=0, atol=tol)


def test_mirror_engine_refuses_another_group(split):
    source = numba_engine.NumbaEngine(split, [TrainConfig(sampler="rns")])
    with pytest.raises(ValueError, match="same pairs and configurations"):
        torch_engine.MirrorEngine(split, [TrainConfig(sampler="rns", seed=1)], source)
