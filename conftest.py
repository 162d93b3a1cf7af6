"""Hypothesis profiles, shared by tests/ and proofs_check/.

Chosen by the environment variable ``HYPOTHESIS_PROFILE``:
- ``ci``: derandomised and fast; the default when ``CI`` is set.
- ``dev``: the default elsewhere; random, moderate.
- ``deep``: many examples, for hunting counterexamples by hand
  (``HYPOTHESIS_PROFILE=deep pytest proofs_check``).
"""

import importlib.util
import os

from hypothesis import HealthCheck, settings

# Docstring examples run as tests (--doctest-modules). The training modules need the
# optional torch extra only in the torch engine (torch_*.py and _torch.py, which imports
# torch at the top); without torch those are not collected, so that the README's test
# command, which installs no torch, passes.
_TORCH_MODULES = ["opauc_sim/train/torch_*", "opauc_sim/train/_torch.py"]
collect_ignore_glob = [] if importlib.util.find_spec("torch") else _TORCH_MODULES
# tests/doc_blocks.py is a helper, not a test module; its docstring shows a marked page
# block (">>>" lines with notes beside them), which is not a doctest.
collect_ignore = ["tests/doc_blocks.py"]

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("ci", derandomize=True, max_examples=60, print_blob=True, **_COMMON)
settings.register_profile("dev", max_examples=100, **_COMMON)
settings.register_profile("deep", max_examples=5000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
