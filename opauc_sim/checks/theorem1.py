"""Theorem 1 (Shi et al. 2023): DNS(M, all negatives) is the OPAUC(beta) surrogate.

Statement checked. Let DNS draw, for each (context c, positive i), all n_neg negatives
(N = n_neg) and weight the M = beta * n_neg highest-scored ones 1/M each. Its expected
loss equals the OPAUC(beta) surrogate of eq. 12,

    (1/|C|) sum_c (1/n_pos) sum_i (1/(n_neg beta)) sum_{j in top n_neg beta} L(c, i, j),

and so does its gradient (away from ties, where the top-M set is locally constant): DNS is
an "exact but non-smooth" estimator of OPAUC(beta).

How it is checked, on small matrix-factorisation models (scores r_cj = <P_c, Q_j>, BPR loss
L = softplus(-(r_ci - r_cj))):
- the loss: DNS weights (``dro.dns_weights``, a partial sort of the scores) against the
  surrogate computed with ``dro.cvar`` (a full sort of the losses);
- the gradient: the DNS gradient with the weights held fixed, written out by hand, against
  central finite differences of the surrogate (and, when torch is installed, against
  torch autograd of the DNS loss);
- beyond the theorem, N < n_neg: the exact expectation of DNS(M, N) over its uniform draw
  (``dro.dns_expected_weights``, hypergeometric) against the surrogate at beta = M / N.
  Its weights never exceed 1 / (n_neg beta), so by Lemma 1 the DNS loss is at most the
  surrogate: the bias is never positive. How fast it vanishes is measured, not assumed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from opauc_sim.checks import CheckResult
from opauc_sim.dro import cvar, dns_expected_weights, dns_weights

RESULT = "Theorem 1"


# --------------------------------------------------------------------------- a small MF


def softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class SmallMF:
    """Users x items MF with the same number of positives per user (so n_neg is common)."""

    def __init__(self, rng: np.random.Generator, n_users=4, n_items=20, dim=3, n_pos=3):
        self.p = rng.normal(scale=1.0, size=(n_users, dim))
        self.q = rng.normal(scale=1.0, size=(n_items, dim))
        self.positives = np.array(
            [rng.choice(n_items, n_pos, replace=False) for _ in range(n_users)]
        )
        mask = np.zeros((n_users, n_items), dtype=bool)
        np.put_along_axis(mask, self.positives, True, axis=1)
        self.negatives = np.array([np.flatnonzero(~row) for row in mask])
        self.n_neg = self.negatives.shape[1]

    @property
    def theta(self) -> np.ndarray:
        return np.concatenate([self.p.ravel(), self.q.ravel()])

    def unpack(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cut = self.p.size
        return theta[:cut].reshape(self.p.shape), theta[cut:].reshape(self.q.shape)

    def pair_losses(self, theta: np.ndarray) -> list[np.ndarray]:
        """Per user, the (n_pos, n_neg) matrix of BPR losses L(c, i, j)."""
        p, q = self.unpack(theta)
        out = []
        for u in range(p.shape[0]):
            r_pos = q[self.positives[u]] @ p[u]
            r_neg = q[self.negatives[u]] @ p[u]
            out.append(softplus(-(r_pos[:, None] - r_neg[None, :])))
        return out

    def surrogate(self, theta: np.ndarray, beta: float) -> float:
        """eq. 12: mean over (c, i) of the top-beta mean over negatives (via dro.cvar)."""
        return float(np.mean([cvar(loss, beta) for loss in self.pair_losses(theta)]))

    def dns_weights(self, theta: np.ndarray, m: int) -> list[np.ndarray]:
        p, q = self.unpack(theta)
        return [dns_weights(q[self.negatives[u]] @ p[u], m) for u in range(p.shape[0])]

    def dns_loss(self, theta: np.ndarray, m: int) -> float:
        losses = self.pair_losses(theta)
        weights = self.dns_weights(theta, m)
        return float(np.mean([(loss @ w).mean() for loss, w in zip(losses, weights, strict=True)]))

    def dns_gradient(self, theta: np.ndarray, m: int) -> np.ndarray:
        """Gradient of the DNS loss with the sampled weights held fixed, by hand."""
        p, q = self.unpack(theta)
        weights = self.dns_weights(theta, m)
        gp, gq = np.zeros_like(p), np.zeros_like(q)
        n_users, n_pos = self.positives.shape
        for u in range(n_users):
            pos, neg = self.positives[u], self.negatives[u]
            x = (q[pos] @ p[u])[:, None] - (q[neg] @ p[u])[None, :]
            g = -sigmoid(-x) * weights[u][None, :] / (n_users * n_pos)  # dJ / dx
            row, col = g.sum(axis=1), g.sum(axis=0)
            gp[u] += row @ q[pos] - col @ q[neg]
            np.add.at(gq, pos, row[:, None] * p[u])
            np.add.at(gq, neg, -col[:, None] * p[u])
        return np.concatenate([gp.ravel(), gq.ravel()])

    def torch_dns_gradient(self, theta: np.ndarray, m: int) -> np.ndarray:
        """The same gradient by torch autograd (weights as constants, float64)."""
        import torch

        p0, q0 = self.unpack(theta)
        p = torch.tensor(p0, dtype=torch.float64, requires_grad=True)
        q = torch.tensor(q0, dtype=torch.float64, requires_grad=True)
        weights = self.dns_weights(theta, m)
        total = 0.0
        for u in range(p0.shape[0]):
            pos = torch.as_tensor(self.positives[u])
            neg = torch.as_tensor(self.negatives[u])
            x = (q[pos] @ p[u])[:, None] - (q[neg] @ p[u])[None, :]
            w = torch.as_tensor(weights[u])
            total = total + (torch.nn.functional.softplus(-x) @ w).mean()
        (total / p0.shape[0]).backward()
        return np.concatenate([p.grad.numpy().ravel(), q.grad.numpy().ravel()])


def central_differences(func, theta: np.ndarray, step: float = 1e-6) -> np.ndarray:
    grad = np.empty_like(theta)
    for t in range(theta.size):
        e = np.zeros_like(theta)
        e[t] = step
        grad[t] = (func(theta + e) - func(theta - e)) / (2.0 * step)
    return grad


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / (np.max(np.abs(b)) + 1e-300))


def check_mf(n_models: int = 12, seed: int = 11) -> list[CheckResult]:
    """Loss and gradient identities on random small MF models and levels beta = M / n_neg."""
    rng = np.random.default_rng(seed)
    loss_err = grad_err = torch_err = 0.0
    torch_cases = 0
    try:
        import torch  # noqa: F401

        have_torch = True
    except ImportError:
        have_torch = False
    for _ in range(n_models):
        model = SmallMF(rng, n_users=int(rng.integers(1, 5)), n_items=int(rng.integers(6, 25)))
        theta = model.theta
        m = int(rng.integers(1, model.n_neg + 1))
        beta = m / model.n_neg
        loss_err = max(loss_err, abs(model.dns_loss(theta, m) - model.surrogate(theta, beta)))
        analytic = model.dns_gradient(theta, m)
        numeric = central_differences(lambda t, b=beta, mod=model: mod.surrogate(t, b), theta)
        grad_err = max(grad_err, _rel(analytic, numeric))
        if have_torch:
            torch_err = max(torch_err, _rel(model.torch_dns_gradient(theta, m), analytic))
            torch_cases += 1
    results = [
        CheckResult(
            RESULT,
            "DNS(M = beta n_neg, N = all) loss = eq. 12 surrogate (cvar), small MF, BPR loss",
            n_models,
            loss_err,
            "max error",
            loss_err <= 1e-12,
            key="theorem1.dns_loss_is_surrogate",
        ),
        CheckResult(
            RESULT,
            "DNS gradient (weights fixed) = finite differences of the surrogate",
            n_models,
            grad_err,
            "max rel error",
            grad_err <= 1e-6,
            note="central differences, step 1e-6",
            key="theorem1.dns_gradient_finite_differences",
        ),
    ]
    claim = "DNS gradient by torch autograd = the hand-written gradient"
    if have_torch:
        results.append(
            CheckResult(
                RESULT,
                claim,
                torch_cases,
                torch_err,
                "max rel error",
                torch_err <= 1e-12,
                key="theorem1.dns_gradient_autograd",
            )
        )
    else:
        results.append(
            CheckResult(
                RESULT,
                claim,
                0,
                float("nan"),
                "max rel error",
                None,
                note="no torch",
                key="theorem1.dns_gradient_autograd",
            )
        )
    return results


# --------------------------------------------------------------------------- N < n_neg


def bpr_loss_rows(n_rows: int, n_neg: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Negative scores r_j ~ N(0, 1) and BPR losses softplus(r_j - r_i), r_i ~ N(1, 1)."""
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((n_rows, n_neg))
    r_pos = rng.normal(1.0, 1.0, size=(n_rows, 1))
    return scores, softplus(scores - r_pos)


