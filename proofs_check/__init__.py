"""Property tests of the paper's results, one module per theorem or lemma.

The deterministic checks live in ``opauc_sim.checks`` (shared with ``opauc-sim check``);
these modules assert on them and add hypothesis property tests. Profiles come from the
root ``conftest.py``: ``HYPOTHESIS_PROFILE=ci`` (derandomised, the default under CI) or
``HYPOTHESIS_PROFILE=deep`` to hunt for counterexamples.
"""
