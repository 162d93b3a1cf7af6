"""The beta-peak correlation study (paper Fig. 6/7): Monte Carlo and exact.

Over random rankings of ``n_pos`` positives and ``n_neg`` negatives, how strongly does a
Top-K metric (Recall, Precision, NDCG at K) correlate with Norm_OPAUC(beta), as a function
of beta? Shi et al. (WWW 2023, §3.2) find a peak at a specific beta that shrinks with K, far
above the correlation with AUC (beta = 1).

Layout
------
``setting``   :data:`FIG6`, the paper's Fig. 6 sizes (light: the CLI's defaults);
``kernels``   the Numba kernels (exact DP, streaming moment sums), all in one file;
``engines``   Pearson engines: streaming Monte Carlo (local or on an executor), exact DP;
``rank``      Spearman and Kendall's tau-b over materialised rankings;
``curves``    the curve API: :func:`beta_curve`, :func:`beta_curve_cost`, :func:`fig6_grid`,
              :func:`auc_correlation`;
``analyses``  peaks, the paper's claims (:data:`CLAIMS`, their stable keys), the peak law;
``studies``   the studies of ``opauc-sim simulate`` (Fig. 6, coefficients, binormal, peak
              law), and ``report`` their printed tables.

Reductions used throughout
--------------------------
* Norm_OPAUC(beta) (McClish), OPAUC/beta and the raw OPAUC are affine in the pair count
  ``C(beta) = n_pos * n_neg * OPAUC(beta)`` for fixed beta, and Recall@K, Precision@K are
  affine in hits@K, NDCG@K in DCG@K. Pearson, Spearman and Kendall coefficients are
  invariant under increasing affine maps, so every coefficient here is computed between
  ``x in {hits@K, DCG@K}`` and ``y = C(beta)``; the normalisation changes nothing, and
  Recall@K and Precision@K have identical curves.
* Monte Carlo Pearson streams: rankings are generated in chunks (:mod:`opauc_sim.rankings`)
  and reduced to shifted power sums per block of 64 rankings; blocks are merged in a fixed
  order, so memory is O(1) in ``n_rankings`` and the result is bit-identical for any chunk
  size and number of threads.
* With an ``executor`` (e.g. Dask workers, :mod:`opauc_sim.distributed`), tasks compute
  the block sums of ranges of ranking indices and the blocks are merged here in the same
  order: the result is bit-identical to the local run.
* Its 95% confidence interval is a delete-a-group jackknife over 32 groups of blocks
  (block ``b`` in group ``b mod 32``), with a Student t quantile on 31 degrees of freedom:
  distribution free (hits@1 is Bernoulli, far from the bivariate normal behind Fisher's z).
* ``exact=True`` (uniform rankings, Pearson) computes E[x], E[x^2], E[y], E[y^2], E[xy]
  exactly by a forward dynamic programme over the lattice of (positives placed, negatives
  placed), whose paths are the rankings, all equally likely: O(n_pos * n_neg * len(betas))
  per x variable, no sampling.
"""

from __future__ import annotations

import importlib

#: Where each public name lives. The submodules are imported on first use, so that the
#: command line can read :data:`FIG6` (``setting``) for its defaults without loading Numba.
_HOMES = {
    "BLOCK": "engines",
    "N_GROUPS": "engines",
    "exact_moments": "engines",
    "METHODS": "curves",
    "METRICS": "curves",
    "auc_correlation": "curves",
    "beta_curve": "curves",
    "beta_curve_cost": "curves",
    "fig6_grid": "curves",
    "CLAIMS": "analyses",
    "check_paper_claims": "analyses",
    "fit_peak_law": "analyses",
    "peak_beta": "analyses",
    "peak_law": "analyses",
    "binormal_study": "studies",
    "FIG6": "setting",
    "Fig6Setting": "setting",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # later lookups (and monkeypatching) see a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
