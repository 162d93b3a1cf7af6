"""opauc_sim.metrics._registry: one row per Top-K metric, and everything that reads it."""

from __future__ import annotations

import re

import numpy as np
import pytest

from opauc_sim import metrics
from opauc_sim.metrics import _registry, evaluate
from tests.metrics.common import quiet


def test_every_registered_metric_has_its_wrapper_and_column():
    """A row of the registry is a metric everywhere: its wrapper ``<name>_at_k`` is public
    and documented with an example, evaluate names its column, and the two agree."""
    assert metrics.TOPK_METRICS == tuple(_registry.TOPK)
    titles = [m.title for m in _registry.TOPK.values()]
    assert len(set(titles)) == len(titles)
    rng = np.random.default_rng(1)
    y = rng.random((6, 9)) < 0.3
    y[0] = False  # a row without positives
    s = rng.integers(0, 4, (6, 9)).astype(float)
    df = quiet(evaluate, y, s, ks=(2, 12), topk=metrics.TOPK_METRICS)
    for name, metric in _registry.TOPK.items():
        fn = getattr(metrics, f"{name}_at_k")
        assert f"{name}_at_k" in metrics.__all__
        assert re.search(r"Examples\n\s+-+", fn.__doc__), name
        for k in (2, 12):
            assert np.array_equal(df[f"{name}@{k}"], quiet(fn, y, s, k), equal_nan=True)
        assert np.isnan(df.loc[0, f"{name}@2"]) != metric.defined_without_positives


@pytest.mark.parametrize("name", list(_registry.TOPK))
def test_the_rank_block_is_asked_for_exactly_when_needed(name, monkeypatch):
    """The driver asks the kernel for the rank block only for a metric that needs it, and
    a metric that needs it gets it (its values are not the block's zeros)."""
    from opauc_sim.metrics import _driver

    seen = []
    kernel = _driver._batch_stats

    def spy(*args):
        seen.append(args[8])  # want_rank
        return kernel(*args)

    monkeypatch.setattr(_driver, "_batch_stats", spy)
    y, s = np.array([[0, 1, 0, 1]]), np.array([[0.4, 0.3, 0.2, 0.1]])
    value = metrics.evaluate(y, s, ks=(3,), betas=(), topk=(name,))[f"{name}@3"].iloc[0]
    assert seen == [_registry.TOPK[name].needs_rank]
    assert value > 0
