"""Numba's on-disk cache and the trainer's kernels: a cached kernel must never keep the
old code of a helper edited in another file (opauc_sim/train/numba_inline.py)."""

from __future__ import annotations

import hashlib
import types
from pathlib import Path

import pytest
from numba.core.registry import CPUDispatcher

from opauc_sim.train import numba_inline, numba_kernels


def test_the_recorded_hash_is_the_helpers_file():
    digest = hashlib.sha256(Path(numba_inline.__file__).read_bytes()).hexdigest()
    assert numba_kernels._INLINE_SHA256 == digest, (
        "numba_inline.py changed: put its sha256 in numba_kernels._INLINE_SHA256"
    )
    assert numba_kernels._CACHE


def test_a_changed_helpers_file_turns_the_cache_off_with_a_warning(monkeypatch):
    monkeypatch.setattr(numba_kernels, "_INLINE_SHA256", "0" * 64)
    with pytest.warns(RuntimeWarning, match="compiled without cache"):
        assert numba_kernels._inline_source_matches() is False


def _compiled_callees(module: types.ModuleType):
    """(caller, callee, callee's module) for every compiled function of ``module`` and
    every global it names that is compiled code (a dispatcher, an overloaded stub, an
    intrinsic)."""
    for name, obj in vars(module).items():
        if not isinstance(obj, CPUDispatcher) or obj.__module__ != module.__name__:
            continue
        for ref in obj.py_func.__code__.co_names:
            target = vars(module).get(ref)
            compiled = isinstance(target, CPUDispatcher) or (
                callable(target)
                and getattr(target, "__module__", "").startswith("opauc_sim.train.numba")
            )
            if compiled:
                yield name, ref, target.__module__


@pytest.mark.parametrize("module", [numba_kernels, numba_inline], ids=lambda m: m.__name__)
def test_kernels_call_only_their_own_file_and_the_hashed_helpers(module):
    allowed = {module.__name__, numba_inline.__name__}
    calls = list(_compiled_callees(module))
    assert calls  # the check sees the calls
    stray = [c for c in calls if c[2] not in allowed]
    assert not stray, stray
    if module is numba_inline:  # the helpers call nothing outside their own file
        assert all(c[2] == numba_inline.__name__ for c in calls)
