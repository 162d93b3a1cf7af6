"""Lemma 1 (Zhu et al. 2022, Theorem 1; Shi et al. 2023): CVaR-DRO is the top-beta mean.

Statement checked. Let P0 be uniform over n losses L_1..L_n, and the CVaR divergence
D(Q || P0) = sup log(dQ/dP0). With beta = exp(-rho),

    sup_{D(Q||P0) <= rho} E_Q[L]  =  min_eta { eta + E_P0[(L - eta)_+] / beta }
                                  =  mean of the top beta fraction of L,

where with fractional n * beta the boundary loss gets the fractional weight. Applied per
(context, positive) pair with P0 uniform over the negatives, this is the OPAUC(beta)
surrogate of the paper's eq. 12; with the 0-1 loss L_ij = 1[r_i < r_j] on a tie-free
ranking, the eq. 12 objective equals 1 - OPAUC(beta) / beta.

How it is checked.
- The primal: D(Q || P0) <= rho means q_j <= exp(rho) / n = 1 / (n beta), so the sup is a
  linear programme over the capped simplex, solved by scipy.optimize.linprog (HiGHS).
- The dual: ``opauc_sim.dro.cvar_dual`` (minimum over all breakpoints).
- The top-beta mean: ``opauc_sim.dro.cvar``.
- The eq. 12 identity: ``opauc_sim.metrics.opauc`` on full score vectors, against the mean
  over positives of ``cvar`` of the 0-1 losses.
Losses are drawn with and without ties, beta both as p/q and as an arbitrary real (so
n * beta is fractional), and down to beta < 1/n.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from opauc_sim.checks import CheckResult
from opauc_sim.dro import cvar, cvar_dual
from opauc_sim.metrics import opauc

RESULT = "Lemma 1"
TOL = 1e-9


def primal_lp(losses: np.ndarray, beta: float) -> float:
    """sup E_Q[L] over q in the simplex with q_j <= 1 / (n beta), by linear programming."""
    n = losses.size
    # HiGHS' tolerances are absolute (~1e-7): solve for the losses mapped affinely onto
    # [0, 1], which moves E_Q[L] by the same affine map for every Q.
    low, spread = float(losses.min()), float(np.ptp(losses))
    if spread == 0.0:
        return low
    res = linprog(
        -(losses - low) / spread,
        A_eq=np.ones((1, n)),
        b_eq=[1.0],
        bounds=[(0.0, 1.0 / (n * beta))] * n,
        method="highs",
    )
    if not res.success:  # pragma: no cover - a feasible bounded LP
        raise RuntimeError(f"linprog failed: {res.message}")
    return low + spread * float(-res.fun)


def random_case(rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """A loss vector (ties half the time) and a level beta (rational, real, or < 1/n)."""
    n = int(rng.integers(1, 61))
    if rng.random() < 0.5:
        losses = rng.integers(-2, 3, size=n).astype(np.float64)
    else:
        losses = rng.standard_normal(n) * rng.choice([1e-3, 1.0, 100.0])
    kind = rng.integers(3)
    if kind == 0:
        q = int(rng.integers(1, 2 * n + 1))
        beta = int(rng.integers(1, q + 1)) / q
    elif kind == 1:
        beta = float(rng.uniform(1e-3, 1.0))
    else:
        beta = float(rng.uniform(0.05, 1.0)) / n  # m = n beta < 1
    return losses, beta


def check_three_forms(n_cases: int = 400, seed: int = 1) -> list[CheckResult]:
    rng = np.random.default_rng(seed)
    err_lp = err_dual = 0.0
    eta_bad = 0
    for _ in range(n_cases):
        losses, beta = random_case(rng)
        scale = 1.0 + np.abs(losses).max()
        top = cvar(losses, beta)
        value, eta = cvar_dual(losses, beta)
        err_lp = max(err_lp, abs(primal_lp(losses, beta) - top) / scale)
        err_dual = max(err_dual, abs(value - top) / scale)
        # eta is a beta-quantile: at most n beta losses above it, at least n beta at or above.
        m = losses.size * beta
        eta_bad += not (
            np.sum(losses > eta) <= m * (1 + 1e-12) and np.sum(losses >= eta) >= m * (1 - 1e-12)
        )
    return [
        CheckResult(
            RESULT,
            "primal sup over the CVaR ball (linprog) = top-beta mean (cvar), fractional n*beta",
            n_cases,
            err_lp,
            "max rel error",
            err_lp <= TOL,
            key="lemma1.primal_equals_top_mean",
        ),
        CheckResult(
            RESULT,
            "dual min_eta eta + E(L-eta)_+/beta (cvar_dual) = top-beta mean (cvar)",
            n_cases,
            err_dual,
            "max rel error",
            err_dual <= 1e-12,
            key="lemma1.dual_equals_top_mean",
        ),
        CheckResult(
            RESULT,
            "the dual's minimiser eta is an upper beta-quantile (VaR) of the losses",
            n_cases,
            eta_bad,
            "count",
            eta_bad == 0,
            key="lemma1.dual_minimiser_is_var",
        ),
    ]


def eq12_zero_one(y_true: np.ndarray, y_score: np.ndarray, beta: float) -> float:
    """The eq. 12 objective with the 0-1 loss 1[r_i < r_j], from cvar over each positive."""
    pos = y_score[y_true == 1]
    neg = y_score[y_true == 0]
    losses = (pos[:, None] < neg[None, :]).astype(np.float64)
    return float(np.mean(cvar(losses, beta)))


def check_metrics_identity(n_cases: int = 300, seed: int = 2) -> CheckResult:
    claim = "0-1 loss, tie-free: eq. 12 objective (mean cvar) = 1 - metrics.opauc(beta)/beta"
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(n_cases):
        n_pos, n_neg = int(rng.integers(1, 40)), int(rng.integers(1, 60))
        y_true = rng.permutation(np.r_[np.ones(n_pos), np.zeros(n_neg)]).astype(np.int64)
        y_score = rng.permutation(n_pos + n_neg).astype(np.float64)  # tie-free
        beta = int(rng.integers(1, n_neg + 1)) / n_neg if rng.random() < 0.5 else rng.random()
        beta = max(float(beta), 1e-6)
        lhs = eq12_zero_one(y_true, y_score, beta)
        rhs = 1.0 - opauc(y_true, y_score, beta) / beta
        worst = max(worst, abs(lhs - rhs))
    return CheckResult(
        RESULT, claim, n_cases, worst, "max error", worst <= TOL, key="lemma1.zero_one_identity"
    )


def run(*, deep: bool = False) -> list[CheckResult]:
    results = check_three_forms(4000 if deep else 400)
    results.append(check_metrics_identity(3000 if deep else 300))
    return results
