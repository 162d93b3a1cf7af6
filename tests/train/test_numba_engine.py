"""The fused CPU trainer (opauc_sim.train.numba_engine) against the PyTorch reference.

Given the same embeddings and the same candidates, the two compute the same pair losses
and the same gradients: to 1e-12 in float64 and to float32 round-off in float32, for
RNS, DNS, Softmax-v and the authors' recipe. Adam is held against torch.optim.Adam, the
candidate draws against their definition, and whole runs against thread counts.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from opauc_sim.train import data as D
from opauc_sim.train import numba_engine
from opauc_sim.train.config import TrainConfig
from opauc_sim.train.runner import train, train_many

CONFIGS = {
    "rns": TrainConfig(sampler="rns", weight_decay=0.01),
    "dns": TrainConfig(sampler="dns", M=3, N=12, weight_decay=0.01),
    "dns_all": TrainConfig(sampler="dns", M=12, N=12, weight_decay=0.0),
    "softmax": TrainConfig(sampler="softmax", rho=0.5, N=12, weight_decay=0.01),
    "softmax_big_rho": TrainConfig(sampler="softmax", rho=100.0, N=12, weight_decay=0.0),
    "authors_dns": TrainConfig(sampler="dns", M=3, N=12, weight_decay=0.01, authors_code=True),
    "authors_softmax": TrainConfig(
        sampler="softmax", rho=0.5, N=12, weight_decay=0.01, authors_code=True
    ),
}


def _batch(seed, n_users=9, n_items=40, dim=5, b=16, n=12, dtype=np.float64, scale=1.0):
    rng = np.random.default_rng(seed)
    user_w = (rng.normal(size=(n_users, dim)) * scale).astype(dtype)
    item_w = (rng.normal(size=(n_items, dim)) * scale).astype(dtype)
    users = rng.integers(0, n_users, b)  # repeated users and items on purpose
    items = rng.integers(0, n_items, b)
    cand = rng.integers(0, n_items, (b, n))  # duplicates within a row on purpose
    return user_w, item_w, users, items, cand


def _torch_reference(user_w, item_w, users, items, cand, config):
    """Pair losses and gradients of the batch loss by the torch engine's autograd."""
    pytest.importorskip("torch")
    from opauc_sim.train import torch_engine

    return torch_engine.pair_losses_and_grads(user_w, item_w, users, items, cand, config)


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("seed", range(3))
def test_losses_and_gradients_equal_torch_in_float64(name, seed):
    config = CONFIGS[name]
    user_w, item_w, users, items, cand = _batch(seed, n=config.N)
    got = numba_engine.pair_losses_and_grads(user_w, item_w, users, items, cand, config)
    want = _torch_reference(user_w, item_w, users, items, cand, config)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_losses_and_gradients_equal_torch_in_float32(name):
    config = CONFIGS[name]
    user_w, item_w, users, items, cand = _batch(7, dim=32, b=64, n=config.N, dtype=np.float32)
    got = numba_engine.pair_losses_and_grads(user_w, item_w, users, items, cand, config)
    want = _torch_reference(user_w, item_w, users, items, cand, config)
    for g, w in zip(got, want, strict=True):
        # float32 round-off of sums of ~400 terms of size ~5.
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-5 * float(np.abs(w).max()))


