"""The pre-registered guideline test (docs/guideline-test.md): M*(K), its slope, the verdict.

Input: the rows of a guideline study (``results/guideline_<dataset>.csv``): DNS(M, all) for
a grid of M and RNS, in a main arm and possibly an oracle arm (``exclude_heldout``), with
one selected epoch per K (``select_metric="ndcg@K"``) and several seeds. For each arm and
metric this module computes, exactly as pre-registered:

1. the weight decay of each configuration: at seed 0, the one with the higher mean over
   the K of the validation NDCG@K (a tie: the larger); the oracle arm uses the main arm's;
2. the discrete best M at each K, ``M*(K) = argmax_M mean_seeds metric@K`` (a tie: the
   smaller M);
3. a continuous ``log M*(K)``: the vertex of the parabola through the best grid point and
   its two neighbours in ``log M`` (the grid point itself at the grid's ends: censored);
4. the slope of ``log M*(K)`` on ``log K`` (least squares), with a 95% percentile
   bootstrap interval (seeds resampled with replacement within each M);
5. the decision: the guideline holds when M*(K) is non-decreasing and the interval lies
   above 0, is refuted when the interval lies below 0 (or contains 0 while M*(K)
   decreases), and is not shown otherwise; the theory's proportionality holds when the
   interval contains 1; the level holds when every ``M*(K) / K`` is within the peak law's
   factor (:data:`LEVEL_BOUNDS`).

A decision needs at least two seeds at every M: with one seed the bootstrap resamples the
same table every time, so its interval is a point and says nothing of the seeds' spread;
such an arm is reported as "no decision". A decision is "interim" while the arm is not yet
complete: its M differ in seed count, it lacks an M that another arm of the table has, or
it has fewer seeds than ``planned_seeds``. An interim word is a progress report, not the
pre-registered verdict.

An *exploratory* verdict (``exploratory=True``) is the same statistic on the grid's rows
together with an extension of the grid to larger M (:func:`extend`; the extension
pre-registered in docs/guideline-test.md, Deviations: :data:`EXTENSION_MS`,
:data:`EXTENSION_SEEDS` seeds per M). Its M differ in seed count by design, so it is
interim only while an M has fewer seeds than planned or no run yet; it is printed
"(exploratory)": a finding to follow up, not the pre-registered verdict.

References
----------
W. Shi et al., "On the Theories Behind Hard Negative Sampling for Recommendation",
WWW 2023: Theorem 1 (DNS(M, N) and OPAUC(M/N)), Theorem 3 (Top-K and OPAUC(K/n-)).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from opauc_sim.train import samplers

__all__ = [
    "EXTENSION",
    "EXTENSION_MS",
    "EXTENSION_SEEDS",
    "LEVEL_BOUNDS",
    "NO_DECISION",
    "Verdict",
    "arm_rows",
    "chosen_weight_decays",
    "continuous_log_m",
    "extend",
    "verdict",
    "verdict_markdown",
    "verdicts",
]

#: Bounds on M*(K)/K for "the level holds": a factor 2 around the random-ranking peak law's
#: beta_peak ~ 1.15 K/n (NDCG) and ~ 1.5 K/n (Recall) (docs/simulation.md).
LEVEL_BOUNDS = {"ndcg": (1.15 / 2, 1.15 * 2), "recall": (1.5 / 2, 1.5 * 2)}
N_BOOT = 2000
#: The decision word of an arm with fewer than two seeds at some M (module docstring).
NO_DECISION = "no decision"
#: The exploratory extension of the grid (docs/guideline-test.md, Deviations, 2026-12-03):
#: its M (weight decay 1e-2, no seed-0 choice) and its seeds per M.
EXTENSION_MS = (500, 1000, 2000)
EXTENSION_SEEDS = 3
#: The column :func:`extend` adds: True on the extension's rows.
EXTENSION = "extension"


def _is_full(df: pd.DataFrame) -> pd.Series:
    return (df["sampler"] != samplers.BASELINE) & (df["N"].astype(str) == samplers.ALL)


def _oracle(df: pd.DataFrame) -> pd.Series:
    if "exclude_heldout" not in df:
        return pd.Series(False, index=df.index)
    return df["exclude_heldout"].astype(str).str.lower().isin(("true", "1", "1.0"))


def study_ks(df: pd.DataFrame) -> list[int]:
    """The cut-offs K with a per-K selection (``best_epoch_ndcg@K`` columns)."""
    ks = [int(c.split("@")[1]) for c in df.columns if c.startswith("best_epoch_ndcg@")]
    return sorted(ks)


def chosen_weight_decays(df: pd.DataFrame) -> dict[tuple[str, int], float]:
    """``{(sampler, M): weight decay}`` chosen on the main arm's seed-0 rows."""
    ks = study_ks(df)
    main = df[~_oracle(df) & (df["seed"] == 0)]
    out = {}
    for (sampler, m), part in main.groupby(["sampler", "M"]):
        score = part[[f"valid_ndcg@{k}" for k in ks]].mean(axis=1)
        order = sorted(zip(score, part["weight_decay"], strict=True), reverse=True)
        out[(str(sampler), int(m))] = float(order[0][1])
    return out


