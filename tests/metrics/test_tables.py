"""opauc_sim.metrics._tables: ranx/TREC dicts and the pivot of long tables, against ranx and
trec_eval (pytrec-eval), and their checks of ids and values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from opauc_sim.metrics import auc, evaluate, evaluate_long, mrr_at_k, recall_at_k
from tests.metrics.common import close, quiet


def test_dict_input_needs_both_dicts():
    with pytest.raises(TypeError, match="both be dicts of dicts"):
        auc({"q": {"a": 1}}, [0.1])
    with pytest.raises(TypeError, match=r"y_score must map each query to a dict"):
        auc({"q": {"a": 1}}, {"q": [0.1]})


def test_agree_with_ranx_on_tie_free_data():
    """mrr@k, hit_rate@k and map@k (and recall, precision, ndcg) equal ranx's per query."""
    ranx = pytest.importorskip("ranx")
    rng = np.random.default_rng(5)
    n_rows, n_items = 40, 60
    y = rng.random((n_rows, n_items)) < 0.08
    y[:, 0] = True  # every query has a relevant document
    s = rng.random((n_rows, n_items))  # distinct scores: tie-free
    qrels = {f"q{i:03d}": {f"d{j}": 1 for j in np.flatnonzero(y[i])} for i in range(n_rows)}
    run = {f"q{i:03d}": {f"d{j}": float(s[i, j]) for j in range(n_items)} for i in range(n_rows)}
    ks = (1, 5, 20)
    names = {"mrr": "mrr", "hit_rate": "hit_rate", "map": "map"}
    names |= {"recall": "recall", "precision": "precision", "ndcg": "ndcg"}
    theirs = ranx.evaluate(
        ranx.Qrels(qrels),
        ranx.Run(run),
        [f"{m}@{k}" for m in names.values() for k in ks],
        return_mean=False,
        make_comparable=True,
    )
    ours = evaluate(y, s, ks=ks, betas=(), topk=tuple(names))
    via_dicts = evaluate(qrels, run, ks=ks, betas=(), topk=tuple(names))
    order = [f"q{i:03d}" for i in range(n_rows)]
    for ours_name, ranx_name in names.items():
        for k in ks:
            expected = np.asarray(theirs[f"{ranx_name}@{k}"], dtype=float)
            assert close(ours[f"{ours_name}@{k}"], expected), (ours_name, k)
            assert close(via_dicts.loc[order, f"{ours_name}@{k}"], expected), (ours_name, k)


def test_ranx_unretrieved_relevant_documents_via_dicts():
    """A relevant document missing from the run still counts in Recall's denominator
    (ranked below every retrieved one), as in ranx."""
    ranx = pytest.importorskip("ranx")
    qrels = {"q1": {"a": 1, "z": 1}, "q2": {"b": 2}}
    run = {"q1": {"a": 0.9, "b": 0.5, "c": 0.1}, "q2": {"a": 0.8, "b": 0.7}}
    ours = evaluate(qrels, run, ks=(2,), betas=(), topk=("recall", "mrr", "map", "ndcg"))
    theirs = ranx.evaluate(
        ranx.Qrels(qrels), ranx.Run(run), ["recall@2", "mrr@2", "map@2"], return_mean=False
    )
    for name in ("recall", "mrr", "map"):
        assert close(ours[f"{name}@2"].to_numpy(), theirs[f"{name}@2"]), name
    assert list(ours.index) == ["q1", "q2"] and ours.loc["q1", "n_pos"] == 2