def _cvar_weights_by_rank(n: int, beta: float) -> np.ndarray:
    m = beta * n
    return np.clip(m - np.arange(n), 0.0, 1.0) / m


def dns_bias_table(
    n_neg: int = 1000,
    n_rows: int = 200,
    ms: tuple[int, ...] = (1, 5, 20),
    betas: tuple[float, ...] = (0.01, 0.05, 0.2),
    draws: tuple[int, ...] = (2, 5, 10, 20, 50, 100, 200, 500, 1000),
    seed: int = 5,
) -> pd.DataFrame:
    """Bias of DNS(M, N) against the surrogate at beta = M / N, exactly (no Monte Carlo).

    Two series: fixed M (the paper's DNS grid varies M at fixed N and N at fixed M) and
    fixed beta = M / N. ``dns_loss`` and ``cvar_loss`` are averages over ``n_rows`` rows of
    BPR losses; ``tv`` is the total variation distance between the expected DNS weights
    and the CVaR weights (by rank, so it depends only on n_neg, M, N).
    """
    scores, losses = bpr_loss_rows(n_rows, n_neg, seed)
    rows = []
    plan = [("fixed M", m, n) for m in ms for n in draws if m <= n <= n_neg]
    plan += [
        ("fixed beta", round(b * n), n)
        for b in betas
        for n in draws
        if n <= n_neg and abs(b * n - round(b * n)) < 1e-9 and round(b * n) >= 1
    ]
    for series, m, n in plan:
        beta = m / n
        w = dns_expected_weights(scores, m, n)
        dns_loss = np.sum(w * losses, axis=1)
        cvar_loss = cvar(losses, beta)
        by_rank = dns_expected_weights(np.arange(n_neg, 0, -1.0), m, n)
        tv = 0.5 * np.abs(by_rank - _cvar_weights_by_rank(n_neg, beta)).sum()
        rows.append(
            {
                "series": series,
                "n_neg": n_neg,
                "m": m,
                "n_draws": n,
                "beta": beta,
                "dns_loss": float(dns_loss.mean()),
                "cvar_loss": float(cvar_loss.mean()),
                "bias": float((dns_loss - cvar_loss).mean()),
                "rel_bias": float(((dns_loss - cvar_loss) / cvar_loss).mean()),
                "max_bias": float((dns_loss - cvar_loss).max()),
                "tv": float(tv),
                "max_weight_ratio": float(by_rank.max() * n_neg * beta),
            }
        )
    return pd.DataFrame(rows)


