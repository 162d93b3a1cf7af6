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
# optional torch extra only in the torch engine; without it those are not collected.
collect_ignore_glob = [] if importlib.util.find_spec("torch") else ["opauc_sim/train/torch_*"]

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("ci", derandomize=True, max_examples=60, print_blob=True, **_COMMON)
settings.register_profile("dev", max_examples=100, **_COMMON)
settings.register_profile("deep", max_examples=5000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
