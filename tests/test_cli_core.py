"""The CLI dispatcher and the demo command (the other commands are tested with their modules)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from opauc_sim.cli import main


def test_demo_prints_the_metric_table(capsys):
    argv = ["demo", "--rows", "50", "--items", "40", "--pos-rate", "0.5", "--ks", "1", "5"]
    assert main([*argv, "--betas", "0.1"]) == 0
    out = capsys.readouterr().out
    for name in ("recall@5", "precision@1", "ndcg@5", "auc", "opauc@0.1"):
        assert name in out


def test_bad_argument_is_a_one_line_error_naming_it(capsys):
    # (K above n_items is valid since issue 13, so the bad value is a K below 1)
    assert main(["demo", "--rows", "5", "--items", "4", "--ks", "0"]) == 2
    err = capsys.readouterr().err
    assert "ks[0] must be >= 1, got 0" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--pos-rate", "1.5", "pos_rate must be <= 1.0, got 1.5"),
        ("--pos-rate", "nan", "pos_rate must be finite, got nan"),
        ("--mu", "inf", "mu must be finite, got inf"),
        ("--rows", "-1", "rows must be >= 0, got -1"),
    ],
)
def test_demo_rejects_out_of_range_options(capsys, option, value, message):
    """Out-of-range demo options are named errors, not a silently meaningless table (a
    positive rate of 1.5 used to print a table for all-positive rows)."""
    assert main(["demo", "--rows", "5", "--items", "10", option, value]) == 2
    assert message in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["-m", "opauc_sim", "--help"]])
def test_python_dash_m_is_the_console_script(argv):
    done = subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "opauc-sim" in done.stdout and "demo" in done.stdout