def check_bias(seed: int = 5) -> list[CheckResult]:
    table = dns_bias_table(n_neg=200, n_rows=40, draws=(2, 5, 10, 20, 50, 100, 200), seed=seed)
    exact = table[table.n_draws == table.n_neg]
    worst_pos = float(table.max_bias.max())
    fixed_beta = table[table.series == "fixed beta"].sort_values(["beta", "n_draws"])
    steps = fixed_beta.groupby("beta").tv.diff().dropna()
    return [
        CheckResult(
            RESULT,
            "N = n_neg: expected DNS(M, N) weights (hypergeometric) = top-M weights, bias 0",
            len(exact),
            float(exact.bias.abs().max()),
            "max error",
            float(exact.bias.abs().max()) <= 1e-12,
            key="theorem1.full_n_unbiased",
        ),
        CheckResult(
            RESULT,
            "N < n_neg: E[DNS(M, N)] <= surrogate at beta = M/N (E[w] in the CVaR ball)",
            len(table) * 40,
            max(worst_pos, 0.0),
            "violation",
            worst_pos <= 1e-12 and float(table.max_weight_ratio.max()) <= 1 + 1e-12,
            key="theorem1.expected_dns_below_surrogate",
        ),
        CheckResult(
            RESULT,
            "fixed beta = M/N: the TV distance of E[DNS] to the CVaR weights falls as N grows",
            len(steps),
            max(float(steps.max()), 0.0),
            "max increase",
            bool((steps < 0).all()),
            expected=None,
            key="theorem1.tv_distance_falls_with_n",
        ),
    ]


def run(*, deep: bool = False) -> list[CheckResult]:
    return check_mf(100 if deep else 12) + check_bias()