def arm_rows(df: pd.DataFrame, oracle: bool) -> pd.DataFrame:
    """The rows of one arm at the chosen weight decays (DNS over all items and RNS)."""
    wds = chosen_weight_decays(df)
    part = df[(_oracle(df) == oracle) & (_is_full(df) | (df["sampler"] == samplers.BASELINE))]
    keep = [wds.get((str(r.sampler), int(r.M))) == float(r.weight_decay) for r in part.itertuples()]
    return part[np.asarray(keep, dtype=bool)] if len(part) else part


def extend(
    grid: pd.DataFrame, extension: pd.DataFrame, *, option: str = "--extend"
) -> pd.DataFrame:
    """The rows of a guideline study together with an extension of its grid of M.

    ``extension`` must be of the study's protocol (data set, recipe, training and cut-offs;
    :func:`opauc_sim.train.sweep_files.protocol_of`), hold DNS(M, all) rows only, at M the
    grid does not have, under ids the grid does not use. The union, whose column
    :data:`EXTENSION` marks the extension's rows, is read with
    ``verdict(..., exploratory=True)``.

    Raises
    ------
    ValueError
        One line naming ``option`` and what is wrong.
    """
    from opauc_sim.train.sweep_files import protocol_of

    where = f"{option}:"
    if not len(grid) or not _is_full(grid).any():
        raise ValueError(f"{where} the study holds no DNS(M, all) rows: there is no grid to extend")
    if not len(extension):
        raise ValueError(f"{where} the extension holds no finished row")
    if EXTENSION in grid:
        raise ValueError(f"{where} the study is already extended: extend the grid once")
    theirs, ours = protocol_of(extension), protocol_of(grid)
    diff = [
        f"{name}: {', '.join(sorted(v))}, the study's: {', '.join(sorted(ours[name]))}"
        for name, v in theirs.items()
        if v and ours.get(name) and v != ours[name]
    ]
    if diff:
        raise ValueError(f"{where} rows of another protocol than the study's ({'; '.join(diff)})")
    other = extension[~_is_full(extension)]
    if len(other):
        found = sorted({f"{s}(N={n})" for s, n in zip(other["sampler"], other["N"], strict=True)})
        raise ValueError(
            f"{where} an extension holds DNS(M, all) rows only, not {', '.join(found)}"
        )
    overlap = sorted(
        set(extension["M"].astype(int)) & set(grid.loc[_is_full(grid), "M"].astype(int))
    )
    if overlap:
        raise ValueError(
            f"{where} M = {', '.join(map(str, overlap))} is already in the study's grid: an "
            "extension adds M, it does not replace runs"
        )
    if "id" in grid and "id" in extension:
        shared = sorted(set(grid["id"].astype(str)) & set(extension["id"].astype(str)))
        if shared:
            raise ValueError(
                f"{where} {len(shared)} run id(s) are also the study's, e.g. {shared[0]!r}"
            )
    parts = [grid.assign(**{EXTENSION: False}), extension.assign(**{EXTENSION: True})]
    return pd.concat(parts, ignore_index=True)


