"""The engine contract (:class:`opauc_sim.train.engine.Engine`), on both engines alike.

Every test runs on the Numba engine and on the torch engine (on the CPU; skipped, with
the reason, where torch is not installed), for a configuration of each kind: drawn
candidates (RNS, PNS, DNS(M, N), Softmax-v), DNS over all items in pair and in user
batches, and the authors' recipe. What an engine must do for
:func:`opauc_sim.train.runner.train_many`:

- be an :class:`~opauc_sim.train.engine.Engine` (the runtime-checkable Protocol);
- ``epoch()``: finite mean pair losses, one per configuration, that go down on a
  planted problem;
- ``scorer(c)(rows)``: float32 NumPy scores of those users over all items;
- ``snapshot`` / ``restore`` / ``to_numpy``: a copy that puts the tables back;
- a seeded engine repeats itself; stacked configurations train as each alone;
- user batching: every training pair exactly once per epoch, a user's pairs together;
- DNS over all items with the oracle control never takes a held-out item.

The batches are read through ``_epoch_batches()``, the one hook besides the Protocol
that both engines have (``epoch()`` trains on what it returns).
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import scipy.sparse as sp

from opauc_sim.train import data as D
from opauc_sim.train import engine as E
from opauc_sim.train.config import TrainConfig
from tests.train.test_numba_engine import _planted

HAS_TORCH = importlib.util.find_spec("torch") is not None


def _make(name: str, split, configs, dtype=np.float32):
    if name == "numba":
        from opauc_sim.train.numba_engine import NumbaEngine

        return NumbaEngine(split, configs, dtype=dtype)
    from opauc_sim.train.torch_engine import TorchEngine

    return TorchEngine(split, configs, "cpu", dtype=dtype)


ENGINES = [
    pytest.param("numba", id="numba"),
    pytest.param(
        "torch",
        id="torch",
        marks=[
            pytest.mark.torch,
            pytest.mark.skipif(not HAS_TORCH, reason="torch (the 'train' extra) is not installed"),
        ],
    ),
]
KINDS = {
    "rns": dict(sampler="rns"),
    "pns": dict(sampler="pns", alpha=0.75),
    "dns": dict(sampler="dns", M=2, N=8),
    "softmax": dict(sampler="softmax", rho=1.0, N=8),
    "dns_all": dict(sampler="dns", M=3, N="all"),
    "dns_all_user": dict(sampler="dns", M=3, N="all", batching="user"),
    "authors_dns": dict(sampler="dns", M=2, N=8, authors_code=True),
    "authors_dns_all": dict(sampler="dns", M=3, N="all", authors_code=True, batching="user"),
}
each_engine = pytest.mark.parametrize("engine_name", ENGINES)
each_kind = pytest.mark.parametrize("kind", sorted(KINDS))


@pytest.fixture(scope="module")
def split():
    return D.split_per_user(_planted(), seed=0)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Problems this small run fastest on one thread (on a busy machine, by far)."""
    import numba
    from threadpoolctl import threadpool_limits

    pools = [(numba.get_num_threads, numba.set_num_threads)]
    if HAS_TORCH:
        import torch

        pools.append((torch.get_num_threads, torch.set_num_threads))
    before = [get() for get, _ in pools]
    for _, set_threads in pools:
        set_threads(1)
    with threadpool_limits(1):
        yield
    for (_, set_threads), n in zip(pools, before, strict=True):
        set_threads(n)


def _config(kind: str, **kw) -> TrainConfig:
    base = dict(batch_size=64, lr=0.05, weight_decay=1e-3, ks=(5, 10), select_metric="ndcg@10")
    return TrainConfig(**(base | KINDS[kind] | kw))


def _stack(kind: str) -> list[TrainConfig]:
    """Two configurations that train together: another M (DNS) or weight decay."""
    first = _config(kind)
    if first.spec.select == "top" and first.spec.params and "M" in first.spec.params:
        return [first, _config(kind, M=1, weight_decay=0.0)]
    return [first, _config(kind, weight_decay=0.0)]


