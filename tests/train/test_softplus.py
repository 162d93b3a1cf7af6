"""The trainer's softplus and sigmoid (``numba_kernels._softplus_sigmoid``) against an
independent reference in higher precision (float64 for float32, ``np.longdouble`` for
float64), on random, extreme and special values, and the property that made it worth
writing: a loop over it calls no libm function, so LLVM can vectorise it."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from opauc_sim.train.numba_kernels import _softplus_sigmoid


@njit(error_model="numpy", fastmath={"reassoc", "contract"})
def _apply(xs, softplus, sigmoid):
    for i in range(xs.shape[0]):
        softplus[i], sigmoid[i] = _softplus_sigmoid(xs[i])


def _values(dtype, rng) -> np.ndarray:
    wide = np.log(np.finfo(dtype).max) * 1.1  # past exp's overflow and underflow
    tiny = np.finfo(dtype).smallest_subnormal
    return np.concatenate(
        [
            rng.standard_normal(200_000) * 5,
            rng.uniform(-wide, wide, 100_000),
            np.sign(rng.standard_normal(100_000)) * 10.0 ** rng.uniform(-40, 3, 100_000),
            np.arange(-800.0, 800.0, 0.125),  # every Cody-Waite interval boundary region
            [0.0, -0.0, tiny, -tiny, 1.0, -1.0, 87.0, -87.0, 88.7, -103.9, -745.0, 709.0],
        ]
    ).astype(dtype)


def _reference(x: np.ndarray):
    """softplus and sigmoid in extended precision (longdouble: 64-bit mantissa on x86)."""
    w = x.astype(np.longdouble)
    e = np.exp(-np.abs(w))
    softplus = np.maximum(w, 0) + np.log1p(e)
    sigmoid = np.where(w >= 0, 1 / (1 + e), e / (1 + e))
    return softplus, sigmoid


def _ulps(got: np.ndarray, ref: np.ndarray, dtype) -> np.ndarray:
    """|got - ref| in units of the last place of ``ref`` rounded to ``dtype`` (the
    subnormal spacing below the normal range)."""
    spacing = np.spacing(np.abs(ref.astype(dtype))).astype(np.longdouble)
    return (np.abs(got.astype(np.longdouble) - ref) / spacing).astype(np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_within_three_ulp_of_an_extended_precision_reference(dtype):
    if np.finfo(np.longdouble).nmant < 63 and dtype == np.float64:
        pytest.skip("np.longdouble is not wider than float64 here")
    x = _values(dtype, np.random.default_rng(0))
    softplus, sigmoid = np.empty_like(x), np.empty_like(x)
    _apply(x, softplus, sigmoid)
    assert softplus.dtype == sigmoid.dtype == dtype
    ref_sp, ref_sg = _reference(x)
    assert _ulps(softplus, ref_sp, dtype).max() <= 3
    assert _ulps(sigmoid, ref_sg, dtype).max() <= 3
    # sigmoid(x) + sigmoid(-x) = 1 and softplus(x) - softplus(-x) = x, to rounding
    mirror_sp, mirror_sg = np.empty_like(x), np.empty_like(x)
    _apply(-x, mirror_sp, mirror_sg)
    finite = np.abs(x) < 30
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose((sigmoid + mirror_sg)[finite], 1.0, rtol=0, atol=2 * eps)
    np.testing.assert_allclose(
        (softplus - mirror_sp)[finite], x[finite], rtol=4 * eps, atol=8 * eps
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_special_values(dtype):
    x = np.array([np.inf, -np.inf, np.nan, -np.nan, 0.0, 1000.0, -1000.0], dtype=dtype)
    softplus, sigmoid = np.empty_like(x), np.empty_like(x)
    _apply(x, softplus, sigmoid)
    eps = np.finfo(dtype).eps
    want = np.array([np.inf, 0, np.nan, np.nan, np.log(2), 1000, 0], dtype=dtype)
    np.testing.assert_allclose(softplus, want, rtol=2 * eps, atol=0)  # NaN where NaN
    np.testing.assert_array_equal(sigmoid, [1, 0, np.nan, np.nan, 0.5, 1, 0])
    # gradual underflow: sigmoid(x) = e^x is subnormal, not flushed, just below the range
    x = np.array([np.log(np.finfo(dtype).tiny) - 3], dtype=dtype)
    _apply(x, softplus[:1], sigmoid[:1])
    assert 0 < sigmoid[0] < np.finfo(dtype).tiny
    assert _ulps(sigmoid[:1], _reference(x)[1], dtype).max() <= 1


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_loop_over_it_calls_no_libm_function(dtype):
    """The point of the implementation: exp and log inline as arithmetic, so the loop of
    the DNS(M, all) and Softmax-v terms vectorises (Numba has no vector libm here)."""
    x = np.ones(64, dtype=dtype)
    _apply(x, np.empty_like(x), np.empty_like(x))
    signature = next(s for s in _apply.signatures if s[0].dtype.name == dtype)
    ir = _apply.inspect_llvm(signature)
    calls = {
        line.split("@")[1].split("(")[0]
        for line in ir.splitlines()
        if " call " in line and "@" in line
    }
    libm = {"exp", "expf", "log", "logf", "log1p", "log1pf", "llvm.exp.f32", "llvm.exp.f64"}
    assert not calls & libm, sorted(calls & libm)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_python_body_agrees_with_the_compiled_one(dtype):
    """What ``NUMBA_DISABLE_JIT=1`` runs (libm through NumPy) against the series."""
    x = _values(dtype, np.random.default_rng(1))[::40]
    softplus, sigmoid = np.empty_like(x), np.empty_like(x)
    _apply(x, softplus, sigmoid)
    plain = np.array([_softplus_sigmoid(v) for v in x])
    assert plain.dtype == dtype
    ref_sp, ref_sg = _reference(x)
    assert _ulps(plain[:, 0], ref_sp, dtype).max() <= 3
    assert _ulps(plain[:, 1], ref_sg, dtype).max() <= 3
    np.testing.assert_array_equal(np.isnan(plain[:, 0]), np.isnan(softplus))


def test_full_item_dns_runs_as_plain_python():
    """The full-item kernels without Numba (``NUMBA_DISABLE_JIT=1``, in a child process)
    match the brute-force reference, on both sides of the two-pass threshold."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parent
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from test_full_items import _problem, brute_force, assert_same\n"
        "from opauc_sim.train import numba_engine\n"
        "from opauc_sim.train.config import TrainConfig\n"
        "p = _problem(6, n_users=5, n_items=1500, b=12, density=0.1, ties=True, rounded=True)\n"
        "for m in (3, 100):\n"
        "    c = TrainConfig(sampler='dns', M=m, N='all', weight_decay=0.01)\n"
        "    assert_same(numba_engine.full_losses_and_grads(*p, c), brute_force(*p, c))\n"
        "print('plain python ok')\n"
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(here)], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "plain python ok" in out.stdout
