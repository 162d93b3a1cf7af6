r"""Ranking metrics with exact tie rules: Recall/Precision/NDCG/HitRate/MRR/MAP@K, AUC, OPAUC(β).

Every function takes ``(y_true, y_score, ..., exclude=None)`` in scikit-learn's order. One
row is one ranking (a user's scores over the items); 1-D input is one row and gives a
``float``, 2-D input ``(n_rows, n_items)`` gives one float64 value per row (a Series on the
index of a DataFrame input). Inputs may be NumPy or scipy.sparse arrays, pandas DataFrames,
torch tensors or ranx-style dicts of dicts, of any real dtype: they are brought to one
canonical form at the boundary, so one compiled kernel serves all. Long
``(user, item, score)`` tables go through :func:`evaluate_long`, models too large to score
at once through :func:`evaluate_scorer`; :mod:`opauc_sim.stats` compares two models.
HitRate@K, MRR@K and MAP@K (see their docstrings) come out of the same kernel pass, with the
same random-order tie rule as the other Top-K metrics, in exact expectation.

Definitions (binary relevance; ranks are 0-based from the top; ``hits@K`` is the number of
positives at ranks ``< K``):

.. math::

    \mathrm{Recall@K} = \frac{\mathrm{hits@K}}{n_+}, \qquad
    \mathrm{Precision@K} = \frac{\mathrm{hits@K}}{K}, \qquad
    \mathrm{NDCG@K} = \frac{\sum_{\text{positives at } r < K} 1/\log_2(r+2)}
                           {\sum_{r < \min(K, n_+)} 1/\log_2(r+2)}

``AUC`` is the fraction of (positive, negative) pairs ordered correctly, a tied pair
counting 1/2. ``OPAUC(β)`` is the area under the ROC curve for FPR in ``[0, β]``, a raw
value in ``[0, β]``; for a tie-free row with ``a_i`` negatives above positive ``i`` and
``m = β n_-`` (fractional allowed),

.. math::

    \mathrm{OPAUC}(\beta) = \frac{1}{n_+ n_-} \sum_i \max(0, m - a_i).

Ties
----
The two families treat tied scores differently, on purpose (docs/definitions.md §3):

* Top-K metrics take the **expectation over a uniformly random order inside each group of
  tied scores** (McSherry & Najork 2008). A tie group of ``g`` items holding ``g_+``
  positives that straddles the cut at ``K`` contributes ``g_+ * (#slots < K) / g`` hits.
  scikit-learn's ``ndcg_score(ignore_ties=False)`` computes the same NDCG.
* AUC and OPAUC take the **area under the ROC curve** drawn through the operating points at
  every distinct score threshold, as ``sklearn.metrics.roc_curve`` draws it: a tie group is
  a straight diagonal segment, and a cut at FPR = β inside it is linearly interpolated. For
  AUC this equals the 1/2-per-tied-pair rule. For a cut inside a tie group the diagonal is
  **not** the random-order expectation used by the Top-K metrics.

Undefined rows
--------------
A row with no positives has no Recall, NDCG, AUC or OPAUC; a row with no negatives has no
AUC or OPAUC. Such values are ``nan``, and each call emits one
:class:`~opauc_sim._validation.UndefinedMetricWarning` giving the count. Precision@K is
defined (0) for a row with no positives.

Implementation
--------------
Nothing is sorted in full. Per row, the positive scores are gathered and collapsed into
distinct-score groups (ranked by counting up to 128 positives, else sorted), and the
negatives are counted against those groups over the **whole row of scores**: the count of
every item above a group, minus the positives and excluded items above it (few), so the
inner loop is a vectorised comparison of the scores alone. Group by group from the top,
one such pass per group, stopping as soon as every requested K and beta is complete (so
OPAUC at a small beta and Top-K at a small K touch only the top groups; AUC needs them
all); after 24 passes, or at once when AUC needs every group of a row with more, the rest
of the row is placed once into a histogram over the groups by a bucket table. One walk
over the groups then yields hits and DCG at every K, AUC and OPAUC at every beta. The cost
per row is ``O(n_+ log n_+ + n min(G, 24))`` for ``G`` distinct positive scores, far less
with the early stop, and :func:`evaluate` shares the work across all metrics. Rows run in
parallel (Numba ``prange``). NaN scores and labels outside {0, 1} are detected inside the
same pass and turned into ``ValueError`` by the public functions. scipy.sparse ``y_true``
(with a sparse or no ``exclude``) is not densified: the kernel reads each row's positives
and excluded items from the CSR index lists (the fast path of full-ranking evaluation,
:func:`evaluate_scorer`); other sparse input is densified once (one byte per entry).

Layout: ``_kernels`` (the Numba kernels, which call each other and so share one file),
``_inputs`` (every array-like input to the canonical form), ``_tables`` (long tables and
ranx/TREC dicts, pivoted), ``_options`` (the checks of ``ks``, ``betas``, ``topk``, ...),
``_registry`` (one row per Top-K metric: name, column, title, whether it needs the rank
block, how its value is read), ``_driver`` (one kernel call per public call, its
statistics read back by name), ``_single`` (the one-metric functions), ``_evaluate``,
``_long`` and ``_scorer`` (the three ``evaluate`` functions), ``_docs`` (shared docstring
parts and the one templating helper) and :mod:`.ranks` (the rank-level functions for
tie-free rankings in compact form, a namespace of their own). Definitions shared with the
rest of the package (discounts, normalisations, column names) live in
:mod:`opauc_sim._definitions`.

References
----------
1. W. Shi et al., "On the Theories Behind Hard Negative Sampling for Recommendation",
   WWW 2023 (arXiv:2302.03472).
2. F. McSherry and M. Najork, "Computing Information Retrieval Performance Measures
   Efficiently in the Presence of Tied Scores", ECIR 2008.
3. D. K. McClish, "Analyzing a Portion of the ROC Curve", Medical Decision Making 9(3), 1989.
"""

from __future__ import annotations

from opauc_sim._definitions import NORMALIZATIONS
from opauc_sim._validation import UndefinedMetricWarning
from opauc_sim.metrics import ranks
from opauc_sim.metrics._evaluate import evaluate
from opauc_sim.metrics._long import evaluate_long
from opauc_sim.metrics._registry import TOPK_METRICS
from opauc_sim.metrics._scorer import evaluate_scorer
from opauc_sim.metrics._single import (
    auc,
    hit_rate_at_k,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    normalize_opauc,
    opauc,
    precision_at_k,
    recall_at_k,
)
from opauc_sim.metrics._tables import UNSCORED

__all__ = [
    "NORMALIZATIONS",
    "TOPK_METRICS",
    "UNSCORED",
    "UndefinedMetricWarning",
    "auc",
    "evaluate",
    "evaluate_long",
    "evaluate_scorer",
    "hit_rate_at_k",
    "map_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "normalize_opauc",
    "opauc",
    "precision_at_k",
    "ranks",
    "recall_at_k",
]
