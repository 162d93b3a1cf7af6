"""The command line and the figures of the proofs checks, end to end on a temporary cache.

Statement checked: ``opauc-sim check`` prints the verdict table (claim, cases, worst,
verdict) and exits 0 when every outcome is as expected; ``opauc-sim proof-tables`` writes
the cached tables with their sidecars; each proofs figure script draws from that cache.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from opauc_sim.checks import CheckResult, all_checks, format_table, run_checks
from opauc_sim.cli import main
from opauc_sim.plots import draw

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ("theorem3_bounds", "theorem1_dns_bias", "theorem2_taylor_tau")


def test_check_command_prints_verdict_table(capsys):
    assert main(["check", "--only", "lemma1"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header[:4] == ["result", "claim", "cases", "worst"]
    assert "Lemma 1" in out and "holds" in out and "0 unexpected outcomes" in out


def test_check_command_exit_status_flags_unexpected(monkeypatch, capsys):
    bad = CheckResult(
        "Lemma 1", "a claim that failed", 3, 0.5, "violation", False, key="lemma1.made_up"
    )
    monkeypatch.setattr(
        "opauc_sim.checks.run_checks", lambda only, deep=False, progress=False: [bad]
    )
    assert main(["check"]) == 1
    assert "UNEXPECTED: fails" in capsys.readouterr().out


def test_verdict_words():
    finding = CheckResult("T", "probe", 1, 2.0, "violation", False, expected=False, key="t.probe")
    assert finding.verdict == "fails (finding)" and finding.ok
    measured = CheckResult("T", "number", 5, 1.3, "measured", None, key="t.number")
    assert measured.verdict == "measured" and measured.ok
    assert "| result |" in format_table([finding, measured], markdown=True)


def test_proof_tables_and_figures(tmp_path, capsys):
    results, figures = tmp_path / "results", tmp_path / "figures"
    assert main(["proof-tables", "--quick", "--results-dir", str(results)]) == 0
    for name in ("theorem3_scatter", "theorem1_dns_bias", "theorem2_taylor_tau"):
        assert (results / f"{name}.csv").exists() and (results / f"{name}.json").exists()
    for name in FIGURES:
        (written,) = draw(name, results_dir=str(results), out_dir=str(figures))
        assert written.exists() and written.stat().st_size > 10_000


def test_every_record_has_a_unique_stable_key():
    """Tests find records by key (``MODULE.what``), never by the prose of the claim; the key
    stays out of the saved verdict table, whose columns are those of the committed CSV."""
    results = run_checks()
    keys = [r.key for r in results]
    assert len(set(keys)) == len(keys)
    modules = {name for name, _ in all_checks()}
    for key in keys:
        module, _, what = key.partition(".")
        assert module in modules and re.fullmatch(r"[a-z0-9_]+", what), key
    saved = pd.read_csv(ROOT / "results" / "proofs_check_verdicts.csv")
    assert "key" not in saved.columns
