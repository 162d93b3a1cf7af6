"""Fuzz the training command line: hostile option values never reach the user as a traceback.

Hypothesis draws ``train`` and ``sweep`` argument lists on a tiny LightGCN data set from
pools of valid, out-of-range, non-numeric and huge values, runs ``opauc_sim.cli.main``
in-process, and requires exit status 0 or 2 (argparse's own usage errors exit through
``SystemExit(2)``) with no traceback on stderr. Epoch counts stay small so that a valid
draw trains in milliseconds; huge sizes must be refused before anything is allocated.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opauc_sim.cli import main
from opauc_sim.train import data as D

WORK = Path(tempfile.mkdtemp(prefix="opauc-sim-fuzz-train-"))
_rng = np.random.default_rng(0)
_split = D.split_per_user(sp.csr_matrix(_rng.random((30, 25)) < 0.3), seed=0, valid_frac=0.0)
D.write_lightgcn(WORK / "data", _split.train, _split.test)

INTS = ["-1", "0", "1", "2", "3", "1000000000", "abc", "1.5", ""]
REALS = ["-1", "0", "1e-3", "0.1", "1", "1e308", "nan", "inf", "abc", ""]
OPTIONS = {
    "--epochs": st.sampled_from(["-1", "0", "1", "2", "abc"]),
    "--lr": st.sampled_from(REALS),
    "--batch-size": st.sampled_from(INTS),
    "--dim": st.sampled_from(INTS),
    "--eval-every": st.sampled_from(INTS),
    "--valid-frac": st.sampled_from(REALS),
    "--weight-decay": st.sampled_from(REALS),
    "--threads": st.sampled_from(INTS),
    "--seed": st.sampled_from(INTS),
    "--ks": st.sampled_from(["5", "0", "-3", "100000", "a"]),
    "--select-metric": st.sampled_from(["ndcg@20", "ndcg@5", "recall@1", "auc", "x"]),
    "--sampler": st.sampled_from(["rns", "dns", "softmax", "bad"]),
    "--M": st.sampled_from(INTS),
    "--N": st.sampled_from(INTS),
    "--rho": st.sampled_from(REALS),
    "--backend": st.sampled_from(["auto", "numba", "gpu"]),
    "--device": st.sampled_from(["cpu", "auto", "tpu", "cuda:7"]),
}


def _run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse usage errors
            code = exc.code if isinstance(exc.code, int) else 2
    return code, err.getvalue()


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.dictionaries(st.sampled_from(sorted(OPTIONS)), st.none(), max_size=6).flatmap(
        lambda keys: st.fixed_dictionaries({k: OPTIONS[k] for k in keys})
    )
)
def test_train_options_never_give_a_traceback(options):
    argv = ["train", "--dataset", str(WORK / "data"), "--quiet", "--epochs", "1"]
    for key, value in options.items():
        argv += [key, value] if key != "--ks" else [key, value, "10"]
    code, err = _run(argv)
    assert code in (0, 2), (argv, code, err)
    assert "Traceback" not in err, (argv, err)


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    grid=st.sampled_from(["rns", "dns:M=1,2:N=4", "dns:M=9:N=2", "softmax:rho=0:N=3", "x", ""]),
    out=st.sampled_from(["r.csv", "r.txt", "", "sub/", "a/../b.csv"]),
    wd=st.sampled_from(["0.01", "-1", "abc"]),
)
def test_sweep_options_never_give_a_traceback(grid, out, wd):
    folder = Path(tempfile.mkdtemp(dir=WORK))
    argv = ["sweep", "--dataset", str(WORK / "data"), "--quiet", "--epochs", "1"]
    argv += ["--grid", grid, "--weight-decay", wd, "--out", str(folder / out)]
    code, err = _run(argv)
    assert code in (0, 2), (argv, code, err)
    assert "Traceback" not in err, (argv, err)
