"""Sweeps and simulations on Dask distributed (issue 14): same rows, same curves, no loss.

The tests that start a 2-worker ``LocalCluster`` are marked ``distributed`` (deselect them
with ``-m 'not distributed'``) and skip when the optional extra is not installed; the
option checks and the import guard run everywhere.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from opauc_sim import correlation as C
from opauc_sim.cli import main
from opauc_sim.distributed import SplitSource, check_executor_options, parse_resources
from opauc_sim.train import data as D
from opauc_sim.train.config import TrainConfig
from opauc_sim.train.sweep import config_id, run_sweep

HAS_DASK = importlib.util.find_spec("distributed") is not None
requires_dask = pytest.mark.skipif(not HAS_DASK, reason="needs the optional extra distributed")
# Workers are fresh processes: they must import this checkout's opauc_sim, not another.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def _workers_import_this_checkout(monkeypatch):
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", ROOT + (os.pathsep + path if path else ""))


def _data(directory, n_users=80, n_items=70, seed=3):
    """A LightGCN folder from a planted low-rank model (the workers read it themselves)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n_users, 3)) @ rng.normal(size=(3, n_items)) * 1.5
    matrix = sp.csr_matrix(logits > np.quantile(logits, 0.8, axis=1, keepdims=True))
    split = D.split_per_user(matrix, seed=1, valid_frac=0.0)
    D.write_lightgcn(directory, split.train, split.test)
    return directory


METRICS = ["best_epoch", "final_loss"]


def _metric_columns(df):
    return METRICS + [c for c in df.columns if c.startswith(("valid_", "test_"))]


def _same_rows(a, b, atol=1e-6):
    a = a.sort_values("id").reset_index(drop=True)
    b = b.sort_values("id").reset_index(drop=True)
    assert list(a["id"]) == list(b["id"])
    assert _metric_columns(a) == _metric_columns(b)
    cols = _metric_columns(a)
    np.testing.assert_allclose(
        a[cols].to_numpy(float), b[cols].to_numpy(float), rtol=0, atol=atol, equal_nan=True
    )


