"""opauc_sim.metrics._driver: undefined rows give NaN and one warning pointing at the caller."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from opauc_sim.metrics import (
    UndefinedMetricWarning,
    auc,
    evaluate,
    ndcg_at_k,
    opauc,
    precision_at_k,
    recall_at_k,
)


def test_undefined_rows_give_nan_and_one_warning_with_the_count():
    y = np.array([[1, 0, 0], [0, 0, 0], [1, 1, 1], [0, 0, 0]])
    s = np.arange(12.0).reshape(4, 3)
    with pytest.warns(UndefinedMetricWarning, match=r"^2 of 4 rows have no positives") as rec:
        r = recall_at_k(y, s, 2)
    assert len(rec) == 1
    assert np.isnan(r[[1, 3]]).all() and not np.isnan(r[[0, 2]]).any()
    with pytest.warns(UndefinedMetricWarning, match=r"^3 of 4 rows") as rec:
        a = opauc(y, s, 0.5)
    assert len(rec) == 1 and np.isnan(a[1:]).all() and not np.isnan(a[0])
    with pytest.warns(UndefinedMetricWarning, match=r"^3 of 4 rows") as rec:
        df = evaluate(y, s, ks=(1,), betas=(0.5,))
    assert len(rec) == 1
    assert np.isnan(df["auc"][1:]).all() and df["recall@1"].isna().tolist() == [0, 1, 0, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert precision_at_k(y, s, 2)[1] == 0.0  # defined: no warning
        auc(y[:1], s[:1])  # all defined: no warning


@pytest.mark.parametrize(
    "call",
    [
        lambda y, s: auc(y, s),
        lambda y, s: opauc(y, s, 0.5),
        lambda y, s: recall_at_k(y, s, 1),
        lambda y, s: ndcg_at_k(y, s, 1),
        lambda y, s: evaluate(y, s, ks=(1,)),
    ],
)
def test_warning_points_at_the_callers_line(call):
    with pytest.warns(UndefinedMetricWarning) as rec:
        call([0, 0], [1.0, 2.0])
    assert rec[0].filename == __file__


_MODULE_LEVEL_CALLS = """\
import numpy as np
import pandas as pd
from opauc_sim import metrics
from opauc_sim.metrics import ranks
y, s = [0, 0], [1.0, 2.0]
table = pd.DataFrame({"user": [1], "item": [1], "score": [0.5]})
truth = pd.DataFrame(columns=["user", "item"])
metrics.auc(y, s)
metrics.opauc(y, s, 0.5)
metrics.map_at_k(y, s, 1)
metrics.evaluate(y, s, ks=(1,))
metrics.evaluate_scorer(lambda rows: np.ones((len(rows), 2)), [0], np.zeros((1, 2)), ks=(1,))
metrics.evaluate_long(table, truth, ks=(1,))
ranks.auc([], 3)
ranks.recall_at_k([[]], 3, 1)
ranks.evaluate([], 3, ks=(1,))
"""


def test_warning_from_module_level_code_points_at_that_file(tmp_path):
    """The stack level is computed (the first frame outside opauc_sim), not counted: a call
    at module level in another file, imported, is named with its file and line (a counted
    level one too high pointed into importlib, or at ``sys:1`` from a script)."""
    import importlib.util

    path = tmp_path / "user_module.py"
    path.write_text(_MODULE_LEVEL_CALLS)
    spec = importlib.util.spec_from_file_location("user_module", path)
    with pytest.warns(UndefinedMetricWarning) as rec:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    lines = _MODULE_LEVEL_CALLS.splitlines()
    calls = [i + 1 for i, line in enumerate(lines) if line.startswith(("metrics.", "ranks."))]
    got = [(w.filename, w.lineno) for w in rec if w.category is UndefinedMetricWarning]
    assert got == [(str(path), line) for line in calls]
