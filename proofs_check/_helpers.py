"""Helpers shared by the proofs_check modules."""

from __future__ import annotations

import os

from opauc_sim.checks import CheckResult

DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "deep"


def assert_expected(results: list[CheckResult]) -> None:
    """Every record came out as expected (a claim holds; a probe's finding is as known)."""
    bad = [f"{r.claim}: {r.verdict} (worst {r.worst:.3g}; {r.note})" for r in results if not r.ok]
    assert not bad, "\n".join(bad)
    assert all(r.cases > 0 or r.holds is None for r in results)
