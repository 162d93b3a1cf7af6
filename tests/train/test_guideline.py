"""The pre-registered guideline statistic (opauc_sim.train.guideline) on hand-built tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from opauc_sim.train import guideline as G

KS = (5, 10, 20, 50, 100)
MS = (1, 2, 5, 10, 20, 50, 100, 200)


def _rows(peak_of_k, *, seeds=3, oracle=False, noise=0.0, wds=(0.01,), seed=0, ms=MS, rns=True):
    """Rows whose test NDCG@K is a parabola in log M peaking at ``peak_of_k(K)``."""
    rng = np.random.default_rng(seed)
    rows = []
    for m in ((None,) if rns else ()) + tuple(ms):
        for s in range(seeds):
            for wd in wds:
                row = {
                    "id": f"{m}-{s}-{wd}-{oracle}",
                    "sampler": "rns" if m is None else "dns",
                    "M": 1 if m is None else m,
                    "N": 1 if m is None else "all",
                    "weight_decay": wd,
                    "seed": s,
                    "exclude_heldout": oracle,
                    "heldout_share": np.nan if m is None else 0.01 * m**0.5,
                }
                for k in KS:
                    x = 0.0 if m is None else np.log(m) - np.log(peak_of_k(k))
                    value = 0.3 - 0.01 * x**2 + noise * rng.normal() + (0.001 if wd == 0.01 else 0)
                    for metric in ("ndcg", "recall"):
                        row[f"test_{metric}@{k}"] = value
                        row[f"valid_{metric}@{k}"] = value
                    row[f"best_epoch_ndcg@{k}"] = 10
                rows.append(row)
    return pd.DataFrame(rows)


def test_parabola_vertex_is_exact_for_a_parabola():
    ms = np.array(MS)
    x = np.log(ms)
    for peak in (3.0, 7.0, 33.0):
        y = -((x - np.log(peak)) ** 2)
        got, b, censored = G.continuous_log_m(ms, y)
        assert not censored
        assert got == pytest.approx(np.log(peak), abs=1e-12)
        assert ms[b - 1] <= peak <= ms[b + 1]


def test_edges_are_censored_and_ties_go_to_the_smaller_m():
    ms = np.array(MS)
    y = np.linspace(0, 1, len(ms))
    assert G.continuous_log_m(ms, y) == (pytest.approx(np.log(200)), 7, True)
    flat = np.ones(len(ms))
    assert G.continuous_log_m(ms, flat)[1:] == (0, True)


def test_m_star_proportional_to_k_gives_slope_one_and_the_guideline():
    df = _rows(lambda k: 1.2 * k, noise=0.0005)
    v = G.verdict(df, metric="ndcg", n_boot=300)
    assert [v.m_star[k] for k in KS] == sorted(v.m_star[k] for k in KS)
    assert v.slope == pytest.approx(1.0, abs=0.05)
    assert v.guideline == "holds" and v.proportional and v.level
    assert v.seeds == dict.fromkeys(MS, 3)
    assert v.heldout[100] == pytest.approx(0.1)


def test_a_fixed_peak_is_not_the_guideline_and_a_falling_one_refutes_it():
    flat = G.verdict(_rows(lambda k: 10.0, noise=0.002), n_boot=300)
    assert flat.guideline in ("not shown", "refuted") and not flat.proportional
    assert abs(flat.slope) < 0.3
    falling = G.verdict(_rows(lambda k: 1000.0 / k, noise=0.0005), n_boot=300)
    assert falling.slope < 0 and falling.guideline == "refuted"


def test_weight_decay_is_chosen_on_seed_0_validation_and_shared_with_the_oracle():
    main = _rows(lambda k: k, wds=(0.01, 0.001))
    oracle = _rows(lambda k: k, oracle=True, wds=(0.01,))
    df = pd.concat([main, oracle], ignore_index=True)
    assert set(G.chosen_weight_decays(df).values()) == {0.01}
    assert (G.arm_rows(df, oracle=False)["weight_decay"] == 0.01).all()
    arms = {v.arm for v in G.verdicts(df, n_boot=50)}
    assert arms == {"main", "oracle"}


def test_interim_when_seeds_are_missing_and_markdown_names_every_k():
    df = _rows(lambda k: k, seeds=2)
    v = G.verdict(df, planned_seeds=5, n_boot=50)
    assert v.interim
    text = G.verdict_markdown(df, dataset="toy", n_boot=50)
    assert all(f"M*({k})" in text for k in KS) and "toy" in text
    assert "No guideline rows" in G.verdict_markdown(df[df["sampler"] == "rns"])


def test_a_peak_at_the_grid_end_for_every_k_has_slope_zero_not_the_guideline():
    edge = G.verdict(_rows(lambda k: 1000.0), n_boot=100)
    assert all(edge.censored.values()) and set(edge.m_star.values()) == {200}
    assert edge.slope == 0.0 and edge.ci == (0.0, 0.0)
    assert edge.guideline == "not shown"


def test_batching_control_pairs_by_seed_and_applies_the_two_percent_rule():
    def runs(batching, shift):
        return pd.DataFrame(
            {
                "label": "RNS",
                "sampler": "rns",
                "M": 1,
                "N": 1,
                "weight_decay": 0.001,
                "authors_code": True,
                "batching": batching,
                "seed": [0, 1, 2],
                "test_ndcg@50": np.array([0.140, 0.142, 0.144]) + shift,
                "test_recall@50": np.array([0.230, 0.238, 0.240]) + 3 * shift,
            }
        )

    t = G.batching_control(runs("user", 0.001), runs("pair", 0.0)).iloc[0]
    assert t["n"] == 3 and t["ndcg_diff"] == pytest.approx(0.001)
    assert t["ndcg_immaterial"] and t["recall_immaterial"]  # 0.001 < 2% of 0.142
    t = G.batching_control(runs("user", 0.005), runs("pair", 0.0)).iloc[0]
    assert not t["ndcg_immaterial"]  # 0.005 > 2% of 0.142


def test_one_seed_per_m_is_no_decision_whatever_the_slope():
    """With one seed the bootstrap interval is a point: the rising slope below printed
    "holds" on seed 0 alone (the ML-1M oracle arm, 2026-12-02)."""
    v = G.verdict(_rows(lambda k: 1.2 * k, seeds=1), n_boot=50)
    assert v.slope == pytest.approx(1.0, abs=0.05) and v.ci[0] == v.ci[1]
    assert v.guideline == G.NO_DECISION and v.interim
    assert v.decision == "no decision (1 seed per M)"
    assert "| no decision (1 seed per M) |" in G.verdict_markdown(
        _rows(lambda k: 1.2 * k, seeds=1), n_boot=50
    )


def test_an_arm_with_unequal_seeds_or_missing_m_is_interim():
    full = _rows(lambda k: 1.2 * k, seeds=3, noise=0.0005)
    v = G.verdict(full, n_boot=100)
    assert v.decision == "holds" and not v.interim and v.reason == ""
    # one M with a seed fewer: a decision, marked interim
    uneven = full.drop(full.index[(full["M"] == 50) & (full["seed"] == 2)])
    v = G.verdict(uneven, n_boot=100)
    assert v.interim and v.decision == "holds, interim (2–3 seeds per M)"
    # the oracle arm lacks M = 100 and 200 that the main arm has
    oracle = _rows(lambda k: 1.2 * k, seeds=3, noise=0.0005, oracle=True)
    both = pd.concat([full, oracle[~oracle["M"].isin([100, 200])]], ignore_index=True)
    v = G.verdict(both, oracle=True, n_boot=100)
    assert v.interim and v.reason == "no run yet at M = 100, 200"
    assert not G.verdict(both, oracle=False, n_boot=100).interim
    # planned seeds not reached
    v = G.verdict(full, planned_seeds=5, n_boot=100)
    assert v.decision == "holds, interim (3 seeds per M of 5)"


def test_the_studys_plan_for_the_data_set_makes_a_short_arm_interim():
    """report and the figures pass no plan: the verdict takes the pre-registered seeds
    of the table's data set from the registry (Gowalla: 5 main, 3 oracle), so Gowalla's
    arm at 2 seeds printed "not shown" as if final."""
    from opauc_sim.train.datasets import GUIDELINE_SEEDS, guideline_seeds

    full = _rows(lambda k: 1.2 * k, seeds=3, noise=0.0005)
    oracle = _rows(lambda k: 1.2 * k, seeds=3, noise=0.0005, oracle=True)
    both = pd.concat([full, oracle], ignore_index=True)
    assert not G.verdict(both, n_boot=100).interim  # a data set without a plan
    both["dataset"] = "gowalla"
    assert G.verdict(both, n_boot=100).decision == "holds, interim (3 seeds per M of 5)"
    assert G.verdict(both, oracle=True, n_boot=100).decision == "holds"  # 3 of 3
    assert G.verdict(both, planned_seeds=3, n_boot=100).decision == "holds"  # explicit wins
    both["dataset"] = "yelp2018"
    assert G.verdict(both, oracle=True, n_boot=100).decision == "holds"  # no oracle plan
    assert guideline_seeds("yelp2018", oracle=True) is None and guideline_seeds("x") is None
    assert set(GUIDELINE_SEEDS) == {"gowalla", "yelp2018", "ml-1m"}


def _extended_study(ext_seeds=3):
    """Gowalla-like: a main arm (5 seeds) and an oracle arm whose peak lies past the grid
    for the larger K (M* = 10 K), and an extension of the main arm to M = 500-2000."""
    peak = lambda k: 10 * k  # noqa: E731
    main = _rows(peak, seeds=5, noise=0.0005)
    oracle = _rows(peak, seeds=3, noise=0.0005, oracle=True, seed=1)
    ext = _rows(peak, seeds=ext_seeds, noise=0.0005, ms=G.EXTENSION_MS, rns=False, seed=2)
    study = pd.concat([main, oracle], ignore_index=True).assign(dataset="gowalla")
    return study, ext.assign(dataset="gowalla")


def test_the_extension_moves_a_censored_best_m_into_the_grid_and_is_marked_exploratory():
    study, ext = _extended_study()
    grid_only = G.verdict(study, n_boot=100)
    assert grid_only.m_star[100] == 200 and grid_only.censored[100]  # at the grid's end
    union = G.extend(study, ext)
    assert union[G.EXTENSION].sum() == len(ext) and len(union) == len(study) + len(ext)
    v = G.verdict(union, n_boot=200, exploratory=True)
    assert v.exploratory and not v.interim
    assert v.m_star[100] == 1000 and not v.censored[100] and v.m_star[5] == 50
    assert v.seeds == {**dict.fromkeys(MS, 5), **dict.fromkeys(G.EXTENSION_MS, 3)}
    assert v.decision == "holds (exploratory)" and 0.8 < v.slope < 1.2
    # the oracle arm was not extended: no exploratory verdict of it (its own is unchanged)
    assert G.verdict(union, oracle=True, n_boot=100, exploratory=True) is None
    assert [x.arm for x in G.verdicts(union, n_boot=50, exploratory=True)] == ["main", "main"]
    text = G.verdict_markdown(union, dataset="gowalla", n_boot=50, exploratory=True)
    assert text.startswith("**Exploratory** guideline test on gowalla, M = 1 to 2000")
    assert "not the pre-registered verdict" in text and "| 1000 (" in text
    assert "| holds (exploratory) |" in text and "| 3–5 |" in text
    with pytest.raises(ValueError, match="exploratory=True reads a study with its extension"):
        G.verdict(study, exploratory=True)


def test_an_unfinished_extension_is_interim_and_names_what_is_missing():
    study, ext = _extended_study()
    short = ext.drop(ext.index[(ext["M"] == 2000) & (ext["seed"] == 2)])
    v = G.verdict(G.extend(study, short), n_boot=100, exploratory=True)
    assert v.interim and v.reason == "2–5 seeds per M; fewer than planned at M = 2000"
    assert v.decision.startswith("holds (exploratory), interim (")
    v = G.verdict(G.extend(study, ext[ext["M"] != 1000]), n_boot=100, exploratory=True)
    assert v.interim and v.reason == "no run yet at M = 1000"
    one = _extended_study(ext_seeds=1)
    v = G.verdict(G.extend(*one), n_boot=100, exploratory=True)
    assert v.decision.startswith("no decision (1–5 seeds per M; fewer than planned at M = 500")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s, e: (s, e.assign(dataset="ml-1m")), r"another protocol.*dataset: ml-1m"),
        (lambda s, e: (s, e[[c for c in e if not c.endswith("@100")]]), "another protocol.*ks"),
        (lambda s, e: (s, pd.concat([e, s[s["sampler"] == "rns"]])), r"DNS\(M, all\) rows only"),
        (lambda s, e: (s, e.assign(M=e["M"].where(e["M"] != 500, 200))), "M = 200 is already"),
        (lambda s, e: (s, e.assign(id=s["id"].iloc[3])), r"run id\(s\) are also the study's"),
        (lambda s, e: (s[s["sampler"] == "rns"], e), "no DNS.*no grid to extend"),
        (lambda s, e: (s, e.iloc[:0]), "holds no finished row"),
        (lambda s, e: (G.extend(s, e), e), "already extended"),
    ],
)
def test_an_extension_that_is_not_one_is_refused_in_one_line(change, message):
    study, ext = change(*_extended_study())
    with pytest.raises(ValueError, match=message) as info:
        G.extend(study, ext, option="--extend 'x.csv'")
    assert str(info.value).startswith("--extend 'x.csv':") and "\n" not in str(info.value)