# ------------------------------------------------------------------------- options, no dask


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--workers", "2"], "--workers 2 applies to --executor dask only"),
        (["--scheduler", "tcp://h:1"], "--scheduler tcp://h:1 applies to --executor dask only"),
        (["--executor", "dask", "--workers", "0"], "--workers must be an integer >= 1, got 0"),
        (
            ["--executor", "dask", "--resources", "GPU"],
            "--resources must be NAME=AMOUNT with AMOUNT > 0 (e.g. GPU=1), got 'GPU'",
        ),
        (
            ["--executor", "dask", "--resources", "GPU=-1"],
            "--resources must be NAME=AMOUNT with AMOUNT > 0 (e.g. GPU=1), got 'GPU=-1'",
        ),
        (
            ["--executor", "dask", "--workers", "2", "--scheduler", "tcp://h:1"],
            "give --workers (a local cluster) or --scheduler (a running one), not both",
        ),
    ],
)
def test_bad_executor_options_are_one_line_errors(tmp_path, argv, message, capsys):
    base = ["sweep", "--dataset", str(tmp_path), "--grid", "rns", "--out"]
    assert main([*base, str(tmp_path / "r.csv"), *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert not (tmp_path / "r.csv").exists()


def test_executor_options_parse():
    assert parse_resources(["GPU=1", "MEM=4e9"]) == {"GPU": 1.0, "MEM": 4e9}
    assert parse_resources(None) == {}
    with pytest.raises(ValueError, match="names 'GPU' twice"):
        parse_resources(["GPU=1", "GPU=2"])
    with pytest.raises(ValueError, match="executor"):
        check_executor_options("spark")
    check_executor_options("local")  # nothing to refuse


def test_simulate_refuses_dask_for_exact_curves(tmp_path, capsys):
    argv = ["simulate", "curve", "--n-pos", "5", "--n-neg", "20", "--ks", "2", "--exact"]
    argv += ["--executor", "dask", "--results-dir", str(tmp_path), "--no-figure"]
    assert main(argv) == 2
    assert "--executor dask runs Monte Carlo Pearson curves only" in capsys.readouterr().err


def test_missing_dask_says_how_to_install(tmp_path):
    code = (
        "import sys; sys.modules['distributed'] = None\n"
        "from opauc_sim.cli import main\n"
        f"sys.exit(main(['sweep', '--dataset', {str(tmp_path)!r}, '--grid', 'rns', "
        f"'--out', {str(tmp_path / 'r.csv')!r}, '--executor', 'dask']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "in a clone of opauc-sim: pip install -e '.[distributed]'" in proc.stderr


def test_importing_opauc_sim_never_imports_dask():
    code = (
        "import sys, opauc_sim, opauc_sim.cli, opauc_sim.distributed, opauc_sim.correlation\n"
        "import opauc_sim.train.sweep\n"
        "opauc_sim.cli.build_parser()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------- on a 2-worker cluster

SWEEP = ["--grid", "rns", "--grid", "dns:M=1,3:N=8", "--grid", "softmax:rho=1:N=8"]
SWEEP += ["--weight-decay", "1e-4", "1e-2", "--epochs", "4", "--eval-every", "2"]
SWEEP += ["--batch-size", "64", "--device", "cpu", "--threads", "1", "--quiet"]


@pytest.mark.distributed
@requires_dask
def test_dask_sweep_gives_the_local_rows(tmp_path, capsys):
    data = _data(tmp_path / "data")
    local, dask = tmp_path / "local" / "s.csv", tmp_path / "dask" / "s.csv"
    argv = ["sweep", "--dataset", str(data), *SWEEP]
    assert main([*argv, "--out", str(local)]) == 0
    assert main([*argv, "--out", str(dask), "--executor", "dask", "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "dask: a local cluster of 2 workers" in out
    a, b = (pd.read_csv(p, dtype={"id": str}) for p in (local, dask))
    assert len(a) == 8
    _same_rows(a, b)
    # The client wrote the rows through the sweep's own path: a rerun skips them all.
    assert main([*argv, "--out", str(dask), "--executor", "dask", "--workers", "2"]) == 0
    assert "skipping 8 finished configs" in capsys.readouterr().out


def _kill_a_busy_worker(client):
    """SIGKILL a worker that is running a task now; return (address, its tasks)."""
    busy = {w: keys for w, keys in client.processing().items() if keys}
    if not busy:
        return None
    address = sorted(busy)[0]
    pid = client.run(os.getpid, workers=[address])[address]
    os.kill(pid, signal.SIGKILL)
    return address, list(busy[address])


@pytest.mark.distributed
@requires_dask
def test_a_worker_killed_mid_task_loses_no_configuration(tmp_path):
    from opauc_sim.distributed import DaskCluster

    data = _data(tmp_path / "data", n_users=150, n_items=120)
    configs = [
        TrainConfig(sampler="dns", M=m, N=32, epochs=40, eval_every=20, batch_size=64)
        for m in (1, 2, 3, 4, 5, 6)
    ]
    ids = {config_id(c, str(data), backend="numba") for c in configs}
    out = tmp_path / "results" / "killed.csv"
    killed = []
    lines = []

    with DaskCluster(workers=2) as cluster:

        def log(line):
            lines.append(line)
            if line.startswith("finished") and not killed:
                killed.append(_kill_a_busy_worker(cluster.client))

        df = run_sweep(
            SplitSource.of(data).load(),
            configs,
            out,
            dataset=str(data),
            device="cpu",
            backend="numba",
            threads=1,
            log=log,
            executor=cluster,
            source=SplitSource.of(data),
        )
    assert killed and killed[0] is not None, "no worker was busy when the first row came"
    assert killed[0][1], "the killed worker was running a configuration"
    assert set(df["id"]) == ids and df["id"].is_unique, lines
    assert df.attrs["failed"] == []
    assert set(pd.read_csv(out, dtype={"id": str})["id"]) == ids


@pytest.fixture(scope="module")
def cluster():
    if not HAS_DASK:
        pytest.skip("needs the optional extra distributed")
    from opauc_sim.distributed import DaskCluster

    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = ROOT + (os.pathsep + old if old else "")
    try:
        with DaskCluster(workers=2) as c:
            yield c
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


@pytest.mark.distributed
@requires_dask
def test_a_configuration_failing_twice_is_reported_and_the_others_go_on(tmp_path, cluster):
    data = _data(tmp_path / "data")
    kw = dict(sampler="rns", epochs=2, eval_every=1, batch_size=64)
    good = [TrainConfig(**kw, dim=d) for d in (4, 8)]
    # Far beyond any machine's memory: refused by train_many's check, on every try.
    bad = TrainConfig(**kw, dim=10**9)
    lines = []
    df = run_sweep(
        SplitSource.of(data).load(),
        [good[0], bad, good[1]],
        tmp_path / "r" / "f.csv",
        dataset=str(data),
        device="cpu",
        backend="numba",
        threads=1,
        log=lines.append,
        executor=cluster,
        source=SplitSource.of(data),
    )
    assert set(df["id"]) == {config_id(c, str(data), backend="numba") for c in good}
    assert [label for label, _ in df.attrs["failed"]] == [bad.label]
    assert "ResourceError" in df.attrs["failed"][0][1] or "memory" in df.attrs["failed"][0][1]
    assert any(line.startswith("failed twice") for line in lines)


@pytest.mark.distributed
@requires_dask
def test_a_scattered_split_gives_the_same_rows_as_a_loaded_one(tmp_path, cluster):
    data = _data(tmp_path / "data")
    split = SplitSource.of(data).load()
    configs = [TrainConfig(sampler="dns", M=2, N=8, epochs=3, eval_every=1, batch_size=64)]
    kw = dict(dataset=str(data), device="cpu", backend="numba", threads=1, log=None)
    a = run_sweep(split, configs, tmp_path / "a" / "s.csv", **kw)
    b = run_sweep(split, configs, tmp_path / "b" / "s.csv", **kw, executor=cluster)
    _same_rows(a, b, atol=0)


@pytest.mark.distributed
@requires_dask
@pytest.mark.parametrize(
    ("generator", "task_size", "chunk_size"),
    [("uniform", 640, 8192), ("uniform", 128, 64), ("binormal", 1024, 256)],
)
def test_a_distributed_curve_equals_the_local_one_bit_for_bit(
    cluster, generator, task_size, chunk_size
):
    kw = dict(ks=[1, 5, 20], betas=C.fig6_grid(80, 9), n_rankings=4_000, seed=7)
    kw.update(generator=generator, mu=0.5 if generator == "binormal" else 0.0)
    local = C.beta_curve(20, 80, **kw)
    far = C.beta_curve(
        20, 80, **kw, executor=cluster.executor(), task_size=task_size, chunk_size=chunk_size
    )
    pd.testing.assert_frame_equal(local, far, check_exact=True)
    assert (local["corr"].to_numpy() == far["corr"].to_numpy()).all()


@pytest.mark.distributed
@requires_dask
def test_simulate_curve_cli_writes_the_local_file(tmp_path):
    argv = ["simulate", "curve", "--n-pos", "30", "--n-neg", "120", "--ks", "1", "5", "10"]
    argv += ["--n-betas", "11", "--n-rankings", "20000", "--quiet", "--no-figure"]
    argv += ["--threads", "1", "--save", "c"]
    assert main([*argv, "--results-dir", str(tmp_path / "l")]) == 0
    assert main([*argv, "--results-dir", str(tmp_path / "d"), "--executor", "dask"]) == 0
    assert (tmp_path / "l" / "c.csv").read_bytes() == (tmp_path / "d" / "c.csv").read_bytes()