def continuous_log_m(ms: np.ndarray, means: np.ndarray) -> tuple[float, int, bool]:
    """``(log M*, index of the best grid point, censored)`` from the seed means.

    ``ms`` ascending. The best point is the first maximum (a tie: the smaller M); inside
    the grid, the vertex of the parabola through it and its neighbours in ``log M``.
    """
    x = np.log(np.asarray(ms, dtype=float))
    y = np.asarray(means, dtype=float)
    b = int(np.nanargmax(y))
    if b == 0 or b == len(x) - 1:
        return float(x[b]), b, True
    x0, x1, x2 = x[b - 1 : b + 2]
    y0, y1, y2 = y[b - 1 : b + 2]
    # Vertex of the interpolating parabola (Lagrange form).
    num = (x1 - x0) ** 2 * (y1 - y2) - (x1 - x2) ** 2 * (y1 - y0)
    den = (x1 - x0) * (y1 - y2) - (x1 - x2) * (y1 - y0)
    if den == 0:  # flat: the grid point
        return float(x1), b, False
    return float(np.clip(x1 - 0.5 * num / den, x0, x2)), b, False


def _slope(log_m: np.ndarray, ks: Sequence[int]) -> float:
    """Least-squares slope of ``log_m`` on ``log K``; exactly 0 for a constant ``log_m``
    (a fit's round-off must not read as a positive slope)."""
    log_m = np.asarray(log_m, dtype=float)
    if np.ptp(log_m) == 0:
        return 0.0
    lk = np.log(np.asarray(ks, dtype=float))
    return float(np.polyfit(lk, log_m, 1)[0])


@dataclass(frozen=True)
class Verdict:
    """The guideline test of one arm and metric (see the module docstring).

    ``m_star`` maps K to the discrete best M; ``m_cont`` to the continuous one, and
    ``m_ci`` to its 95% bootstrap interval; ``censored`` to whether K's best lies at
    the grid's end; ``seeds`` maps M to its seed count; ``heldout`` maps M to the
    seed-mean held-out share among the top M; ``guideline`` is the pre-registered
    decision ("holds", "refuted", "not shown") or :data:`NO_DECISION`, ``interim`` and
    ``reason`` say whether the arm is still incomplete and why (:attr:`decision` prints
    all three).
    """

    arm: str
    metric: str
    ks: tuple[int, ...]
    m_star: dict[int, int]
    m_cont: dict[int, float]
    m_ci: dict[int, tuple[float, float]]
    censored: dict[int, bool]
    slope: float
    ci: tuple[float, float]
    guideline: str
    proportional: bool
    level: bool
    seeds: dict[int, int]
    heldout: dict[int, float]
    interim: bool
    reason: str = ""
    exploratory: bool = False

    @property
    def decision(self) -> str:
        """The verdict as printed: the decision, "interim" with why, or "no decision".

        >>> Verdict("main", "ndcg", (5,), {}, {}, {}, {}, 0.0, (0.0, 0.0), "no decision",
        ...         False, False, {1: 1, 2: 1}, {}, True, "1 seed per M").decision
        'no decision (1 seed per M)'
        """
        if self.guideline == NO_DECISION:
            return f"{NO_DECISION} ({self.reason})"
        word = f"{self.guideline} (exploratory)" if self.exploratory else self.guideline
        return f"{word}, interim ({self.reason})" if self.interim else word


def _means(table: dict[int, np.ndarray], ms: list[int], k_index: int) -> np.ndarray:
    return np.array([table[m][:, k_index].mean() for m in ms])


