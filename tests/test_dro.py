"""Unit tests of opauc_sim.dro against the slow references in tests/reference_dro.py."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from opauc_sim import dro
from tests.reference_dro import (
    cvar_dual_scan,
    cvar_fraction,
    dns_expected_weights_enum,
    dns_weights_loop,
    kl_uniform_loop,
    kl_worst_case_bisect,
    population_variance,
    softmax_loop,
)


@st.composite
def loss_rows(draw, max_n: int = 12, ties: bool = True):
    """A row of losses: small integers (many ties) or continuous draws from a drawn seed."""
    n = draw(st.integers(1, max_n))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if ties and draw(st.booleans()):
        return rng.integers(-3, 4, size=n).astype(np.float64)
    return rng.normal(scale=draw(st.sampled_from([1e-3, 1.0, 50.0])), size=n)


@st.composite
def fraction_beta(draw):
    """A level beta = p / q in (0, 1], exact as a Fraction and as the float dro sees."""
    q = draw(st.integers(1, 40))
    p = draw(st.integers(1, q))
    return Fraction(p, q)


# ----------------------------------------------------------------------------- cvar


@given(loss_rows(), fraction_beta())
def test_cvar_matches_exact_fraction(row, beta):
    """cvar equals the top-beta mean computed in exact rational arithmetic."""
    expected = float(cvar_fraction(row.tolist(), beta))
    scale = 1.0 + np.abs(row).max()
    assert abs(dro.cvar(row, float(beta)) - expected) <= 1e-12 * scale


@given(loss_rows(), fraction_beta())
def test_cvar_dual_matches_scan(row, beta):
    """cvar_dual's value is the minimum of the dual objective over a grid and the losses,
    its eta attains it, and it equals cvar."""
    value, eta = dro.cvar_dual(row, float(beta))
    scale = 1.0 + np.abs(row).max()
    assert abs(value - cvar_dual_scan(row.tolist(), float(beta), grid=200)) <= 1e-12 * scale
    assert eta in row
    at_eta = eta + np.maximum(row - eta, 0).sum() / (row.size * float(beta))
    assert abs(at_eta - value) <= 1e-12 * scale
    assert abs(value - dro.cvar(row, float(beta))) <= 1e-12 * scale


def test_cvar_limits_and_rows():
    rng = np.random.default_rng(3)
    rows = rng.normal(size=(4, 9))
    np.testing.assert_allclose(dro.cvar(rows, 1.0), rows.mean(axis=1), rtol=0, atol=1e-15)
    np.testing.assert_array_equal(dro.cvar(rows, 1 / 9), rows.max(axis=1))
    two_d = dro.cvar(rows, 0.4)
    assert two_d.shape == (4,)
    np.testing.assert_array_equal(two_d, [dro.cvar(r, 0.4) for r in rows])
    assert isinstance(dro.cvar(rows[0], 0.4), float)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"losses": [1.0], "beta": 0.0}, ValueError, "beta"),
        ({"losses": [1.0], "beta": 1.5}, ValueError, "beta"),
        ({"losses": [1.0], "beta": "a"}, TypeError, "beta"),
        ({"losses": [], "beta": 0.5}, ValueError, "losses"),
        ({"losses": [1.0, np.nan], "beta": 0.5}, ValueError, "losses"),
        ({"losses": np.zeros((2, 2, 2)), "beta": 0.5}, ValueError, "losses"),
        ({"losses": ["a"], "beta": 0.5}, TypeError, "losses"),
    ],
)
def test_cvar_rejects_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        dro.cvar(**kwargs)
    with pytest.raises(error, match=match):
        dro.cvar_dual(**kwargs)


# ----------------------------------------------------------------------------- KL ball


@given(loss_rows(max_n=8), st.sampled_from([1e-3, 0.05, 0.5, 1.0, 3.0]))
def test_kl_worst_case_matches_bisection(row, rho):
    """kl_worst_case agrees with a plain bisection on log(tau), its weights are the softmax
    at its tau, and they sit on the KL ball's boundary (or at the argmax when it is inside)."""
    value, weights, tau = dro.kl_worst_case(row, rho)
    ref_value, ref_tau = kl_worst_case_bisect(row.tolist(), rho)
    scale = 1.0 + np.abs(row).max()
    assert abs(value - ref_value) <= 1e-9 * scale
    assert abs(weights.sum() - 1.0) <= 1e-12
    if tau == 0.0:
        assert ref_tau == 0.0
        assert value == row.max()
        assert kl_uniform_loop(weights.tolist()) <= rho + 1e-12
    else:
        assert tau == pytest.approx(ref_tau, rel=1e-7)
        np.testing.assert_allclose(weights, softmax_loop(row.tolist(), tau), rtol=1e-12, atol=0)
        assert kl_uniform_loop(weights.tolist()) == pytest.approx(rho, rel=1e-10, abs=1e-13)


def test_kl_worst_case_constant_row_and_2d():
    value, weights, tau = dro.kl_worst_case([2.0, 2.0, 2.0], 0.1)
    assert (value, tau) == (2.0, 0.0)
    np.testing.assert_array_equal(weights, [1 / 3] * 3)
    rows = np.random.default_rng(1).normal(size=(3, 6))
    values, weights, taus = dro.kl_worst_case(rows, 0.2)
    assert values.shape == (3,) and weights.shape == (3, 6) and taus.shape == (3,)
    for r in range(3):
        v, w, t = dro.kl_worst_case(rows[r], 0.2)
        assert (v, t) == (values[r], taus[r])
        np.testing.assert_array_equal(w, weights[r])


