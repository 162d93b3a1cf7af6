"""Numerical checks of the paper's results, shared by ``proofs_check/`` and ``opauc-sim check``.

One module per result, each opening with the statement it checks:

- :mod:`opauc_sim.checks.theorem3` -- OPAUC(K / n_neg) bounds Recall@K and Precision@K;
- :mod:`opauc_sim.checks.lemma1` -- CVaR-DRO: primal (LP) = dual = top-beta mean;
- :mod:`opauc_sim.checks.theorem1` -- DNS(M, all) is the OPAUC surrogate, loss and gradient;
- :mod:`opauc_sim.checks.theorem2` -- the KL-DRO worst case is a softmax; Taylor tau.

Each ``check_*`` function runs deterministic (seeded) and exhaustive cases with an oracle
that shares no code with what it checks, and returns :class:`CheckResult` records. The
pytest modules in ``proofs_check/`` assert on the same records and add hypothesis property
tests; the CLI prints them as a table. The checks live in the package (not in
``proofs_check/``) so that the installed ``opauc-sim check`` needs neither the source tree
nor hypothesis.

"Check" names five things in this project; this package is the first:

- :mod:`opauc_sim.checks` (here): the numerical checks of the paper's theorems, returning
  :class:`CheckResult` records, each with a stable :attr:`~CheckResult.key`;
- ``proofs_check/check_*.py``: the pytest modules that assert on those records by key and
  add hypothesis property tests;
- :mod:`opauc_sim.commands.check`: the command line ``opauc-sim check`` (runs them, prints
  the verdict table, ``--save`` writes ``results/proofs_check_verdicts.csv``);
- ``opauc_sim.correlation.check_paper_claims``: something else, the Fig. 6 claims of the
  correlation study judged on a simulated curve.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

__all__ = [
    "CheckResult",
    "all_checks",
    "by_key",
    "format_table",
    "run_checks",
    "verdict_frame",
]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one numerical check.

    Attributes
    ----------
    result : str
        Which result of the paper ("Theorem 3", "Lemma 1", ...).
    claim : str
        What was checked, in one line.
    cases : int
        How many cases (rankings, loss vectors, ...) were tried.
    worst : float
        The worst violation (for an inequality) or the maximum error (for an identity);
        for a measurement, the measured number.
    measure : str
        What ``worst`` is: "violation", "max error", "count", "measured", ...
    holds : bool or None
        Whether the claim held on every case (``None`` for a pure measurement).
    expected : bool or None
        Whether it was expected to hold. Probes outside a theorem's preconditions may be
        expected to fail; then a failure is a finding, not a defect.
    note : str
        Details (tolerance, where it failed, what was skipped).
    key : str
        A stable identifier, ``MODULE.what`` (e.g. ``"theorem3.recall_within_bounds"``):
        tests find a record by it, so the prose of ``claim`` can be reworded freely. Unique
        over all checks. It lives in memory only: the verdict table and the saved
        ``proofs_check_verdicts.csv`` show the claim, not the key.
    """

    result: str
    claim: str
    cases: int
    worst: float
    measure: str
    holds: bool | None
    expected: bool | None = True
    note: str = ""
    seconds: float = field(default=0.0, compare=False)
    key: str = field(kw_only=True)

    @property
    def verdict(self) -> str:
        if self.holds is None:
            return "skipped" if self.cases == 0 else "measured"
        word = "holds" if self.holds else "fails"
        if self.expected is None or self.holds == self.expected:
            # A probe beyond the paper's statement reports what it found either way.
            return word if self.expected else f"{word} (finding)"
        return f"UNEXPECTED: {word}"

    @property
    def ok(self) -> bool:
        """False only when the outcome contradicts what was expected."""
        return self.holds is None or self.expected is None or self.holds == self.expected


def by_key(results: Iterable[CheckResult], key: str) -> CheckResult:
    """The one record of ``results`` whose :attr:`CheckResult.key` is ``key``.

    Raises
    ------
    KeyError
        No record, or several, have that key.
    """
    found = [r for r in results if r.key == key]
    if len(found) != 1:
        raise KeyError(f"{len(found)} records have the key {key!r}")
    return found[0]


def all_checks() -> list[tuple[str, Callable[..., list[CheckResult]]]]:
    """``(name, function)`` for every check, in the order of the paper's argument."""
    from opauc_sim.checks import lemma1, theorem1, theorem2, theorem3

    return [
        ("theorem3", theorem3.run),
        ("lemma1", lemma1.run),
        ("theorem1", theorem1.run),
        ("theorem2", theorem2.run),
    ]


def run_checks(
    only: Iterable[str] | None = None, *, deep: bool = False, progress: bool = False
) -> list[CheckResult]:
    """Run the checks whose name contains one of ``only`` (all by default).

    ``progress`` shows a progress bar over the checks (on stderr), naming the one running.
    """
    only = tuple(only or ())
    chosen = [(n, f) for n, f in all_checks() if not only or any(key in n for key in only)]
    bar = None
    if progress and chosen:
        from opauc_sim._optional import progress_bar  # None without tqdm (extra "progress")

        bar = progress_bar(total=len(chosen), unit="result", desc="checks", leave=False)
    results: list[CheckResult] = []
    for name, func in chosen:
        if bar is not None:
            bar.set_description(f"checking {name}")
        start = time.perf_counter()
        batch = func(deep=deep)
        elapsed = time.perf_counter() - start
        results.extend(
            CheckResult(**{**r.__dict__, "seconds": elapsed / max(len(batch), 1)}) for r in batch
        )
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return results


def _fmt_number(value: float) -> str:
    if value != value:  # NaN
        return "-"
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value)}"
    return f"{value:.3g}"


def format_table(results: Iterable[CheckResult], *, markdown: bool = False) -> str:
    """The verdict table: result, claim, cases tried, worst violation / max error, verdict."""
    header = ("result", "claim", "cases", "worst", "measure", "verdict")
    rows = [
        (
            r.result,
            r.claim,
            f"{r.cases:,}",
            _fmt_number(r.worst),
            r.measure,
            r.verdict,
        )
        for r in results
    ]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:{'>' if i in (2, 3) else '<'}{w}}}" for i, w in enumerate(widths))
    lines = [fmt.format(*header), "  ".join("-" * w for w in widths)]
    lines += [fmt.format(*row) for row in rows]
    return "\n".join(lines)


def verdict_frame(results: Iterable[CheckResult]):
    """The saved verdict table (``results/proofs_check_verdicts.csv``): one row per check,
    columns result, claim, cases, worst, measure, verdict and note (the keys stay in
    memory: tests find records by key, the file keeps its columns)."""
    import pandas as pd

    columns = ("result", "claim", "cases", "worst", "measure", "verdict", "note")
    return pd.DataFrame([{c: getattr(r, c) for c in columns} for r in results])
