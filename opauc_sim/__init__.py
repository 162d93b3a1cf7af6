"""opauc-sim: verify and explore, by computation, the theory of hard negative sampling.

Reproduces and extends Shi et al., "On the Theories Behind Hard Negative Sampling for
Recommendation" (WWW 2023). The definitions the code follows are in the repository's
``docs/definitions.md`` (metrics, ties, undefined rows), ``docs/theorems.md`` and
``docs/experiments.md``, and each function's docstring states its formula.

Modules
-------
metrics
    Score-level ranking metrics (Recall/Precision/NDCG@K, AUC, OPAUC) with exact tie rules;
    ``metrics.ranks``: rank-level kernels for tie-free rankings in compact form (sorted
    positive ranks).
rankings
    Random ranking generators (compact form), reproducible for any chunk size.
correlation
    The beta-peak correlation study (paper Fig. 6/7), Monte Carlo and exact.
bounds
    Theorem 3: OPAUC(K/n_neg) bounds on Recall@K and Precision@K.
dro
    CVaR and KL distributionally robust objectives, DNS and Softmax-v weights.
train
    Optional PyTorch matrix-factorisation training path (extra ``train``).
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