def verdict(
    df: pd.DataFrame,
    *,
    oracle: bool = False,
    metric: str = "ndcg",
    planned_seeds: int | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
    exploratory: bool = False,
) -> Verdict | None:
    """The pre-registered verdict of one arm on ``metric``; None without two M.

    ``planned_seeds``: the seeds per M the arm is to have; fewer make the verdict interim.
    Default: the study's plan for the table's data set
    (:func:`opauc_sim.train.datasets.guideline_seeds`), none for another data set.
    ``exploratory``: ``df`` is the grid with its extension (:func:`extend`); the verdict is
    marked so, each extension M is planned :data:`EXTENSION_SEEDS` seeds, and an arm
    without extension rows gives None (its verdict is the pre-registered one; module
    docstring).
    """
    if planned_seeds is None and "dataset" in df and df["dataset"].nunique() == 1:
        from opauc_sim.train.datasets import guideline_seeds

        planned_seeds = guideline_seeds(str(df["dataset"].iloc[0]), oracle=oracle)
    rows = arm_rows(df, oracle)
    dns = rows[_is_full(rows)]
    ks = study_ks(df)
    ms = sorted(int(m) for m in dns["M"].unique())
    if len(ms) < 2 or not ks:
        return None
    grid = {int(m) for m in df.loc[_is_full(df), "M"].unique()}
    plan: int | dict[int, int] | None = planned_seeds
    if exploratory:
        if not _extended(df, dns):
            return None  # this arm was not extended: its verdict is the pre-registered one
        grid, plan = _extension_plan(df, grid, planned_seeds)
    cols = [f"test_{metric}@{k}" for k in ks]
    table = {m: dns[dns["M"] == m][cols].to_numpy(float) for m in ms}
    log_m, censored, m_star = [], {}, {}
    for j, k in enumerate(ks):
        lm, b, cens = continuous_log_m(np.array(ms), _means(table, ms, j))
        log_m.append(lm)
        censored[k] = cens
        m_star[k] = ms[b]
    slope = _slope(np.array(log_m), ks)
    rng = np.random.default_rng(seed)
    boot = np.empty(n_boot)
    boot_m = np.empty((n_boot, len(ks)))
    for r in range(n_boot):
        sample = {m: v[rng.integers(0, len(v), len(v))] for m, v in table.items()}
        lms = [continuous_log_m(np.array(ms), _means(sample, ms, j))[0] for j in range(len(ks))]
        boot_m[r] = lms
        boot[r] = _slope(np.array(lms), ks)
    lo, hi = (float(q) for q in np.quantile(boot, [0.025, 0.975]))
    m_ci = {
        k: tuple(float(np.exp(q)) for q in np.quantile(boot_m[:, j], [0.025, 0.975]))
        for j, k in enumerate(ks)
    }
    stars = [m_star[k] for k in ks]
    rising = all(b >= a for a, b in itertools.pairwise(stars))
    falling = any(b < a for a, b in itertools.pairwise(stars))
    seeds = {m: len(v) for m, v in table.items()}
    interim, reason = _progress(seeds, grid, plan)
    if min(seeds.values()) < 2:
        guideline = NO_DECISION
    elif rising and lo > 0:
        guideline = "holds"
    elif hi < 0 or (lo <= 0 <= hi and falling):
        guideline = "refuted"
    else:
        guideline = "not shown"
    low, high = LEVEL_BOUNDS[metric]
    m_cont = {k: float(np.exp(v)) for k, v in zip(ks, log_m, strict=True)}
    heldout = {}
    if "heldout_share" in dns:
        heldout = {m: float(dns[dns["M"] == m]["heldout_share"].mean()) for m in ms}
    return Verdict(
        arm="oracle" if oracle else "main",
        metric=metric,
        ks=tuple(ks),
        m_star=m_star,
        m_cont=m_cont,
        m_ci=m_ci,
        censored=censored,
        slope=slope,
        ci=(lo, hi),
        guideline=guideline,
        proportional=lo <= 1.0 <= hi,
        level=all(low <= m_cont[k] / k <= high for k in ks),
        seeds=seeds,
        heldout=heldout,
        interim=interim,
        reason=reason,
        exploratory=exploratory,
    )


