"""opauc_sim.metrics._docs: the one templating helper of the metric docstrings."""

from __future__ import annotations

from opauc_sim.metrics import _docs, evaluate, ranks, recall_at_k


def test_template_fills_parts_and_keeps_escaped_braces():
    @_docs.template({"part": "filled"})
    def f():
        """A {part}; a literal {{brace}}."""

    assert f.__doc__ == "A filled; a literal {brace}."


def test_every_public_docstring_is_filled():
    for fn in (evaluate, recall_at_k, ranks.recall_at_k, ranks.evaluate):
        assert "{arrays}" not in fn.__doc__ and "{ranks}" not in fn.__doc__
        assert "%(" not in fn.__doc__
    assert "y_true : array-like" in recall_at_k.__doc__
    assert "pos_ranks : array-like of int" in ranks.recall_at_k.__doc__