def test_graded_ndcg_agrees_with_ranx_through_dicts():
    """Graded qrels: ranx's ndcg@k (linear gains, unretrieved relevant documents in the
    ideal DCG) equals evaluate(graded=True) on dicts, for K within the run."""
    ranx = pytest.importorskip("ranx")
    rng = np.random.default_rng(9)
    qrels, run = {}, {}
    for q in range(15):
        docs = [f"d{j:02d}" for j in range(30)]
        graded = rng.choice(docs, 6, replace=False)
        qrels[f"q{q:02d}"] = {d: int(rng.integers(1, 4)) for d in graded}
        retrieved = rng.choice(docs, 20, replace=False)  # some relevant ones are missing
        run[f"q{q:02d}"] = {d: float(v) for d, v in zip(retrieved, rng.random(20), strict=True)}
    theirs = ranx.evaluate(
        ranx.Qrels(qrels), ranx.Run(run), ["ndcg@5", "ndcg@20"], return_mean=False
    )
    ours = evaluate(qrels, run, ks=(5, 20), betas=(), topk=("ndcg",), graded=True)
    assert close(ours["ndcg@5"].to_numpy(), theirs["ndcg@5"])
    assert close(ours["ndcg@20"].to_numpy(), theirs["ndcg@20"])


# ----------------------------------------------------- relevant documents never retrieved


def _ranx(qrels, run, names, **kw):
    ranx = pytest.importorskip("ranx")
    return ranx.evaluate(ranx.Qrels(qrels), ranx.Run(run), names, return_mean=False, **kw)


def test_the_issues_dict_calls_give_ranx_values():
    """Unretrieved relevant documents count in Recall's denominator and never hit, however
    far K goes past the run's end; a query without hits scores 0 (ranx's values)."""
    qrels, run = {"q": {"a": 1, "z": 1}}, {"q": {"a": 0.9, "b": 0.8}}
    df = evaluate(qrels, run, ks=(3,), topk=("recall", "precision", "map"))
    theirs = _ranx(qrels, run, ["recall@3", "precision@3", "map@3"])
    for name in ("recall", "precision", "map"):
        assert close(df[f"{name}@3"].to_numpy(), np.atleast_1d(theirs[f"{name}@3"])), name
    assert df.loc["q", ["recall@3", "precision@3", "map@3"]].tolist() == [0.5, 1 / 3, 0.5]
    assert recall_at_k({"q1": {"d1": 1, "d3": 1}}, {"q1": {"d1": 0.9}}, 2).tolist() == [0.5]
    assert mrr_at_k({"q1": {"d3": 1}}, {"q1": {"d1": 0.9}}, 2).tolist() == [0.0]
    assert close(_ranx({"q1": {"d1": 1, "d3": 1}}, {"q1": {"d1": 0.9}}, ["recall@2"]), [0.5])
    assert close(_ranx({"q1": {"d3": 1}}, {"q1": {"d1": 0.9}}, ["mrr@2"]), [0.0])


def _short_runs(seed=0, n_queries=30, n_docs=40, run_length=5, n_rel=6):
    rng = np.random.default_rng(seed)
    docs = [f"d{j:02d}" for j in range(n_docs)]
    qrels, run = {}, {}
    for q in range(n_queries):
        qrels[f"q{q:02d}"] = {d: 1 for d in rng.choice(docs, n_rel, replace=False)}
        retrieved = rng.choice(docs, run_length, replace=False)
        run[f"q{q:02d}"] = {
            d: float(v) for d, v in zip(retrieved, rng.random(run_length), strict=True)
        }
    return qrels, run


@pytest.mark.parametrize("k", [3, 5, 20])
def test_runs_shorter_than_k_against_ranx(k):
    """The issue's setting: runs of 5 of 40 documents; at K = 20 mean Recall@K was 0.99
    where ranx gives 0.135. Every Top-K metric, per query, equals ranx's."""
    qrels, run = _short_runs()
    names = {"recall": "recall", "precision": "precision", "ndcg": "ndcg", "mrr": "mrr"}
    names |= {"map": "map", "hit_rate": "hit_rate"}
    ours = evaluate(qrels, run, ks=(k,), betas=(), topk=tuple(names))
    theirs = _ranx(qrels, run, [f"{m}@{k}" for m in names.values()])
    for ours_name, ranx_name in names.items():
        expected = np.asarray(theirs[f"{ranx_name}@{k}"], dtype=float)
        assert close(ours.loc[sorted(qrels), f"{ours_name}@{k}"], expected), ours_name


