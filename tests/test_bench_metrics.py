"""benchmarks/bench_metrics.py end to end on a tiny input: it runs, its workers run the
threads asked for, and it prints its targets (the timings themselves are not tested)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("threads", [1, 2])
def test_the_benchmark_runs_with_the_threads_asked_for(threads):
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_metrics.py"), "--no-peers"]
    cmd += ["--rows", "40", "--items", "30", "--pos", "3", "--repeats", "1"]
    cmd += ["--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"threads (Numba, OpenMP, BLAS): {threads}" in out.stdout
    assert "evaluate vs read floor:" in out.stdout


def test_a_missing_gowalla_file_is_one_line():
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_metrics.py")]
    out = subprocess.run(
        [*cmd, "--gowalla", "/nonexistent/gowalladata.mat"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert out.returncode != 0
    assert out.stderr.strip() == "error: --gowalla: no such file: /nonexistent/gowalladata.mat"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--repeats", "0"], "--repeats must be >= 1, got 0"),
        (["--threads", "-1"], "--threads must be >= 1, got -1"),
        (["--pos", "40", "--items", "30"], "--pos must be below --items (30), got 40"),
        (["--against", "no-such-rev"], "--against: not a commit of this repository: no-such-rev"),
    ],
)
def test_bad_options_are_one_line_errors(args, message):
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_metrics.py"), "--no-peers", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].endswith(f"error: {message}")


def test_a_file_that_is_no_mat_file_is_named(tmp_path):
    bad = tmp_path / "gowalladata.mat"
    bad.write_text("not a mat file")
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_metrics.py"), "--gowalla", str(bad)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode != 0
    assert f"error: --gowalla {bad}: MatReadError" in out.stderr
    assert "Traceback" not in out.stderr
