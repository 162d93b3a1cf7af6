"""The rules of docs/architecture.md, checked on the code: imports go down the layers, a
Numba kernel calls only kernels of its own file, figures read only the cache."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

import opauc_sim

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "opauc_sim"

#: docs/architecture.md, rule 1: the layers, lowest first (a module's layer is that of its
#: longest listed prefix; every other module of the package is a foundation).
LAYERS = {
    "opauc_sim.metrics": 2,
    "opauc_sim.rank_metrics": 2,
    "opauc_sim.rankings": 2,
    "opauc_sim.bounds": 2,
    "opauc_sim.dro": 2,
    "opauc_sim.stats": 2,
    "opauc_sim.correlation": 3,
    "opauc_sim.checks": 3,
    "opauc_sim.train": 3,
    "opauc_sim.distributed": 3,
    "opauc_sim._dask_tasks": 3,
    "opauc_sim.plots": 4,
    "opauc_sim.commands": 5,
    "opauc_sim.cli": 5,
    "opauc_sim.__main__": 5,
}


def _layer(module: str) -> int:
    best, layer = "", 1
    for prefix, n in LAYERS.items():
        if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best):
            best, layer = prefix, n
    return layer


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """The opauc_sim modules ``path`` imports, at any depth (lazy imports too)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # `from opauc_sim import plots` imports the submodule plots
            found |= {f"{target}.{a.name}" for a in node.names}
    known = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    return {m for m in found if m in known and m != module}


def test_imports_go_down_the_layers():
    upward = [
        f"{_module_name(path)} (layer {_layer(_module_name(path))}) imports {target} "
        f"(layer {_layer(target)})"
        for path in sorted(PACKAGE.rglob("*.py"))
        for target in sorted(_imports(path))
        if _layer(target) > _layer(_module_name(path))
    ]
    assert not upward, "\n".join(upward)


def test_the_layer_table_names_modules_that_exist():
    known = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    assert set(LAYERS) <= known
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for prefix in LAYERS:
        assert f"`{prefix.removeprefix('opauc_sim.')}`" in page, prefix


def _library_modules():
    for info in pkgutil.walk_packages(opauc_sim.__path__, "opauc_sim."):
        if info.name.endswith("__main__"):
            continue
        if "torch" in info.name.rpartition(".")[2] and importlib.util.find_spec("torch") is None:
            continue
        yield info.name


#: The checked exception (docs/architecture.md, rule 2): numba_kernels records the sha256 of
#: numba_inline and caches its kernels only while it matches (tests/train/test_kernel_cache.py).
HASHED_HELPERS = {"opauc_sim.train.numba_kernels": "opauc_sim.train.numba_inline"}


def test_every_numba_kernel_calls_only_kernels_of_its_own_file():
    from numba.core.dispatcher import Dispatcher

    crossing, kernels = [], 0
    for name in _library_modules():
        module = importlib.import_module(name)
        for attr, obj in vars(module).items():
            if not isinstance(obj, Dispatcher) or obj.py_func.__module__ != name:
                continue
            kernels += 1
            for callee in obj.py_func.__code__.co_names:
                target = obj.py_func.__globals__.get(callee)
                home = target.py_func.__module__ if isinstance(target, Dispatcher) else name
                if home not in (name, HASHED_HELPERS.get(name)):
                    crossing.append(f"{name}.{attr} calls {target.py_func.__module__}.{callee}")
    assert kernels > 20  # the search found the kernels at all
    assert not crossing, crossing


@pytest.mark.parametrize("path", sorted((PACKAGE / "plots").glob("[!_]*.py")), ids=lambda p: p.stem)
def test_figures_read_only_the_cache(path):
    """A figure module takes its tables from the cache and writes only PNGs."""
    used = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "opauc_sim.results_cache":
            used |= {a.name for a in node.names}
    assert "load_result" in used, f"{path.name} does not read the cache"
    assert used <= {"load_result", "save_figure", "load_manifest"}, used


def test_only_the_sampler_registry_compares_a_sampler_name():
    """docs/architecture.md, registries: no module but ``train/samplers.py`` compares a
    value with a sampler's name written out (``x == "rns"``); the others use the
    registry's constants (``samplers.BASELINE``) or its specs."""
    from opauc_sim.train.samplers import SAMPLERS

    names = set(SAMPLERS)
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "train" / "samplers.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Compare):
                continue
            for side in (node.left, *node.comparators):
                values = side.elts if isinstance(side, ast.Tuple | ast.List | ast.Set) else [side]
                for v in values:
                    if isinstance(v, ast.Constant) and v.value in names:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} {v.value!r}")
    assert len(names) >= 3, names  # the registry was read at all
    assert not found, found