@pytest.mark.parametrize("k", [3, 20])
def test_runs_shorter_than_k_against_trec_eval(k):
    """The same against trec_eval itself (pytrec-eval): P, recall, map_cut, ndcg_cut,
    success (HitRate) at K, and recip_rank (MRR without a cut-off: K past every run)."""
    pytrec_eval = pytest.importorskip("pytrec_eval")
    qrels, run = _short_runs(seed=1)
    measures = {f"P_{k}", f"recall_{k}", f"map_cut_{k}", f"ndcg_cut_{k}", f"success_{k}"}
    theirs = pytrec_eval.RelevanceEvaluator(qrels, measures | {"recip_rank"}).evaluate(run)
    topk = ("precision", "recall", "map", "ndcg", "hit_rate", "mrr")
    ours = evaluate(qrels, run, ks=(k, 1000), betas=(), topk=topk)
    pairs = {"precision": "P", "recall": "recall", "map": "map_cut", "ndcg": "ndcg_cut"}
    pairs["hit_rate"] = "success"
    for q in qrels:
        for name, measure in pairs.items():
            assert abs(ours.loc[q, f"{name}@{k}"] - theirs[q][f"{measure}_{k}"]) < 1e-12, name
        assert abs(ours.loc[q, "mrr@1000"] - theirs[q]["recip_rank"]) < 1e-12


def test_a_query_missing_from_the_run_retrieved_nothing():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1, "c": 1}}
    run = {"q1": {"a": 0.3, "x": 0.2}}
    df = quiet(evaluate, qrels, run, ks=(1, 10), betas=(), topk=("recall", "ndcg", "mrr", "map"))
    assert df.loc["q2", ["recall@10", "ndcg@10", "mrr@10", "map@10"]].tolist() == [0.0] * 4
    assert df.loc["q2", "n_pos"] == 2
    theirs = _ranx(qrels, run, ["recall@10", "ndcg@10", "mrr@10"], make_comparable=True)
    assert close(df["recall@10"].to_numpy(), theirs["recall@10"])


def test_dict_exclude_equals_deleting_the_documents():
    qrels, run = _short_runs(seed=2, run_length=12)
    rng = np.random.default_rng(0)
    exclude = {q: set(rng.choice(sorted(set(run[q]) | set(qrels[q])), 3)) for q in qrels}
    kept_qrels = {
        q: {d: v for d, v in docs.items() if d not in exclude[q]} for q, docs in qrels.items()
    }
    kept_run = {
        q: {d: v for d, v in docs.items() if d not in exclude[q]} for q, docs in run.items()
    }
    kw = dict(ks=(2, 20), betas=(0.5,), topk=("recall", "ndcg", "mrr", "map"))
    got = quiet(evaluate, qrels, run, exclude=exclude, **kw)
    as_dicts = {q: {d: 1 for d in docs} for q, docs in exclude.items()}
    assert np.array_equal(
        got.to_numpy(),
        quiet(evaluate, qrels, run, exclude=as_dicts, **kw).to_numpy(),
        equal_nan=True,
    )
    expected = quiet(evaluate, kept_qrels, kept_run, **kw)
    assert np.allclose(got.to_numpy(float), expected.loc[got.index].to_numpy(float), equal_nan=True)
    with pytest.raises(TypeError, match="exclude must be a dict"):
        evaluate(qrels, run, exclude=[1, 2])
    with pytest.raises(ValueError, match=r"exclude must be boolean .*2"):
        evaluate(qrels, run, exclude={"q00": {"d01": 2}})


# ----------------------------------------------------------------- long tables: checks


