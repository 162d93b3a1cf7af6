"""Regenerate every cached simulation result into a scratch folder and compare with results/.

The CSVs must match byte for byte; the JSON sidecars must match apart from the fields that
record when, where and how long: only name, params, seed, rows, columns and csv_sha256 count.
Training rows (``train_*.csv``, ``false_negatives.csv``) take hours and are not rerun here.

Usage::

    python tools/regenerate_check.py            # all, prints one line per file, exit 1 on a diff
    python tools/regenerate_check.py fig6 check # a subset
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"

# command (after ``opauc-sim``) -> the results it writes
RUNS = {
    "fig6": (
        ["simulate", "fig6", "--quiet", "--no-figure"],
        ["fig6_curves", "fig6_peaks", "fig6_claims"],
    ),
    "methods": (
        ["simulate", "methods", "--quiet", "--no-figure"],
        ["fig6_methods_curves", "fig6_methods_claims"],
    ),
    "binormal": (
        ["simulate", "binormal", "--quiet", "--no-figure"],
        ["binormal_curves", "binormal_peaks"],
    ),
    "peak-law": (["simulate", "peak-law", "--quiet", "--no-figure"], ["peak_law"]),
    "check": (["check", "--save"], ["proofs_check_verdicts"]),
    "proof-tables": (
        ["proof-tables"],
        [
            "theorem1_dns_bias",
            "theorem2_softmax_cvar_gap",
            "theorem2_taylor_tau",
            "theorem3_scatter",
        ],
    ),
}
# the sidecar fields that say what was computed (the rest records when, where and how long)
KEPT = ("name", "params", "seed", "rows", "columns", "csv_sha256")


def _strip(sidecar: dict) -> dict:
    return {k: sidecar.get(k) for k in KEPT}


def main(argv: list[str]) -> int:
    names = argv or list(RUNS)
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            args, stems = RUNS[name]
            out = Path(tmp) / name
            cmd = [sys.executable, "-m", "opauc_sim", *args, "--results-dir", str(out)]
            run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            if run.returncode != 0:
                print(f"{name}: FAILED rc={run.returncode}: {run.stderr.strip().splitlines()[-1:]}")
                bad += 1
                continue
            for stem in stems:
                new, old = out / f"{stem}.csv", RESULTS / f"{stem}.csv"
                same_csv = new.read_bytes() == old.read_bytes()
                js_new = _strip(json.loads((out / f"{stem}.json").read_text()))
                js_old = _strip(json.loads((RESULTS / f"{stem}.json").read_text()))
                same_js = js_new == js_old
                verdict = "same" if same_csv and same_js else "DIFFERS"
                diff = [k for k in KEPT if js_new[k] != js_old[k]]
                detail = "" if same_js else f" (sidecar fields differ: {diff})"
                print(
                    f"{name}: {stem}.csv {'byte-identical' if same_csv else 'DIFFERS'};"
                    f" {verdict}{detail}"
                )
                bad += verdict != "same"
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