def test_gradients_equal_finite_differences():
    """Independently of torch: the gradient of the batch loss by central differences."""
    config = TrainConfig(sampler="softmax", rho=0.7, N=6, weight_decay=0.05)
    user_w, item_w, users, items, cand = _batch(3, n_users=4, n_items=10, dim=3, b=5, n=6)
    _, g_user, g_item = numba_engine.pair_losses_and_grads(
        user_w, item_w, users, items, cand, config
    )

    def batch_loss(uw, iw):
        # Softmax-v's weights are constants in the gradient: freeze them at the point.
        return numba_engine.pair_losses_and_grads(uw, iw, users, items, cand, config)[0].mean()

    t = numba_engine.batch_terms(user_w, item_w, users, items, cand, config)
    frozen = t["weight"].copy()

    def frozen_loss(uw, iw):
        pos = np.einsum("bd,bd->b", uw[users], iw[items])
        neg = np.einsum("bd,bnd->bn", uw[users], iw[cand])
        x = neg - pos[:, None]
        pair = (frozen * np.logaddexp(0, x)).sum(1)
        reg = (uw[users] ** 2).sum(1) + (iw[items] ** 2).sum(1)
        reg += (frozen * (iw[cand] ** 2).sum(2)).sum(1)
        return (pair + 0.5 * config.weight_decay * reg).mean()

    assert frozen_loss(user_w, item_w) == pytest.approx(batch_loss(user_w, item_w), rel=1e-12)
    h = 1e-6
    for table, grad, which in ((user_w, g_user, 0), (item_w, g_item, 1)):
        num = np.zeros_like(table)
        for idx in np.ndindex(table.shape):
            plus, minus = table.copy(), table.copy()
            plus[idx] += h
            minus[idx] -= h
            args_p = (plus, item_w) if which == 0 else (user_w, plus)
            args_m = (minus, item_w) if which == 0 else (user_w, minus)
            num[idx] = (frozen_loss(*args_p) - frozen_loss(*args_m)) / (2 * h)
        np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-9)


def test_dns_selects_the_top_m_and_softmax_weights_match_dro():
    from opauc_sim import dro

    user_w, item_w, users, items, cand = _batch(11, n=12)
    scores = np.einsum("bd,bnd->bn", user_w[users], item_w[cand])
    pos = np.einsum("bd,bd->b", user_w[users], item_w[items])
    t = numba_engine.batch_terms(user_w, item_w, users, items, cand, CONFIGS["dns"])
    for p in range(len(users)):
        top = np.sort(scores[p])[::-1][:3]
        got = np.sort(np.einsum("d,kd->k", user_w[users[p]], item_w[t["sel"][p]]))[::-1]
        np.testing.assert_allclose(got, top, rtol=1e-12)
    np.testing.assert_array_equal(t["weight"], np.full((len(users), 3), 1 / 3))
    losses = np.logaddexp(0, scores - pos[:, None])
    for config, unbiased in ((CONFIGS["softmax"], False), (CONFIGS["authors_softmax"], True)):
        t = numba_engine.batch_terms(user_w, item_w, users, items, cand, config)
        if unbiased:  # dro's tau is the population one: rescale rho by (N-1)/N
            want = dro.softmax_v_weights(losses, config.rho * (config.N - 1) / config.N)
        else:
            want = dro.softmax_v_weights(losses, config.rho)
        np.testing.assert_allclose(t["weight"], want, rtol=1e-12)


def test_softmax_zero_variance_gives_uniform_weights_or_nan_for_the_authors():
    user_w = np.zeros((2, 3))
    item_w = np.ones((5, 3))
    users, items = np.array([0, 1]), np.array([0, 1])
    cand = np.array([[2, 3, 4, 2], [4, 4, 3, 2]])
    config = TrainConfig(sampler="softmax", rho=1.0, N=4)
    t = numba_engine.batch_terms(user_w, item_w, users, items, cand, config)
    np.testing.assert_array_equal(t["weight"], 0.25)
    authors = TrainConfig(sampler="softmax", rho=1.0, N=4, authors_code=True)
    t = numba_engine.batch_terms(user_w, item_w, users, items, cand, authors)
    assert np.isnan(t["weight"]).all()  # as torch.softmax(L / 0) in the authors' code


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_adam_step_equals_torch_adam(dtype, weight_decay):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    param = rng.normal(size=(7, 4)).astype(dtype)
    ref = torch.tensor(param.copy(), requires_grad=True)
    opt = torch.optim.Adam([ref], lr=0.01, weight_decay=weight_decay)
    m, v, g = np.zeros_like(param), np.zeros_like(param), np.zeros_like(param)
    for step in range(1, 6):
        grad = rng.normal(size=param.shape).astype(dtype)
        grad[0] = 0.0  # a row without gradient still moves (dense Adam)
        g[...] = grad
        ref.grad = torch.tensor(grad)
        opt.step()
        numba_engine.adam_step(param, g, m, v, step, 0.01, weight_decay)
        assert not g.any()  # zeroed for the next batch
        tol = 1e-14 if dtype == np.float64 else 1e-6
        np.testing.assert_allclose(param, ref.detach().numpy(), rtol=tol, atol=tol)