def _tables():
    scores = pd.DataFrame({"user": [1, 1, 2], "item": ["a", "b", "a"], "score": [0.3, 0.2, 0.1]})
    truth = pd.DataFrame({"user": [1, 2], "item": ["a", "b"]})
    return scores, truth


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (
            lambda s, t: (s, t.assign(user=pd.Series([1, None], dtype=object))),
            r"truth's user ids must not be missing; found None at row 1",
        ),
        (
            lambda s, t: (s.assign(item=["a", np.nan, "a"]), t),
            r"scores' item ids must not be missing; found nan at row 1",
        ),
        (
            lambda s, t: (s, t.assign(user=["1", "2"])),
            r"user ids .* one kind.*scores' are numbers, truth's are strings",
        ),
        (
            lambda s, t: (s.assign(item=[1, 2, 1]), t),
            r"item ids .* one kind.*scores' are numbers, truth's are strings",
        ),
    ],
)
def test_long_tables_refuse_missing_and_mismatched_ids(change, pattern):
    scores, truth = change(*_tables())
    with pytest.raises(ValueError, match=pattern):
        evaluate_long(scores, truth, ks=(1,))


def test_long_tables_refuse_nan_relevance_and_repeated_judgments():
    scores, truth = _tables()
    with pytest.raises(
        ValueError, match=r"relevance values must not be NaN; the first is at position 1"
    ):
        evaluate_long(scores, truth.assign(rel=[1.0, np.nan]), relevance="rel", ks=(1,))
    graded = pd.DataFrame({"user": [1, 1], "item": ["a", "a"], "rel": [1, 3]})
    with pytest.raises(
        ValueError, match=r"one relevance value per \(user, item\) pair; the pair \(1, 'a'\)"
    ):
        evaluate_long(scores, graded, relevance="rel", graded=True, ks=(1,))
    # a repeated pair without relevance values is the same positive twice: harmless
    twice = pd.concat([truth, truth.iloc[:1]])
    pd.testing.assert_frame_equal(
        evaluate_long(scores, twice, ks=(1,)), evaluate_long(scores, truth, ks=(1,))
    )


def test_object_scores_of_any_size_are_ranked_exactly():
    """Python ints above 2**64 in an object column: float64 would tie them (recall@1 1/3)."""
    big = 2**70
    scores = pd.DataFrame(
        {
            "user": [1, 1, 1],
            "item": ["a", "b", "c"],
            "score": np.array([big + 2, big + 1, big], dtype=object),
        }
    )
    truth = pd.DataFrame({"user": [1], "item": ["a"]})
    assert float(big + 2) == float(big)
    df = evaluate_long(scores, truth, ks=(1,), betas=())
    assert df.loc[1, "recall@1"] == 1.0 and df.loc[1, "auc"] == 1.0
    nullable = scores.assign(score=pd.array([3, 2, 1], dtype="Int64"))
    assert evaluate_long(nullable, truth, ks=(1,), betas=()).loc[1, "recall@1"] == 1.0
    with pytest.raises(ValueError, match="missing values"):
        evaluate_long(scores.assign(score=pd.array([3, None, 1], dtype="Int64")), truth, ks=(1,))
    with pytest.raises(TypeError, match="real numbers"):
        evaluate_long(scores.assign(score=np.array(["x", 1, 2], dtype=object)), truth, ks=(1,))


def test_unscored_miss_is_the_dict_rule_and_bottom_is_not():
    scores = pd.DataFrame({"user": ["u"] * 2, "item": ["a", "b"], "score": [0.9, 0.8]})
    truth = pd.DataFrame({"user": ["u", "u"], "item": ["a", "z"]})
    kw = dict(ks=(3,), betas=(), topk=("recall", "precision", "map", "mrr", "ndcg"))
    miss = evaluate_long(scores, truth, unscored="miss", **kw)
    as_dict = evaluate({"u": {"a": 1, "z": 1}}, {"u": {"a": 0.9, "b": 0.8}}, **kw)
    pd.testing.assert_frame_equal(miss, as_dict, check_names=False)
    bottom = evaluate_long(scores, truth, unscored="bottom", **kw)
    assert bottom.loc["u", "recall@3"] == 1.0  # z, ranked third, is a hit at K = 3
    assert miss.loc["u", "recall@3"] == 0.5
