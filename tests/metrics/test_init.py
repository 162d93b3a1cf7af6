"""opauc_sim.metrics (__init__): the public names and their docstrings."""

from __future__ import annotations

import re

from opauc_sim import metrics


def test_public_names_are_exported():
    for name in ("recall_at_k", "precision_at_k", "ndcg_at_k", "auc", "opauc", "evaluate"):
        assert name in metrics.__all__
        assert re.search(r"Examples\n\s*-+", getattr(metrics, name).__doc__)


def test_public_functions_have_examples():
    import re

    from opauc_sim import metrics, stats

    for module, names in (
        (metrics, ("hit_rate_at_k", "mrr_at_k", "map_at_k", "evaluate_long", "evaluate_scorer")),
        (stats, ("summarize", "compare")),
    ):
        for name in names:
            assert name in module.__all__
            assert re.search(r"Examples\n\s+-+", getattr(module, name).__doc__), name
