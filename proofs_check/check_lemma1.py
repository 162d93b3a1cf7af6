"""Lemma 1 (Zhu et al. 2022, Thm 1, as used by Shi et al. 2023): CVaR-DRO = top-beta mean.

With P0 uniform over losses L_1..L_n, D(Q || P0) = sup log(dQ/dP0) and beta = exp(-rho):

    sup_{D(Q||P0) <= rho} E_Q[L] = min_eta { eta + E_P0[(L - eta)_+] / beta }
                                 = mean of the top beta fraction of L

(the boundary loss weighted fractionally when n * beta is not an integer). Per (context,
positive) pair this is the OPAUC(beta) surrogate (eq. 12); with the 0-1 loss
1[r_i < r_j] on a tie-free ranking, eq. 12 equals 1 - OPAUC(beta) / beta.

Checked here: the primal as a linear programme (scipy.optimize.linprog) against
``dro.cvar_dual`` and ``dro.cvar``, over hypothesis-drawn losses (ties included) and levels
(fractional n * beta included), and the 0-1 identity against ``metrics.opauc``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from opauc_sim import metrics
from opauc_sim.checks import lemma1
from opauc_sim.dro import cvar, cvar_dual
from proofs_check._helpers import DEEP, assert_expected


@st.composite
def losses_and_level(draw):
    """Losses (integers with ties, or reals of any scale) and beta in (0, 1], either p/q
    or an arbitrary real, so n * beta is often fractional and can be < 1."""
    n = draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        losses = rng.integers(-3, 4, size=n).astype(np.float64)
    else:
        losses = rng.standard_normal(n) * draw(st.sampled_from([1e-6, 1.0, 1e3]))
    beta = draw(
        st.one_of(
            st.floats(1e-4, 1.0, exclude_min=False),
            st.integers(1, 3 * n).flatmap(lambda q: st.integers(1, q).map(lambda p: p / q)),
        )
    )
    return losses, beta


@given(losses_and_level())
def test_three_forms_agree(case):
    """Primal LP = dual (cvar_dual) = top-beta mean (cvar), relative to the loss scale."""
    losses, beta = case
    scale = 1.0 + np.abs(losses).max()
    top = cvar(losses, beta)
    value, eta = cvar_dual(losses, beta)
    assert abs(lemma1.primal_lp(losses, beta) - top) <= 1e-9 * scale
    assert abs(value - top) <= 1e-12 * scale
    # eta attains the dual objective
    assert eta + np.maximum(losses - eta, 0).sum() / (losses.size * beta) == pytest.approx(
        value, rel=1e-12, abs=1e-12 * scale
    )


def test_records():
    results = lemma1.check_three_forms(1000 if DEEP else 120)
    results.append(lemma1.check_metrics_identity(1000 if DEEP else 80))
    assert_expected(results)


@given(st.integers(1, 30), st.integers(1, 40), st.integers(0, 2**32 - 1), st.floats(1e-3, 1.0))
def test_zero_one_loss_identity(n_pos, n_neg, seed, beta):
    """Mean over positives of cvar of the 0-1 losses = 1 - metrics.opauc(beta) / beta."""
    rng = np.random.default_rng(seed)
    y_true = rng.permutation(np.r_[np.ones(n_pos), np.zeros(n_neg)]).astype(np.int64)
    y_score = rng.permutation(n_pos + n_neg).astype(np.float64)
    lhs = lemma1.eq12_zero_one(y_true, y_score, beta)
    assert lhs == pytest.approx(1.0 - metrics.opauc(y_true, y_score, beta) / beta, abs=1e-12)
