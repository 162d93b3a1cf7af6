"""Adam for the fused CPU trainer: ``torch.optim.Adam``'s single-tensor update, in Numba.

The kernel calls no other kernel (Numba's on-disk cache keys a function by its own file).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["_adam"]


@njit(cache=True, parallel=True)
def _adam(param, grad, exp_avg, exp_avg_sq, consts, use_wd):
    """One Adam step on flat float arrays, in torch's single-tensor order; zeroes ``grad``.

    ``grad += weight_decay * param`` (coupled); ``m.lerp_(grad, 1 - beta1)``;
    ``v = v * beta2 + (1 - beta2) * grad * grad``; ``param -= step_size * m /
    (sqrt(v) / bc2_sqrt + eps)``, with ``step_size = lr / (1 - beta1^t)`` and
    ``bc2_sqrt = sqrt(1 - beta2^t)``. Arithmetic in the arrays' dtype, as torch does:
    ``consts`` holds (1 - beta1, beta2, 1 - beta2, eps, -step_size, bc2_sqrt,
    weight_decay) in that dtype.
    """
    one_m_b1 = consts[0]
    b2 = consts[1]
    one_m_b2 = consts[2]
    eps = consts[3]
    neg_step = consts[4]
    bc2 = consts[5]
    # Adding 0 * param when there is no weight decay keeps the loop branch-free, which
    # lets it vectorise; it changes nothing but the sign of a zero gradient.
    wd = consts[6] if use_wd else consts[6] * 0
    for q in prange(param.shape[0]):
        g = grad[q] + wd * param[q]
        m = exp_avg[q]
        m = m + one_m_b1 * (g - m)
        v = exp_avg_sq[q] * b2 + one_m_b2 * g * g
        exp_avg[q] = m
        exp_avg_sq[q] = v
        param[q] = param[q] + neg_step * (m / (np.sqrt(v) / bc2 + eps))
        grad[q] = 0


# ---------------------------------------------------------------------------------------
# DNS over all items (N = "all"): the pairs of a batch come grouped by user; each user's
# row of scores (one GEMM for the group, computed by the caller) selects the top M once,
# and every pair of that user shares those M negatives.
# ---------------------------------------------------------------------------------------
