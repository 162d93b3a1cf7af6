"""opauc_sim.metrics._options: the option checks."""

from __future__ import annotations

import numpy as np
import pytest

from opauc_sim._validation import check_betas, check_ks
from opauc_sim.metrics import evaluate
from opauc_sim.metrics._options import Options, check_options


def test_bad_topk():
    with pytest.raises(ValueError, match=r"topk\[1\] must be one of"):
        evaluate([1, 0], [0.1, 0.2], ks=(1,), topk=("recall", "mrrr"))
    with pytest.raises(ValueError, match="topk must not repeat"):
        evaluate([1, 0], [0.1, 0.2], ks=(1,), topk=("mrr", "mrr"))


@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        ({"ks": ()}, ValueError, r"^ks must not be empty"),
        ({"ks": (2, 2)}, ValueError, r"^ks must not repeat a value, got \(2, 2\)"),
        ({"ks": (1, 2**63)}, ValueError, r"^ks\[1\] must be <= \d+"),
        ({"ks": "5"}, TypeError, r"^ks must be a sequence of numbers"),
        ({"betas": (0.1, 0.1000001)}, ValueError, r"^betas must be distinct at 6 significant"),
        ({"betas": (0.0,)}, ValueError, r"^betas\[0\] must be > 0"),
        ({"opauc_ks": (0,)}, ValueError, r"^opauc_ks\[0\] must be >= 1"),
        ({"opauc_ks": (3, 3)}, ValueError, r"^opauc_ks must not repeat"),
        (
            {"normalize": "minmax"},
            ValueError,
            r"^normalize must be one of \(None, 'max', 'mcclish'\)",
        ),
        ({"topk": 5}, TypeError, r"^topk must be a sequence of metric names"),
    ],
)
def test_each_option_is_checked_with_one_line_naming_it(kwargs, exc, pattern):
    opts = dict(ks=(1,), betas=(0.5,), opauc_ks=(), normalize=None, topk=("recall",)) | kwargs
    with pytest.raises(exc, match=pattern):
        check_options(**opts)


def test_empty_betas_and_opauc_ks_and_one_name():
    opts = check_options(
        ks=5, betas=[], opauc_ks=np.array([], dtype=int), normalize="max", topk="mrr"
    )
    assert opts == Options((5,), (), (), "max", ("mrr",))


def test_the_rank_level_functions_share_the_checks():
    """One check of ks and betas, two contracts: a grid of the rank-level functions may
    repeat values and is bounded by the number of items; evaluate's may not repeat."""
    from opauc_sim.metrics import ranks

    assert ranks.recall_at_k([0, 2], 3, [2, 2]).tolist() == [0.5, 0.5]
    with pytest.raises(ValueError, match=r"^ks\[0\] must be <= 5, got 6"):
        ranks.recall_at_k([0, 2], 3, 6)
    with pytest.raises(ValueError, match=r"^ks must not repeat a value"):
        ranks.evaluate([[0, 2]], 3, ks=(2, 2))
    with pytest.raises(ValueError, match=r"^betas must be distinct at 6 significant"):
        ranks.evaluate([[0, 2]], 3, ks=(2,), betas=(0.5, 0.5))
    assert check_ks("ks", (3, 3), distinct=False) == (3, 3)
    assert check_betas("betas", 0.5) == (0.5,)
