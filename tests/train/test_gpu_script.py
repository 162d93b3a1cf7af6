"""The prepared GPU run (benchmarks/gpu_sweep.sh, benchmarks/gpu_parity.py) starts here.

No GPU is needed: the dry run's commands must be ones the CLI accepts, and the parity
checks run on the CPU (torch on the CPU against Numba), small and quick.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_sweep_dry_run_prints_commands_the_cli_accepts(tmp_path):
    from opauc_sim.cli import build_parser

    env = dict(os.environ, DRY_RUN="1", OUT=str(tmp_path / "out"), GOWALLA_MAT=__file__)
    out = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_sweep.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    ).stdout
    commands = [line.split("] ", 1)[1] for line in out.splitlines() if line.startswith("+ [")]
    assert len(commands) == 3, out  # parity, the Gowalla import, the sweep
    assert commands[0].split()[1] == "benchmarks/gpu_parity.py"
    parser = build_parser()
    for command in commands[1:]:
        argv = shlex.split(command)
        assert argv[1:3] == ["-m", "opauc_sim"]
        args = parser.parse_args(argv[3:])  # SystemExit on an unknown option
        if argv[3] == "sweep":
            assert args.dataset == "gowalla" and args.backend == "torch"
            assert args.batching == "pair" and args.out.endswith("guideline_gowalla_gpu.csv")
            assert args.grid == ["rns", "dns:M=1,2,5,10,20,50,100,200:N=all"]
    assert not (tmp_path / "out" / "gpu_sweep.log").exists()  # a dry run writes nothing


@pytest.mark.torch
@pytest.mark.slow
def test_gpu_parity_quick_passes_on_the_cpu(tmp_path):
    pytest.importorskip("torch")
    spec = importlib.util.spec_from_file_location("gpu_parity", ROOT / "benchmarks/gpu_parity.py")
    parity = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(parity)
    out = tmp_path / "parity.json"
    assert parity.main(["--device", "cpu", "--quick", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["info"]["complete"] and report["info"]["failed"] == 0
    assert {row["check"] for row in report["checks"]} == set(parity.BOUNDS)