def _trained(engine_name: str, split, configs, epochs: int):
    """A new engine after ``epochs`` epochs, and their losses, shape (epochs, C)."""
    engine = _make(engine_name, split, configs)
    return engine, np.array([engine.epoch() for _ in range(epochs)])


def _np(a) -> np.ndarray:
    return np.asarray(a.cpu()) if hasattr(a, "cpu") else np.asarray(a)


def _tables(engine, c: int) -> tuple[np.ndarray, np.ndarray]:
    user_w, item_w = engine.to_numpy(engine.snapshot(c))
    return np.array(user_w), np.array(item_w)


@each_engine
@each_kind
def test_an_engine_is_an_engine_protocol(split, engine_name, kind):
    configs = _stack(kind)
    engine = _make(engine_name, split, configs)
    assert isinstance(engine, E.Engine)
    assert engine.backend == engine_name
    assert engine.configs == configs
    assert str(engine.device) == "cpu"


@each_engine
@each_kind
def test_epoch_returns_finite_mean_losses_per_config_that_decrease(split, engine_name, kind):
    configs = _stack(kind)
    _, losses = _trained(engine_name, split, configs, 8)
    assert losses.shape == (8, len(configs))
    assert np.isfinite(losses).all()
    # (The authors' drawn negatives include the user's positives: their loss falls least.)
    assert (losses[-1] < losses[0]).all(), losses


@each_engine
@each_kind
def test_scorer_gives_float32_numpy_scores_of_the_rows_over_all_items(split, engine_name, kind):
    engine = _make(engine_name, split, _stack(kind))
    engine.epoch()
    rows = np.array([3, 0, 3, 59])
    for c in range(2):
        scores = engine.scorer(c)(rows)
        assert isinstance(scores, np.ndarray)
        assert scores.dtype == np.float32 and scores.shape == (len(rows), split.n_items)
        user_w, item_w = _tables(engine, c)
        np.testing.assert_allclose(scores, user_w[rows] @ item_w.T, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "engine_name",
    [
        pytest.param("numba", id="numba"),
        ENGINES[1],
    ],
)
def test_scorer_gives_float32_scores_of_a_float64_engine_too(split, engine_name):
    engine = _make(engine_name, split, _stack("dns_all"), dtype=np.float64)
    assert engine.scorer(0)(np.arange(4)).dtype == np.float32


@each_engine
@each_kind
def test_snapshot_restore_to_numpy_round_trip(split, engine_name, kind):
    engine = _make(engine_name, split, _stack(kind))
    engine.epoch()
    state = engine.snapshot(1)
    before = _tables(engine, 1)
    engine.epoch()
    after = _tables(engine, 1)
    assert not np.array_equal(after[1], before[1])  # training moved the tables...
    for got, want in zip(engine.to_numpy(state), before, strict=True):
        np.testing.assert_array_equal(got, want)  # ...not the snapshot
    other = _tables(engine, 0)
    engine.restore(1, state)
    for got, want in zip(_tables(engine, 1), before, strict=True):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(_tables(engine, 0), other, strict=True):
        np.testing.assert_array_equal(got, want)  # the other configuration untouched
    scores = engine.scorer(1)(np.arange(5))
    np.testing.assert_allclose(scores, before[0][:5] @ before[1].T, rtol=1e-5, atol=1e-6)


@each_engine
@each_kind
def test_a_seeded_engine_repeats_itself(split, engine_name, kind):
    runs = []
    for _ in range(2):
        engine, losses = _trained(engine_name, split, _stack(kind), 2)
        runs.append((losses, _tables(engine, 0), _tables(engine, 1)))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    for a, b in zip(runs[0][1:], runs[1][1:], strict=True):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    other = _make(engine_name, split, [_config(kind, seed=1)])
    other.epoch()
    assert not np.array_equal(_tables(other, 0)[1], runs[0][1][1])


