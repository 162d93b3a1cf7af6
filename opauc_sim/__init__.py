"""opauc-sim: verify and explore, by computation, the theory of hard negative sampling.

Reproduces and extends Shi et al., "On the Theories Behind Hard Negative Sampling for
Recommendation" (WWW 2023). The definitions the code follows are in the repository's
``docs/definitions.md`` (metrics, ties, undefined rows), ``docs/theorems.md`` and
``docs/experiments.md``, and each function's docstring states its formula.

Modules
-------
metrics
    Score-level ranking metrics (Recall/Precision/NDCG/HitRate/MRR/MAP@K, AUC, OPAUC) with
    exact tie rules, for arrays, sparse matrices, DataFrames, tensors and long tables;
    ``metrics.ranks``: rank-level kernels for tie-free rankings in compact form (sorted
    positive ranks).
stats
    Means with confidence intervals and paired tests between two models' per-user rows.
rankings
    Random ranking generators (compact form), reproducible for any chunk size.
correlation
    The beta-peak correlation study (paper Fig. 6/7), Monte Carlo and exact.
bounds, dro
    Theorem 3's OPAUC bounds on Recall@K and Precision@K; the CVaR and KL objectives and
    the DNS and Softmax-v weights.
checks
    The proof checks of Lemma 1 and Theorems 1-3 (``opauc-sim check``).
train
    MF training with RNS, DNS(M, N) and Softmax-v(rho, N) on real data: a fused Numba CPU
    trainer (no torch needed) and a PyTorch engine (extra ``train``), sweeps, summaries.
plots, results_cache
    The figures, drawn only from the cached results; the cache itself.
cli, commands
    The ``opauc-sim`` command line. ``docs/architecture.md`` has the full map.
"""

from importlib.metadata import PackageNotFoundError, version

from opauc_sim._numba_cache import ensure_matplotlib_config, ensure_numba_cache

ensure_numba_cache()  # before any @njit(cache=True) kernel is defined
ensure_matplotlib_config()  # before matplotlib is imported

try:
    __version__ = version("opauc-sim")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