def _extended(df: pd.DataFrame, dns: pd.DataFrame) -> bool:
    """Whether the arm whose DNS rows are ``dns`` has rows of the extension of ``df``."""
    if EXTENSION not in df:
        raise ValueError(
            "exploratory=True reads a study with its extension (guideline.extend); "
            f"this table has no {EXTENSION!r} column"
        )
    return bool(dns[EXTENSION].astype(bool).any())


def _extension_plan(
    df: pd.DataFrame, grid: set[int], planned: int | None
) -> tuple[set[int], dict[int, int]]:
    """The M an extended arm is to have and the seeds planned per M: the grid's at
    ``planned``, the pre-registered extension's (:data:`EXTENSION_MS`, all of them once one
    is run) at :data:`EXTENSION_SEEDS`; another extension's M without a plan."""
    added = {int(m) for m in df.loc[df[EXTENSION].astype(bool), "M"]}
    added |= set(EXTENSION_MS) if added <= set(EXTENSION_MS) else set()
    base = {m: planned for m in grid - added if planned}
    return grid | added, base | {m: EXTENSION_SEEDS for m in added if m in EXTENSION_MS}


def _progress(
    seeds: dict[int, int], grid: set[int], planned: int | dict[int, int] | None
) -> tuple[bool, str]:
    """Whether an arm with ``seeds`` runs per M is interim, and why (module docstring).

    ``planned``: the seeds every M is to have, or per M (an exploratory table, whose M
    differ in plan), or None (no plan: every M is to have as many as the most)."""
    lo, hi = min(seeds.values()), max(seeds.values())
    counts = f"{lo} seed per M" if lo == hi == 1 else f"{lo}–{hi} seeds per M"
    counts = f"{lo} seeds per M" if lo == hi != 1 else counts
    missing = sorted(grid - set(seeds))
    why = []
    if isinstance(planned, dict):
        short = sorted(m for m, n in seeds.items() if n < planned.get(m, 0))
        if short:
            counts += f"; fewer than planned at M = {', '.join(map(str, short))}"
        if lo < 2 or short:
            why.append(counts)
    elif lo < 2 or lo != hi or (planned is not None and lo < planned):
        why.append(counts if planned is None else f"{counts} of {planned}")
    if missing:
        why.append(f"no run yet at M = {', '.join(map(str, missing))}")
    return bool(why), "; ".join(why)


def verdicts(df: pd.DataFrame, **kwargs) -> list[Verdict]:
    """:func:`verdict` for every arm present and both metrics."""
    out = []
    for oracle in (False, True):
        for metric in ("ndcg", "recall"):
            v = verdict(df, oracle=oracle, metric=metric, **kwargs)
            if v is not None:
                out.append(v)
    return out


def _fmt_m(v: Verdict, k: int) -> str:
    mark = "≥" if v.censored[k] and v.m_star[k] == max(v.seeds) else ""
    mark = "≤" if v.censored[k] and v.m_star[k] == min(v.seeds) else mark
    return f"{v.m_star[k]} ({mark}{v.m_cont[k]:.3g})"