def test_draws_are_uniform_over_non_positives_and_thread_independent():
    import numba

    matrix = sp.csr_matrix(np.array([[1, 1, 1, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 0, 1]], bool))
    users = np.array([0, 1] * 2000, dtype=np.int64)
    cand = np.empty((len(users), 5), dtype=np.int64)
    bloom = np.empty((len(users), numba_engine._BLOOM_WORDS), dtype=np.uint64)
    key = np.uint64(123)
    numba_engine.draw_candidates(cand, users, key, 0, 8, matrix, bloom)
    counts0 = np.bincount(cand[users == 0].ravel(), minlength=8)
    assert counts0[[0, 1, 2, 6]].sum() == 0
    np.testing.assert_allclose(counts0[[3, 4, 5, 7]] / counts0.sum(), 0.25, atol=0.015)
    assert not (cand[users == 1] == 7).any()
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        again = np.empty_like(cand)
        numba_engine.draw_candidates(again, users, key, 0, 8, matrix, bloom)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(again, cand)
    anything = np.empty_like(cand)
    numba_engine.draw_candidates(anything, users, key, 0, 8, None, bloom)
    assert np.isin(anything[users == 0], [0, 1, 2, 6]).any()  # authors: from all items


def _planted(seed=0, n_users=60, n_items=50, dim=3):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n_users, dim)) @ rng.normal(size=(dim, n_items)) * 1.5
    return sp.csr_matrix(logits > np.quantile(logits, 0.8, axis=1, keepdims=True))


@pytest.fixture(scope="module")
def split():
    return D.split_per_user(_planted(), seed=0)


def _small(**kw):
    base = dict(epochs=4, batch_size=64, lr=0.05, eval_every=1, ks=(5, 10), select_metric="ndcg@10")
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.parametrize(
    "config",
    [_small(sampler="dns", M=2, N=8), _small(sampler="softmax", rho=1.0, N=8, weight_decay=0.01)],
    ids=["dns", "softmax"],
)
def test_run_is_bit_identical_for_any_thread_count(split, config):
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 Numba threads")
    a = train(split, config, device="cpu", threads=1, keep_embeddings=True)
    b = train(split, config, device="cpu", threads=2, keep_embeddings=True)
    np.testing.assert_array_equal(a.item_embedding, b.item_embedding)
    assert a.history == b.history and a.test == b.test


def test_fast_training_learns(split):
    result = train(split, _small(sampler="dns", M=2, N=10, epochs=8), device="cpu")
    assert result.backend == "numba"
    losses = [row["loss"] for row in result.history]
    assert losses[-1] < 0.8 * losses[0]
    assert result.test["recall@10"] > 0.2  # random ranking: ~10/40


def test_group_does_not_change_a_configuration(split):
    configs = [_small(sampler="dns", M=2, N=8, weight_decay=1e-3), _small(sampler="dns", M=8, N=8)]
    together = train_many(split, configs, device="cpu", keep_embeddings=True)
    for config, res in zip(configs, together, strict=True):
        alone = train(split, config, device="cpu", keep_embeddings=True)
        np.testing.assert_array_equal(res.item_embedding, alone.item_embedding)


def test_no_validation_keeps_the_last_epoch(split):
    config = _small(sampler="rns", eval_every=0, epochs=3)
    result = train(split, config, device="cpu")
    assert result.best_epoch == 3 and result.valid == {}
    assert all(set(row) == {"epoch", "loss"} for row in result.history)
    no_valid = D.split_per_user(_planted(), seed=0, valid_frac=0.0)
    with pytest.raises(ValueError, match="validation slice"):
        train(no_valid, _small(sampler="rns"), device="cpu")


