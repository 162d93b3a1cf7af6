"""Property tests of the paper's results, one module per theorem or lemma.

The deterministic checks live in ``opauc_sim.checks`` (shared with ``opauc-sim check``);
these modules assert on them and add hypothesis property tests. Profiles come from the
root ``conftest.py``: ``HYPOTHESIS_PROFILE=ci`` (derandomised, the default under CI) or
``HYPOTHESIS_PROFILE=deep`` to hunt for counterexamples.

The modules are named ``check_*.py`` (collected by pytest through ``python_files`` in
pyproject.toml) and find the records of ``opauc_sim.checks`` by their stable ``key``
(:func:`opauc_sim.checks.by_key`), never by the wording of a claim. Which of the project's
several "checks" is which: see the docstring of :mod:`opauc_sim.checks`.
"""