@each_engine
@each_kind
def test_stacked_configurations_train_as_each_alone(split, engine_name, kind):
    configs = _stack(kind)
    together, losses = _trained(engine_name, split, configs, 3)
    for c, config in enumerate(configs):
        alone, alone_losses = _trained(engine_name, split, [config], 3)
        np.testing.assert_allclose(losses[:, c], alone_losses[:, 0], rtol=1e-5)
        for got, want in zip(_tables(together, c), _tables(alone, 0), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@each_engine
@pytest.mark.parametrize("kind", ["dns", "dns_all_user", "authors_dns_all"])
def test_user_batching_visits_every_training_pair_once_per_epoch(split, engine_name, kind):
    config = _config(kind, batching="user", batch_size=50)
    engine = _make(engine_name, split, [config])
    seen = []
    real = engine._epoch_batches

    def spy():
        out = real()
        seen.append([_np(b) for b in out])
        return out

    engine._epoch_batches = spy
    for _ in range(2):
        engine.epoch()
    users = _np(engine.users)
    n_pairs = split.train.nnz  # every planted user has a candidate: all pairs train
    assert len(users) == n_pairs and len(seen) == 2
    degree = np.bincount(users, minlength=split.n_users)
    for batches in seen:
        flat = np.concatenate(batches)
        np.testing.assert_array_equal(np.sort(flat), np.arange(n_pairs))  # each pair once
        owners = [set(users[b].tolist()) for b in batches]
        assert sum(len(o) for o in owners) == len(set().union(*owners))  # a user in one batch
        for b, o in zip(batches, owners, strict=True):
            assert len(b) == degree[list(o)].sum()  # with all of its pairs
            assert len(b) < config.batch_size + degree.max()
    assert not all(
        np.array_equal(a, b) for a, b in zip(seen[0], seen[1], strict=False)
    )  # a new permutation each epoch


def _heldout_for_everyone(split, items):
    """``split`` with ``items`` moved out of training into every user's test items."""
    keep = sp.diags(np.isin(np.arange(split.n_items), items, invert=True).astype(float))
    test = sp.lil_matrix(split.test @ keep)
    test[:, items] = True
    return D.Split(
        train=sp.csr_matrix(split.train @ keep, dtype=bool),
        valid=sp.csr_matrix(split.valid @ keep, dtype=bool),
        test=sp.csr_matrix(test, dtype=bool),
    )


@each_engine
@pytest.mark.parametrize("batching", ["pair", "user"])
def test_full_item_dns_with_exclude_heldout_never_selects_a_heldout_item(
    split, engine_name, batching
):
    """Items held out for every user, that score highest for everyone: DNS(3, all)
    selects them unless the oracle control excludes them. An item that is never a
    positive nor a negative gets a zero gradient every step, which Adam (project recipe:
    no weight decay outside the loss) turns into no update at all."""
    heldout = np.array([4, 11, 30])
    data = _heldout_for_everyone(split, heldout)
    assert data.train[:, heldout].nnz == 0 and data.valid[:, heldout].nnz == 0
    rng = np.random.default_rng(0)
    user_w = np.abs(rng.normal(0.1, 0.1, (data.n_users, 3))).astype(np.float32) + 0.1
    item_w = rng.normal(0.0, 0.1, (data.n_items, 3)).astype(np.float32)
    item_w[heldout] = 2.0
    moved = {}
    for oracle in (False, True):
        config = TrainConfig(
            sampler="dns", M=3, N="all", dim=3, batch_size=64, lr=0.01, batching=batching,
            exclude_heldout=oracle, weight_decay=1e-3, ks=(5,), select_metric="ndcg@5",
        )  # fmt: skip
        engine = _make(engine_name, data, [config])
        engine.restore(0, (user_w, item_w))
        for _ in range(2):
            engine.epoch()
        moved[oracle] = np.abs(_tables(engine, 0)[1][heldout] - item_w[heldout]).max()
    assert moved[False] > 1e-3  # without the control they are the hardest negatives
    assert moved[True] == 0.0  # with it, never selected