def test_authors_step_lr():
    config = TrainConfig(lr=0.1, authors_code=True)
    assert [config.lr_at(e) for e in (1, 5, 6, 11)] == pytest.approx([0.1, 0.1, 0.095, 0.09025])
    assert TrainConfig(lr=0.1).lr_at(100) == 0.1


@pytest.mark.torch
def test_threads_hold_for_the_whole_run_in_every_pool(split):
    """--threads 1 used to be undone by Numba's threading layer after the first evaluation;
    now the threads are set once, around the run, and restored after it."""
    import numba
    import torch
    from threadpoolctl import threadpool_info

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 Numba threads")
    before = (torch.get_num_threads(), numba.get_num_threads())
    try:
        torch.set_num_threads(2)
        from opauc_sim.train import runner

        evaluate = runner.evaluate_ranking
        for backend in ("torch", "numba"):
            seen = []

            def spy(*args, seen=seen, **kwargs):
                pools = [p["num_threads"] for p in threadpool_info()]
                seen.append((torch.get_num_threads(), numba.get_num_threads(), *pools))
                return evaluate(*args, **kwargs)

            runner.evaluate_ranking = spy
            try:
                config = _small(sampler="rns", epochs=3)
                train(split, config, device="cpu", backend=backend, threads=1)
            finally:
                runner.evaluate_ranking = evaluate
            assert seen and all(set(s) == {1} for s in seen)  # every evaluation, every pool
            assert torch.get_num_threads() == 2  # restored after the run
    finally:
        torch.set_num_threads(before[0])
        numba.set_num_threads(before[1])


@pytest.mark.parametrize(
    "train_txt, test_txt, message",
    [
        ("", "", "empty"),
        ("0 0\n1 0\n", "2 0\n", "1 item"),
    ],
    ids=["empty", "one-item"],
)
def test_degenerate_data_is_refused_before_training(tmp_path, capsys, train_txt, test_txt, message):
    from opauc_sim.cli import main

    (tmp_path / "train.txt").write_text(train_txt)
    (tmp_path / "test.txt").write_text(test_txt)
    argv = ["train", "--dataset", str(tmp_path), "--valid-frac", "0", "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--threads", "-1"], "--threads must be in"),
        (["--threads", "100000"], "--threads must be in"),
        (["--dim", "1000000000"], "memory"),
        (["--sampler", "dns", "--M", "5", "--N", "1000000000"], "memory"),
        (["--lr", "1e308"], "lr must be"),
        (["--sampler", "dns"], "needs --M"),
        (["--sampler", "softmax", "--rho", "1", "--M", "3"], "does not apply"),
        (["--out", "somewhere/"], "--out"),
    ],
)
def test_bad_training_options_are_one_line_errors(tmp_path, capsys, extra, message):
    from opauc_sim.cli import main

    data = tmp_path / "data"
    split = D.split_per_user(_planted(seed=3), seed=1, valid_frac=0.0)
    D.write_lightgcn(data, split.train, split.test)
    argv = ["train", "--dataset", str(data), "--epochs", "1", "--quiet", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_long_training_is_announced_on_stderr_even_when_quiet(tmp_path, capsys, monkeypatch):
    """train --epochs 10**12 used to start silently; it now says the estimate first."""
    from opauc_sim.cli import main
    from opauc_sim.train import runner

    data = tmp_path / "data"
    split = D.split_per_user(_planted(seed=3), seed=1, valid_frac=0.0)
    D.write_lightgcn(data, split.train, split.test)

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(runner, "train_many", stop)
    with pytest.raises(Stop):
        main(["train", "--dataset", str(data), "--epochs", str(10**12), "--quiet"])
    err = capsys.readouterr().err
    assert "note: this will take about" in err and "days" in err
