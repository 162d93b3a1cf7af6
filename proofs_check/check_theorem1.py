"""Theorem 1 (Shi et al. 2023): DNS(M, N = all negatives) is the OPAUC(beta) surrogate.

With all n_neg negatives drawn and M = beta * n_neg, DNS weights the M highest-scored
negatives 1/M each, so its expected loss equals the surrogate of eq. 12,
(1/|C|) sum_c (1/n_pos) sum_i (1/(n_neg beta)) sum_{top n_neg beta negatives j} L(c,i,j),
and so does its gradient wherever the top-M set is locally constant ("exact but non-smooth").

Checked here on small matrix factorisation models with the BPR loss: the DNS loss
(``dro.dns_weights``) against the surrogate (``dro.cvar``); the DNS gradient with weights
held fixed (by hand, and by torch autograd when torch is installed) against central finite
differences of the surrogate. Beyond the theorem, for N < n_neg the exact expectation of
DNS(M, N) (``dro.dns_expected_weights``) is never above the surrogate at beta = M / N, and
its distance to it at fixed beta shrinks as N grows.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from opauc_sim.checks import theorem1
from opauc_sim.dro import cvar, dns_expected_weights, dns_weights
from proofs_check._helpers import DEEP, assert_expected


@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(4, 16), st.data())
def test_dns_loss_and_gradient_equal_surrogate(seed, n_users, n_items, data):
    """On a random small MF: DNS loss = surrogate, DNS gradient = finite differences."""
    rng = np.random.default_rng(seed)
    model = theorem1.SmallMF(rng, n_users=n_users, n_items=n_items, dim=2, n_pos=2)
    m = data.draw(st.integers(1, model.n_neg))
    theta = model.theta
    beta = m / model.n_neg
    assert model.dns_loss(theta, m) == pytest.approx(model.surrogate(theta, beta), rel=1e-13)
    numeric = theorem1.central_differences(lambda t: model.surrogate(t, beta), theta)
    analytic = model.dns_gradient(theta, m)
    assert np.max(np.abs(analytic - numeric)) <= 1e-6 * (np.max(np.abs(numeric)) + 1e-3)


@pytest.mark.torch
def test_torch_autograd_gradient():
    """torch autograd of the DNS loss (weights as constants) = the hand-written gradient."""
    pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    for _ in range(5):
        model = theorem1.SmallMF(rng, n_users=3, n_items=12)
        m = int(rng.integers(1, model.n_neg + 1))
        np.testing.assert_allclose(
            model.torch_dns_gradient(model.theta, m),
            model.dns_gradient(model.theta, m),
            rtol=1e-12,
            atol=1e-15,
        )


@given(st.integers(0, 2**32 - 1), st.integers(2, 60), st.data())
def test_dns_mn_never_above_surrogate(seed, n_neg, data):
    """N < n_neg: E[DNS(M, N)] <= cvar(L, M / N) for losses increasing in the score."""
    n_draws = data.draw(st.integers(1, n_neg))
    m = data.draw(st.integers(1, n_draws))
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal(n_neg)
    losses = np.logaddexp(0.0, scores - rng.normal())
    expected = dns_expected_weights(scores, m, n_draws) @ losses
    assert expected <= cvar(losses, m / n_draws) + 1e-12
    if n_draws == n_neg:
        assert expected == pytest.approx(dns_weights(scores, m) @ losses, rel=1e-12)


def test_records():
    results = theorem1.check_mf(60 if DEEP else 6) + theorem1.check_bias()
    assert_expected(results)