def test_kl_worst_case_rho_at_the_limit_in_floating_point():
    """rho = -log(n_max / n) can round one ulp below log(n / n_max), the KL limit as tau -> 0,
    where the floating-point KL never reaches rho: the worst case is then the argmax limit
    (a regression: the root find used to fail on NaN at tau = 0)."""
    for n, n_top in ((8, 5), (11, 10)):
        rho = -math.log(n_top / n)
        assert rho < math.log(n / n_top)  # the rounding that triggered the failure
        row = [1.0] * n_top + [0.0] * (n - n_top)
        value, weights, tau = dro.kl_worst_case(row, rho)
        assert value == pytest.approx(1.0, abs=1e-12) and np.isfinite(tau)
        assert abs(weights.sum() - 1.0) <= 1e-12
        assert kl_uniform_loop(weights.tolist()) <= rho + 1e-12


def test_kl_worst_case_rejects_bad_rho():
    for rho in (0.0, -1.0, math.inf):
        with pytest.raises(ValueError, match="rho"):
            dro.kl_worst_case([1.0, 2.0], rho)


# ----------------------------------------------------------------------------- Softmax-v


@given(loss_rows(), st.sampled_from([0.01, 0.1, 1.0, 10.0, 100.0]))
def test_softmax_v_matches_formula(row, rho):
    """softmax_v_weights is softmax(L / tau) with tau = sqrt(Var(L) / (2 rho)), population
    variance, and uniform for a constant row (the zero-variance guard)."""
    weights = dro.softmax_v_weights(row, rho)
    var = population_variance(row.tolist())
    if np.all(row == row[0]):
        np.testing.assert_array_equal(weights, np.full(row.size, 1.0 / row.size))
        assert dro.taylor_tau(row, rho) == 0.0
        return
    tau = math.sqrt(var / (2 * rho))
    assert dro.taylor_tau(row, rho) == pytest.approx(tau, rel=1e-12)
    np.testing.assert_allclose(weights, softmax_loop(row.tolist(), tau), rtol=1e-9, atol=1e-300)


def test_softmax_v_zero_variance_guard_is_not_nan():
    rows = np.array([[5.0] * 4, [1.0, 2.0, 3.0, 4.0]])
    weights = dro.softmax_v_weights(rows, 1.0)
    assert np.all(np.isfinite(weights))
    np.testing.assert_array_equal(weights[0], [0.25] * 4)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=0, atol=1e-15)


# ----------------------------------------------------------------------------- DNS


@given(
    st.lists(st.integers(0, 3), min_size=1, max_size=6).map(lambda v: np.array(v, float)),
    st.data(),
)
def test_dns_weights_average_ties_is_expectation_over_orders(scores, data):
    """With ties="average" the weights are the average over all tie-breaking orders."""
    m = data.draw(st.integers(1, scores.size))
    np.testing.assert_allclose(
        dro.dns_weights(scores, m), dns_weights_loop(scores.tolist(), m), rtol=0, atol=1e-14
    )


def test_dns_weights_index_ties_and_sums():
    scores = np.array([[0.5, 0.5, 0.5, 0.1], [3.0, 1.0, 2.0, 0.0]])
    index = dro.dns_weights(scores, 2, ties="index")
    np.testing.assert_array_equal(index, [[0.5, 0.5, 0, 0], [0.5, 0, 0.5, 0]])
    average = dro.dns_weights(scores, 2)
    np.testing.assert_array_equal(average, [[1 / 3, 1 / 3, 1 / 3, 0], [0.5, 0, 0.5, 0]])
    with pytest.raises(ValueError, match="m"):
        dro.dns_weights(scores, 5)
    with pytest.raises(TypeError, match="m"):
        dro.dns_weights(scores, 1.5)
    with pytest.raises(ValueError, match="ties"):
        dro.dns_weights(scores, 1, ties="random")


@given(st.integers(0, 2**32 - 1), st.integers(1, 7), st.data())
def test_dns_weights_times_losses_is_cvar(seed, n, data):
    """Theorem 1 in one line: DNS weights of all n candidates, applied to a loss increasing
    in the score, give cvar at beta = m / n."""
    m = data.draw(st.integers(1, n))
    scores = np.random.default_rng(seed).normal(size=n)
    losses = np.logaddexp(0.0, scores - 0.3)  # BPR loss softplus(-(r_i - r_j)), r_i = 0.3
    assert dro.dns_weights(scores, m) @ losses == pytest.approx(dro.cvar(losses, m / n), rel=1e-13)


@given(st.integers(0, 2**32 - 1), st.integers(1, 8), st.data())
def test_dns_expected_weights_match_enumeration(seed, n, data):
    """dns_expected_weights equals the average of DNS weights over every N-subset."""
    n_draws = data.draw(st.integers(1, n))
    m = data.draw(st.integers(1, n_draws))
    scores = np.random.default_rng(seed).permutation(n).astype(float)
    np.testing.assert_allclose(
        dro.dns_expected_weights(scores, m, n_draws),
        dns_expected_weights_enum(scores.tolist(), m, n_draws),
        rtol=1e-12,
        atol=1e-15,
    )
