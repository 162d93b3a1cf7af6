"""Packaging (issue 15): the wheel's package list, honest dependencies, optional extras.

The built wheel itself is checked by ``.ci/run`` (built, installed without extras in a fresh
venv, then ``import opauc_sim.metrics``, ``simulate fig6 --no-figure`` and ``check``).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

#: distribution name -> the module it is imported as
IMPORT_NAMES = {
    "numpy": "numpy",
    "scipy": "scipy",
    "numba": "numba",
    "pandas": "pandas",
    "threadpoolctl": "threadpoolctl",
    "matplotlib": "matplotlib",
    "seaborn": "seaborn",
    "tqdm": "tqdm",
    "torch": "torch",
}

#: Imports, by a Python process that must not see them, are made to fail.
_BLOCK = """
import importlib.abc, sys
BLOCKED = {"matplotlib", "tqdm", "seaborn", "torch"}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
"""


def _requirements(group: str) -> list[Requirement]:
    project = PYPROJECT["project"]
    found = project["dependencies"] if group == "core" else project["optional-dependencies"][group]
    return [Requirement(r) for r in found]


def _imported_modules() -> set[str]:
    """Top-level modules imported by the package and the figure scripts (AST, any depth)."""
    names = set()
    for path in ROOT.joinpath("opauc_sim").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
            elif (  # importlib.import_module("name")
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", None) == "import_module"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names.add(str(node.args[0].value).split(".")[0])
    return names


def test_package_list_names_every_package():
    """pyproject lists the packages: a new subpackage must be added."""
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in ROOT.joinpath("opauc_sim").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert listed == on_disk
    assert "package-dir" not in PYPROJECT["tool"]["setuptools"]


def test_every_runtime_dependency_is_imported():
    """No core, plot, progress or train dependency that nothing imports (seaborn was one)."""
    imported = _imported_modules()
    for group in ("core", "plot", "progress", "train"):
        for req in _requirements(group):
            assert req.name in IMPORT_NAMES, f"{group}: {req.name} has no import name here"
            assert IMPORT_NAMES[req.name] in imported, f"{group}: nothing imports {req.name}"


def test_core_dependencies_leave_out_plotting_and_torch():
    core = {r.name for r in _requirements("core")}
    assert core == {"numpy", "scipy", "numba", "pandas", "threadpoolctl"}
    assert "ruff" not in {r.name for r in _requirements("test")}
    assert "ruff" in {r.name for r in _requirements("dev")}


def test_torch_range_admits_213_to_215_and_ci_pins_the_cpu_build():
    (torch,) = _requirements("train")
    for version in ("2.13.0", "2.13.0+cpu", "2.14.1", "2.15.0"):
        assert torch.specifier.contains(version), (str(torch), version)
    assert not torch.specifier.contains("2.12.1")  # below the tested floor
    pins = [
        Requirement(line)
        for line in (ROOT / ".ci" / "constraints.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    (pin,) = [p for p in pins if p.name == "torch"]
    assert str(pin.specifier) == "==2.13.0+cpu"
    assert torch.specifier.contains("2.13.0+cpu")


def test_build_backend_accepts_the_spdx_licence():
    """`license = "MIT"` with `license-files` needs setuptools 77 (68 fails to install)."""
    assert PYPROJECT["project"]["license"] == "MIT"
    (setuptools,) = [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    assert setuptools.name == "setuptools"
    assert not setuptools.specifier.contains("76.1.0")
    assert setuptools.specifier.contains("77.0.0")


def test_plotting_code_is_in_the_package_not_in_figures():
    assert not list(ROOT.joinpath("figures").glob("*.py"))
    assert ROOT.joinpath("opauc_sim", "plots", "beta_curves.py").is_file()


def _run_blocked(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _BLOCK + code],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_metrics_and_fig6_run_without_matplotlib_tqdm_torch(tmp_path):
    """The metric kernels, `simulate fig6 --no-figure` and `check` (progress bars asked for)
    need none of the optional extras, and do not import them."""
    code = """
import numpy as np
from opauc_sim.metrics import opauc
assert opauc(np.array([1, 0, 0]), np.array([0.9, 0.5, 0.1]), beta=0.5) == 0.5
from opauc_sim.cli import main
argv = ["simulate", "fig6", "--n-rankings", "2000", "--n-betas", "5", "--no-figure"]
assert main([*argv, "--results-dir", "res"]) == 0
assert main(["check", "--only", "lemma1"]) == 0  # its progress bar too
loaded = {m.split(".")[0] for m in sys.modules} & BLOCKED
assert not loaded, loaded
print("OK")
"""
    done = _run_blocked(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("OK")
    assert (tmp_path / "res" / "fig6_curves.csv").is_file()


def test_a_figure_without_matplotlib_is_a_one_line_error_before_any_work(tmp_path):
    code = """
from opauc_sim.cli import main
print(main(["simulate", "fig6", "--n-rankings", "2000", "--results-dir", "res"]))
print(main(["figures", "--results-dir", "res"]))
"""
    done = _run_blocked(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "2"]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2, done.stderr
    assert lines[0].startswith("opauc-sim simulate: error: the figure (--no-figure skips it)")
    assert lines[1].startswith("opauc-sim figures: error: opauc-sim figures needs matplotlib")
    assert all("in a clone of opauc-sim: pip install -e '.[plot]'" in line for line in lines)
    assert not (tmp_path / "res").exists()  # refused before computing or writing anything


def test_library_figure_without_matplotlib_names_the_extra(tmp_path):
    code = """
import pandas as pd
from opauc_sim._optional import MissingDependencyError
from opauc_sim.plots.false_negatives import make_figure
try:
    make_figure(pd.DataFrame())
except MissingDependencyError as exc:
    assert isinstance(exc, ImportError)
    print(exc)
"""
    done = _run_blocked(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "in a clone of opauc-sim: pip install -e '.[plot]'" in done.stdout