def verdict_markdown(df: pd.DataFrame, *, dataset: str = "", **kwargs) -> str:
    """The verdict table: per arm and metric, M*(K) (discrete, continuous), the slope
    with its CI, the decisions, the seed counts and the held-out shares."""
    vs = verdicts(df, **kwargs)
    if not vs:
        return "No guideline rows (DNS over all items at two or more M) in this table."
    ks = vs[0].ks
    head = " | ".join(f"M*({k})" for k in ks)
    name = "Guideline test" if not vs[0].exploratory else "**Exploratory** guideline test"
    scope = ""
    if vs[0].exploratory:
        ms = sorted({m for v in vs for m in v.seeds})
        scope = (
            f", M = {ms[0]} to {ms[-1]}: the grid with its extension (Deviations), a finding "
            "to follow up, not the pre-registered verdict"
        )
    lines = [
        f"{name}{f' on {dataset}' if dataset else ''}{scope} (docs/guideline-test.md): "
        "M*(K) = argmax of the seed mean (continuous vertex in brackets; ≤/≥: at the "
        "grid's end), slope of log M* on log K with a 95% bootstrap CI.",
        "",
        f"| arm | metric | {head} | slope [95% CI] | guideline | slope 1 | level | seeds |",
        "| --- | --- |" + " ---: |" * len(ks) + " --- | --- | --- | --- | --- |",
    ]
    for v in vs:
        cells = " | ".join(_fmt_m(v, k) for k in ks)
        seeds = f"{min(v.seeds.values())}–{max(v.seeds.values())}"
        verdict_word = v.decision
        lines.append(
            f"| {v.arm} | {v.metric.upper() if v.metric == 'ndcg' else 'Recall'} | {cells} "
            f"| {v.slope:+.2f} [{v.ci[0]:+.2f}, {v.ci[1]:+.2f}] | {verdict_word} "
            f"| {'yes' if v.proportional else 'no'} | {'yes' if v.level else 'no'} | {seeds} |"
        )
    shares = [v for v in vs if v.metric == "ndcg" and v.heldout]
    if shares:
        ms = sorted(shares[0].heldout)
        lines += [
            "",
            "Held-out share among the top M of the non-training items at the last epoch "
            "(oracle arm: what it would have taken):",
            "",
            "| arm | " + " | ".join(f"M={m}" for m in ms) + " |",
            "| --- |" + " ---: |" * len(ms),
        ]
        for v in shares:
            lines.append(
                f"| {v.arm} | "
                + " | ".join(f"{100 * v.heldout.get(m, np.nan):.1f}%" for m in ms)
                + " |"
            )
    return "\n".join(lines)


def batching_control(user: pd.DataFrame, pair: pd.DataFrame, *, k: int = 50) -> pd.DataFrame:
    """The pre-registered batching control: user-batched runs against pair-batched ones.

    ``user`` holds runs with ``batching="user"``, ``pair`` the committed pair-batched runs
    of the same configurations (sampler, M, N, weight decay, recipe); rows pair by seed.
    Returns one row per configuration: ``label``, ``n`` (paired seeds), and for NDCG@k and
    Recall@k the pair-batched mean, the mean paired difference user − pair, its paired
    t-test p-value (:mod:`opauc_sim.stats`) and ``immaterial`` (|difference| below 2% of
    the pair-batched mean, the pre-registered rule).
    """
    from opauc_sim.train import summary as S

    rows = []
    keys = ["sampler", "M", "N", "weight_decay", "authors_code"]
    for _, mine in user.groupby(keys, sort=False):
        first = mine.iloc[0]
        theirs = pair
        for key in keys:
            theirs = theirs[S._same(theirs[key], first[key])]
        both = pd.merge(mine, theirs, on="seed", how="inner", suffixes=("_user", "_pair"))
        row = {"label": first["label"], "n": len(both)}  # pairs by (training and split) seed
        for metric in ("ndcg", "recall"):
            col = f"test_{metric}@{k}"
            d = (both[f"{col}_user"] - both[f"{col}_pair"]).to_numpy(float)
            base = float(both[f"{col}_pair"].mean()) if len(both) else np.nan
            row[f"{metric}_pair"] = base
            row[f"{metric}_diff"] = float(d.mean()) if len(d) else np.nan
            row[f"{metric}_p"] = S.paired_p(d)
            row[f"{metric}_immaterial"] = bool(abs(row[f"{metric}_diff"]) < 0.02 * base)
        rows.append(row)
    return pd.DataFrame(rows)
