r"""Per-user metric statistics: means with confidence intervals, and paired model comparison.

Evaluation returns one value per user (:func:`opauc_sim.metrics.evaluate`); a paper reports
their mean. This module adds what a reviewer asks for next:

* :func:`summarize` — mean, standard error, the Student-t interval and a percentile
  bootstrap interval for every metric column;
* :func:`compare` — two models evaluated on the same users: the paired t-test, the Wilcoxon
  signed-rank test and Fisher's randomisation (sign-flip) test, each p-value corrected over
  the metrics by Holm or Bonferroni, with effect sizes; the result prints as ranx's
  ``compare`` report does, and has :meth:`Comparison.to_latex`.

Rows where a metric is NaN (users with no positives, say) are left out of that metric, and,
in :func:`compare`, users are paired by the index of the two tables.

Degenerate differences
----------------------
One rule, :func:`degenerate`, decides every paired test here (:func:`paired_ttest`,
:func:`paired_wilcoxon`, :func:`paired_randomization`, and so :func:`compare`) when the
differences ``d = b - a`` have **zero variance** (all equal, up to the rounding of the
subtraction: ``max(d) - min(d) <= 8 eps max|d|``):

* every difference is 0: there is no difference to test; every test gives statistic 0 and
  ``p = 1``;
* every difference equals one nonzero value ``c``: the t statistic ``mean / (sd / sqrt(n))``
  is undefined (0 in the denominator; scipy's ``ttest_rel`` gives ``t = inf, p = 0``, or a
  huge t from the rounding, and so declares any two models different); the t-test gives
  ``t = p = NaN`` and a :class:`DegenerateTestWarning` naming the cause. The Wilcoxon and
  randomisation tests need no variance and keep their exact values (all ``n`` signs agree:
  the sign-flip test's ``p = 2^(1 - n)``, 0.5 for two users).

References
----------
1. M. D. Smucker, J. Allan and B. Carterette, "A Comparison of Statistical Significance
   Tests for Information Retrieval Evaluation", CIKM 2007.
2. S. Holm, "A Simple Sequentially Rejective Multiple Test Procedure", Scand. J. Statist.
   6(2), 1979.
3. B. Efron and R. Tibshirani, *An Introduction to the Bootstrap*, 1993 (percentile
   interval).
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from opauc_sim._validation import (
    as_generator,
    check_choice,
    check_int,
    check_real,
    find_stack_level,
)

__all__ = [
    "Comparison",
    "DegenerateTestWarning",
    "compare",
    "degenerate",
    "paired_randomization",
    "paired_ttest",
    "paired_wilcoxon",
    "summarize",
]

# Columns of evaluate's output that are counts, not metrics.
_NOT_METRICS = ("n_pos", "n_neg", "user")
TESTS = ("t", "wilcoxon", "randomization")
CORRECTIONS = ("holm", "bonferroni", None)
# Up to this many pairs the randomisation test enumerates every sign pattern (exact).
_EXACT_MAX = 16


def _as_frame(name: str, values) -> pd.DataFrame:
    if isinstance(values, pd.DataFrame):
        frame = values
    elif isinstance(values, pd.Series):
        frame = values.to_frame(values.name if values.name is not None else "value")
    else:
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim != 1:
            raise ValueError(f"{name} must be a DataFrame or a 1-D array, got shape {arr.shape}")
        frame = pd.DataFrame({"value": arr})
    cols = [c for c in frame.columns if c not in _NOT_METRICS]
    if not cols:
        raise ValueError(f"{name} has no metric column (columns: {list(frame.columns)!r})")
    bad = [c for c in cols if frame[c].dtype.kind not in "biuf"]
    if bad:
        raise TypeError(f"{name}'s column {bad[0]!r} is not numeric (dtype {frame[bad[0]].dtype})")
    return frame[cols].astype(np.float64)


def summarize(per_user, *, confidence: float = 0.95, n_boot: int = 10_000, seed=0) -> pd.DataFrame:
    r"""Mean, standard error and two confidence intervals for every metric column.

    Parameters
    ----------
    per_user : pandas.DataFrame, Series or 1-D array
        One row per user, e.g. the output of :func:`opauc_sim.metrics.evaluate`; the count
        columns ``n_pos``/``n_neg`` are skipped. NaN values are left out, column by column.
    confidence : float, default 0.95
        Coverage of both intervals, in ``(0, 1)``.
    n_boot : int, default 10000
        Bootstrap resamples.
    seed : int, Generator or None, default 0
        Seed of the bootstrap (the t interval needs none).

    Returns
    -------
    pandas.DataFrame
        Indexed by metric, columns ``n``, ``mean``, ``std`` (``ddof=1``), ``se``
        (``std / sqrt(n)``), ``t_low``, ``t_high`` (``mean -+ t_{(1+c)/2, n-1} se``),
        ``boot_low``, ``boot_high`` (percentiles ``(1 -+ c)/2`` of the means of ``n_boot``
        resamples of the users with replacement). Fewer than 2 values give NaN intervals.

    Examples
    --------
    >>> df = summarize([0.2, 0.4, 0.6, 0.8], n_boot=200)
    >>> df.loc["value", ["n", "mean", "se"]].round(4).tolist()
    [4.0, 0.5, 0.1291]
    >>> round(float(df.loc["value", "t_high"]), 4)  # 0.5 + 3.1824 * 0.1291
    0.9109
    """
    confidence = check_real(
        "confidence", confidence, low=0.0, high=1.0, low_open=True, high_open=True
    )
    n_boot = check_int("n_boot", n_boot, low=1)
    rng = as_generator(seed)
    frame = _as_frame("per_user", per_user)
    rows = {}
    lo_q, hi_q = (1 - confidence) / 2, (1 + confidence) / 2
    for col in frame.columns:
        x = frame[col].to_numpy()
        x = x[~np.isnan(x)]
        n = len(x)
        mean = float(x.mean()) if n else math.nan
        std = float(x.std(ddof=1)) if n > 1 else math.nan
        se = std / math.sqrt(n) if n > 1 else math.nan
        t_low = t_high = boot_low = boot_high = math.nan
        if n > 1:
            half = float(sps.t.ppf(hi_q, n - 1)) * se
            t_low, t_high = mean - half, mean + half
            means = _bootstrap_means(x, n_boot, rng)
            boot_low, boot_high = (float(v) for v in np.quantile(means, [lo_q, hi_q]))
        rows[col] = {
            "n": n,
            "mean": mean,
            "std": std,
            "se": se,
            "t_low": t_low,
            "t_high": t_high,
            "boot_low": boot_low,
            "boot_high": boot_high,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def _bootstrap_means(x: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``n_boot`` resamples, in batches so memory stays near 8 MB."""
    n = len(x)
    batch = max(1, 1_000_000 // n)
    out = np.empty(n_boot)
    for start in range(0, n_boot, batch):
        m = min(batch, n_boot - start)
        out[start : start + m] = x[rng.integers(0, n, size=(m, n))].mean(axis=1)
    return out


class DegenerateTestWarning(UserWarning):
    """A paired test met differences with zero variance and a nonzero mean: undefined."""


def _differences(diffs) -> np.ndarray:
    d = np.asarray(diffs, dtype=np.float64)
    if d.ndim != 1:
        raise ValueError(f"diffs must be 1-D, got shape {d.shape}")
    if np.isnan(d).any():
        raise ValueError("diffs must not hold NaN (leave those pairs out)")
    return d


def degenerate(diffs) -> str | None:
    """The rule for degenerate paired differences (see the module docstring).

    Returns ``"zero"`` when every difference is 0, ``"constant"`` when they all equal one
    nonzero value up to the rounding of a subtraction (``max - min <= 8 eps max|d|``), and
    None otherwise (also for fewer than 2 differences, where no test is defined).

    Examples
    --------
    >>> degenerate([0.2 - 0.1, 0.3 - 0.2])  # +0.1 twice, up to rounding
    'constant'
    >>> degenerate([0.0, 0.0]), degenerate([0.1, 0.2])
    ('zero', None)
    """
    d = _differences(diffs)
    if len(d) < 2:
        return None
    scale = float(np.abs(d).max())
    if scale == 0.0:
        return "zero"
    if float(d.max() - d.min()) <= 8 * np.finfo(np.float64).eps * scale:
        return "constant"
    return None


def _warn_constant(d: np.ndarray, what: str) -> None:
    warnings.warn(
        f"{what}: all {len(d)} paired differences equal {float(d.mean()):.6g} (zero "
        "variance), so the t statistic is undefined; t and p are NaN (the Wilcoxon and "
        "randomisation tests stay defined)",
        DegenerateTestWarning,
        stacklevel=find_stack_level(),
    )


def paired_ttest(diffs, *, what: str = "paired t-test") -> tuple[float, float]:
    """The paired Student t-test of differences ``d = b - a``: ``(t, p)``, two-sided.

    ``t = mean(d) / (sd(d) / sqrt(n))`` (``ddof = 1``) and ``p = 2 P(T_{n-1} > |t|)``,
    scipy's ``ttest_rel(b, a)``, except on degenerate differences (:func:`degenerate`):
    all 0 gives ``(0.0, 1.0)``; all equal to ``c != 0`` gives ``(nan, nan)`` and a
    :class:`DegenerateTestWarning` (its text begins with ``what``). Fewer than 2
    differences give ``(nan, nan)``.

    Examples
    --------
    >>> paired_ttest([0.1, 0.3, 0.2])[1] < 0.1
    True
    >>> paired_ttest([0.0, 0.0])
    (0.0, 1.0)
    """
    d = _differences(diffs)
    n = len(d)
    if n < 2:
        return math.nan, math.nan
    kind = degenerate(d)
    if kind == "zero":
        return 0.0, 1.0
    if kind == "constant":
        _warn_constant(d, what)
        return math.nan, math.nan
    t = d.mean() / (d.std(ddof=1) / math.sqrt(n))
    return float(t), float(2 * sps.t.sf(abs(t), n - 1))


def paired_wilcoxon(diffs) -> tuple[float, float]:
    """The Wilcoxon signed-rank test of differences ``d``: ``(statistic, p)``.

    ``scipy.stats.wilcoxon(d)`` (zero differences dropped, its default ``"wilcox"`` rule);
    degenerate differences (:func:`degenerate`): all 0 gives ``(0.0, 1.0)``, a constant
    stays defined. No differences give ``(nan, nan)``.
    """
    d = _differences(diffs)
    if len(d) == 0:
        return math.nan, math.nan
    if not np.any(d != 0):
        return 0.0, 1.0
    res = sps.wilcoxon(d)
    return float(res.statistic), float(res.pvalue)


def paired_randomization(diffs, n_permutations: int = 10_000, seed=0) -> tuple[float, float]:
    """Fisher's paired randomisation test of ``|mean(d)|`` under random sign flips.

    Exact (every sign pattern) up to 16 pairs; else Monte Carlo, with
    ``p = (1 + #{|mean(d*)| >= |mean(d)|}) / (1 + n_permutations)``, which is never 0 and is
    a valid p-value (Phipson & Smyth 2010). Degenerate differences (:func:`degenerate`):
    all 0 gives ``(0.0, 1.0)``; a constant stays defined (``p = 2^(1-n)`` when exact).
    Returns ``(|mean(d)|, p)``; no differences give ``(nan, nan)``.
    """
    d = _differences(diffs)
    n_permutations = check_int("n_permutations", n_permutations, low=1)
    return _randomization(d, n_permutations, as_generator(seed))


def _randomization(d: np.ndarray, n_permutations: int, rng: np.random.Generator):
    n = len(d)
    if n == 0:
        return math.nan, math.nan
    if degenerate(d) == "zero" or (n == 1 and d[0] == 0):
        return 0.0, 1.0
    observed = abs(d.sum())
    tol = 1e-9 * max(float(np.abs(d).sum()), 1e-300)
    if n <= _EXACT_MAX:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        sums = np.abs(signs @ d)
        return observed / n, float(np.mean(sums >= observed - tol))
    count = 0
    batch = max(1, 1_000_000 // n)
    for start in range(0, n_permutations, batch):
        m = min(batch, n_permutations - start)
        signs = rng.integers(0, 2, size=(m, n)) * 2.0 - 1.0
        count += int(np.sum(np.abs(signs @ d) >= observed - tol))
    return observed / n, (1 + count) / (1 + n_permutations)


def _adjust(p: np.ndarray, correction: str | None) -> np.ndarray:
    """Holm (step-down) or Bonferroni adjusted p-values; NaN stays NaN, not counted."""
    out = p.copy()
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if correction is None or m == 0:
        return out
    q = p[ok]
    if correction == "bonferroni":
        out[ok] = np.minimum(q * m, 1.0)
        return out
    order = np.argsort(q, kind="stable")
    adj = np.maximum.accumulate((m - np.arange(m)) * q[order])
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


@dataclass
class Comparison:
    """Result of :func:`compare`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per metric: ``n`` (pairs), ``mean_<a>``, ``mean_<b>``, ``diff``
        (``mean_b - mean_a``), ``rel_diff`` (``diff / mean_a``), ``d_z`` (Cohen's paired
        effect size, ``mean(d) / std(d)``), ``rank_biserial`` (matched-pairs rank-biserial
        correlation, from the Wilcoxon ranks), and per test ``<test>_stat``, ``<test>_p``
        and ``<test>_p_adj`` (corrected over the metrics).
    names : tuple of str
        The two models' names.
    stat_test : str
        The test whose corrected p-value marks significance in the report.
    alpha : float
        Significance level of the report.
    """

    table: pd.DataFrame
    names: tuple[str, str]
    stat_test: str
    alpha: float

    def significant(self) -> pd.Series:
        """Per metric, whether the corrected p-value of ``stat_test`` is at most ``alpha``."""
        return self.table[f"{self.stat_test}_p_adj"] <= self.alpha

    def report(self, digits: int = 4) -> pd.DataFrame:
        """ranx's report shape: one row per model, one column per metric, the mean with a
        superscript letter (``a``, ``b``) of the model it is significantly better than."""
        letters = ("a", "b")
        sig = self.significant()
        rows = {}
        for i, name in enumerate(self.names):
            other = 1 - i
            cells = {}
            for metric, row in self.table.iterrows():
                mine, theirs = row[f"mean_{name}"], row[f"mean_{self.names[other]}"]
                mark = letters[other] if sig[metric] and mine > theirs else ""
                cells[metric] = f"{mine:.{digits}f}" + (f"^{mark}" if mark else "")
            rows[f"{letters[i]} {name}"] = cells
        return pd.DataFrame.from_dict(rows, orient="index")

    def __str__(self) -> str:
        corr = self.table.attrs.get("correction")
        foot = (
            f"Superscript: significantly better than that model ({self.stat_test} test, "
            f"{corr or 'no'} correction, p <= {self.alpha})."
        )
        return f"{self.report().to_string()}\n{foot}"

    def to_latex(self, digits: int = 4, caption: str | None = None) -> str:
        """The report as a LaTeX ``table`` (booktabs), best mean per metric in bold."""
        rep = self.report(digits)
        metrics = list(rep.columns)
        lines = [
            "\\begin{table}[t]",
            "\\centering",
            "\\begin{tabular}{l" + "c" * len(metrics) + "}",
            "\\toprule",
            " & ".join(["Model", *(_tex(m) for m in metrics)]) + " \\\\",
            "\\midrule",
        ]
        best = {
            m: max(self.names, key=lambda n, m=m: self.table.loc[m, f"mean_{n}"]) for m in metrics
        }
        for label, name in zip(rep.index, self.names, strict=True):
            cells = []
            for m in metrics:
                value, _, mark = rep.loc[label, m].partition("^")
                cell = f"\\textbf{{{value}}}" if best[m] == name else value
                if mark:
                    cell += f"\\textsuperscript{{{mark}}}"
                cells.append(cell)
            lines.append(" & ".join([_tex(label), *cells]) + " \\\\")
        lines += ["\\bottomrule", "\\end{tabular}"]
        if caption:
            lines.append(f"\\caption{{{_tex(caption)}}}")
        lines.append("\\end{table}")
        return "\n".join(lines)


def _tex(text: str) -> str:
    for char, rep in (
        ("\\", "\\textbackslash{}"),
        ("_", "\\_"),
        ("%", "\\%"),
        ("&", "\\&"),
        ("#", "\\#"),
        ("@", "@"),
    ):
        text = text.replace(char, rep)
    return text


def compare(
    a,
    b,
    *,
    names: tuple[str, str] = ("a", "b"),
    metrics=None,
    tests=TESTS,
    stat_test: str = "t",
    correction: str | None = "holm",
    alpha: float = 0.05,
    n_permutations: int = 10_000,
    seed=0,
) -> Comparison:
    r"""Paired comparison of two models' per-user metrics, with multiple-testing correction.

    Parameters
    ----------
    a, b : pandas.DataFrame, Series or 1-D array
        Per-user metrics of the two models (e.g. :func:`opauc_sim.metrics.evaluate`'s
        output). DataFrames are paired by their index (the same users, in any order); arrays
        by position. For each metric, users where either value is NaN are left out.
    names : (str, str), default ("a", "b")
        The models' names in the output.
    metrics : sequence of str, optional
        Columns to compare; default every metric column common to both (counts skipped).
    tests : sequence of {"t", "wilcoxon", "randomization"}, default all three
        ``"t"``: the paired Student t-test, ``t = mean(d) / (sd(d) / sqrt(n))`` with
        ``d = b - a``, two-sided (``scipy.stats.ttest_rel``'s p-value; on differences with
        zero variance the module's one rule, :func:`degenerate`). ``"wilcoxon"``: the
        signed-rank test, as ``scipy.stats.wilcoxon(b - a)`` (zero differences dropped).
        ``"randomization"``: Fisher's test of ``|mean(d)|`` under random sign flips of the
        pairs (Smucker et al. 2007; ranx's ``fisher``): exact up to 16 pairs, else with
        ``n_permutations`` Monte-Carlo draws and ``p = (1 + count) / (1 + n_permutations)``.
    stat_test : str, default "t"
        The test that marks significance in the report (one of ``tests``).
    correction : {"holm", "bonferroni", None}, default "holm"
        Adjustment of each test's p-values over the compared metrics.
    alpha : float, default 0.05
        Significance level of the report.
    n_permutations : int, default 10000
        Monte-Carlo draws of the randomisation test.
    seed : int, Generator or None, default 0
        Seed of the randomisation test.

    Returns
    -------
    Comparison
        ``.table`` (one row per metric: means, difference, effect sizes, statistics, raw and
        adjusted p-values), ``str()`` and ``.report()`` in ranx's report shape, and
        ``.to_latex()``.

    Raises
    ------
    ValueError
        Tables whose indexes differ, an unknown metric, test or correction, fewer than one
        metric. ``TypeError`` for a non-numeric column.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.random(50)
    >>> res = compare(a, a + 0.1 + 0.05 * rng.standard_normal(50), names=("bpr", "dns"))
    >>> bool(res.table.loc["value", "t_p"] < 1e-10)
    True
    >>> print(res.report().to_string())
              value
    a bpr    0.5268
    b dns  0.6285^a
    """
    check_choice("correction", correction, CORRECTIONS)
    tests = (tests,) if isinstance(tests, str) else tuple(tests)
    for i, t in enumerate(tests):
        check_choice(f"tests[{i}]", t, TESTS)
    check_choice("stat_test", stat_test, tests)
    alpha = check_real("alpha", alpha, low=0.0, high=1.0, low_open=True)
    n_permutations = check_int("n_permutations", n_permutations, low=1)
    if len(names) != 2 or names[0] == names[1]:
        raise ValueError(f"names must be two distinct names, got {names!r}")
    rng = as_generator(seed)
    fa, fb = _paired_frames(a, b)
    metrics = _metrics_to_compare(fa, fb, metrics)
    rows = {
        m: _compare_metric(m, fa[m].to_numpy(), fb[m].to_numpy(), names, tests, n_permutations, rng)
        for m in metrics
    }
    table = pd.DataFrame.from_dict(rows, orient="index")
    for t in tests:
        table[f"{t}_p_adj"] = _adjust(table[f"{t}_p"].to_numpy(float), correction)
    table.attrs["correction"] = correction
    return Comparison(table, (str(names[0]), str(names[1])), stat_test, alpha)


def _paired_frames(a, b) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``a`` and ``b`` as frames on one index: tables paired by user, arrays by position."""
    fa, fb = _as_frame("a", a), _as_frame("b", b)
    if isinstance(a, pd.DataFrame | pd.Series) and isinstance(b, pd.DataFrame | pd.Series):
        if not fa.index.equals(fb.index):
            if not (fa.index.is_unique and set(fa.index) == set(fb.index)):
                raise ValueError(
                    "a and b must hold the same users (index labels); they differ, e.g. "
                    f"{next(iter(set(fa.index) ^ set(fb.index)), 'in repeats')!r}"
                )
            fb = fb.loc[fa.index]
    elif len(fa) != len(fb):
        raise ValueError(f"a and b must have the same length, got {len(fa)} and {len(fb)}")
    else:
        fb.index = fa.index
    return fa, fb


def _metrics_to_compare(fa: pd.DataFrame, fb: pd.DataFrame, metrics) -> list[str]:
    """The requested metric columns (default: all common to both), checked."""
    common = [c for c in fa.columns if c in fb.columns]
    if metrics is None:
        metrics = common
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    for m in metrics:
        if m not in common:
            raise ValueError(f"metrics: {m!r} is not a metric column of both a and b")
    if not metrics:
        raise ValueError("metrics must not be empty (a and b share no metric column)")
    return metrics


def _compare_metric(
    metric: str,
    x: np.ndarray,
    y: np.ndarray,
    names: tuple[str, str],
    tests: tuple[str, ...],
    n_permutations: int,
    rng: np.random.Generator,
) -> dict[str, float]:
    """One row of the comparison: means, difference, effect sizes and each test's
    statistic and raw p-value, over the users where neither value is NaN."""
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    d = y - x
    n = len(d)
    sd = d.std(ddof=1) if n > 1 else math.nan
    row = {
        "n": n,
        f"mean_{names[0]}": float(x.mean()) if n else math.nan,
        f"mean_{names[1]}": float(y.mean()) if n else math.nan,
        "diff": float(d.mean()) if n else math.nan,
    }
    row["rel_diff"] = row["diff"] / row[f"mean_{names[0]}"] if n and x.mean() else math.nan
    row["d_z"] = float(d.mean() / sd) if n > 1 and sd > 0 and not degenerate(d) else math.nan
    row["rank_biserial"] = _rank_biserial(d)
    for t in tests:
        if t == "t":
            stat, p = paired_ttest(d, what=f"metric {metric!r}, t-test")
        elif t == "wilcoxon":
            stat, p = paired_wilcoxon(d)
        else:
            stat, p = _randomization(d, n_permutations, rng)
        row[f"{t}_stat"], row[f"{t}_p"] = stat, p
    return row


def _rank_biserial(d: np.ndarray) -> float:
    """Matched-pairs rank-biserial correlation: (R+ - R-) / (R+ + R-), zeros dropped."""
    d = d[d != 0]
    if len(d) == 0:
        return math.nan
    ranks = sps.rankdata(np.abs(d))
    total = ranks.sum()
    return float((ranks[d > 0].sum() - ranks[d < 0].sum()) / total)
