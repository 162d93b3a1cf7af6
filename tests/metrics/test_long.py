"""opauc_sim.metrics._long: evaluate_long on long (user, item, score) tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from opauc_sim.metrics import (
    evaluate,
    evaluate_long,
    ndcg_at_k,
)
from tests import reference as ref
from tests.metrics.common import TOL, close, quiet
from tests.strategies import (
    score_matrices,
)


def _long(y, s, scored):
    users, items = np.nonzero(scored)
    table = pd.DataFrame({"u": users, "i": items, "s": s[users, items]})
    tu, ti = np.nonzero(y)
    truth = pd.DataFrame({"u": tu, "i": ti})
    return table, truth


@given(score_matrices(max_items=8), st.data())
def test_evaluate_long_unscored_bottom_and_drop(mat, data):
    """'bottom': unscored items rank below every scored one, tied with each other (so they
    are positives or negatives as truth says); 'drop': they are excluded."""
    labels, scores = mat
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    scored = rng.random(scores.shape) < 0.7
    scored[:, 0] = True
    table, truth = _long(labels, scores, scored)
    kw = {"ks": (1, 3), "betas": (0.3, 1.0), "topk": ("recall", "ndcg", "mrr")}
    kw_long = {**kw, "items": range(scores.shape[1])}  # the catalogue: every column
    bottom = quiet(evaluate_long, table, truth, user="u", item="i", score="s", **kw_long)
    drop = quiet(
        evaluate_long, table, truth, user="u", item="i", score="s", unscored="drop", **kw_long
    )
    for i in range(len(scores)):
        # bottom: a score strictly below the row's lowest scored value (ranks keep -inf)
        ranks = np.unique(scores[i][scored[i]], return_inverse=True)[1] + 1.0
        filled = np.zeros(scores.shape[1])
        filled[scored[i]] = ranks
        row = quiet(evaluate, labels[i], filled, **kw)
        assert close(bottom.loc[i].to_numpy(float), row.loc[0].to_numpy(float)), i
        row = quiet(evaluate, labels[i], scores[i], exclude=~scored[i], **kw)
        assert close(drop.loc[i].to_numpy(float), row.loc[0].to_numpy(float)), i


def test_evaluate_long_semantics_by_hand():
    scores = pd.DataFrame({"user": ["u"] * 3, "item": ["a", "b", "c"], "score": [3.0, 2, 1]})
    truth = pd.DataFrame({"user": ["u", "u"], "item": ["b", "z"]})  # z is never scored
    b = evaluate_long(scores, truth, ks=(1, 4), betas=())
    # items a b c z: z ranks last; n_pos = 2 (b, z), n_neg = 2 (a, c)
    assert b.loc["u", "n_pos"] == 2 and b.loc["u", "recall@1"] == 0.0
    assert b.loc["u", "recall@4"] == 1.0
    assert b.loc["u", "auc"] == ref.auc_pairs([0, 1, 0, 1], [3, 2, 1, 0])
    d = evaluate_long(scores, truth, ks=(4,), betas=(), unscored="drop")
    assert d.loc["u", "n_pos"] == 1 and d.loc["u", "recall@4"] == 1.0
    assert d.loc["u", "auc"] == 0.5
    # a catalogue adds unscored negatives at the bottom
    c = evaluate_long(scores, truth, ks=(4,), betas=(), items=["a", "b", "c", "z", "w"])
    assert c.loc["u", "n_neg"] == 3
    assert c.loc["u", "auc"] == ref.auc_pairs([0, 1, 0, 1, 0], [3, 2, 1, 0, 0])
    # exclude and graded relevance
    x = evaluate_long(scores, truth, ks=(4,), betas=(), exclude=truth.iloc[:1])
    assert x.loc["u", "n_pos"] == 1
    g = evaluate_long(
        scores, truth.assign(rel=[3.0, 1.0]), relevance="rel", graded=True, ks=(4,), betas=()
    )
    assert abs(g.loc["u", "ndcg@4"] - ndcg_at_k([0, 3, 0, 1], [3, 2, 1, 0], 4, graded=True)) < TOL


@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        ({"user": "uid"}, ValueError, r"scores has no column 'uid' \(given as user=\)"),
        ({"unscored": "fill"}, ValueError, r"unscored must be one of"),
        ({"items": ["a"]}, ValueError, r"items must list every item of scores; 'b'"),
    ],
)
def test_evaluate_long_bad_input(kwargs, exc, pattern):
    scores = pd.DataFrame({"user": [1, 1], "item": ["a", "b"], "score": [0.2, 0.1]})
    truth = pd.DataFrame({"user": [1], "item": ["a"]})
    with pytest.raises(exc, match=pattern):
        evaluate_long(scores, truth, ks=(1,), **kwargs)
    with pytest.raises(ValueError, match=r"the pair \(1, 'a'\) repeats"):
        evaluate_long(pd.concat([scores, scores]), truth, ks=(1,))
    with pytest.raises(ValueError, match="NaN"):
        evaluate_long(scores.assign(score=[np.nan, 1.0]), truth, ks=(1,))
    with pytest.raises(TypeError, match="truth must be a pandas DataFrame"):
        evaluate_long(scores, {"a": 1}, ks=(1,))
