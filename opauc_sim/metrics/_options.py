"""The checks of the metric options: cut-offs, OPAUC levels, Top-K names, normalisation.

One :func:`check_options` for the three ``evaluate`` functions, :func:`check_k` for the
single functions; both build on :func:`opauc_sim._validation.check_ks` and
:func:`~opauc_sim._validation.check_betas`, the checks the rank-level functions share.
"""

from __future__ import annotations

from typing import NamedTuple

from opauc_sim._definitions import NORMALIZATIONS
from opauc_sim._validation import K_MAX, check_betas, check_choice, check_int, check_ks
from opauc_sim.metrics._registry import TOPK_METRICS


class Options(NamedTuple):
    """The metric options of every ``evaluate``, checked (see :func:`check_options`)."""

    ks: tuple[int, ...]
    betas: tuple[float, ...]
    opauc_ks: tuple[int, ...]
    normalize: str | None
    topk: tuple[str, ...]


def check_k(name: str, k) -> int:
    """One cut-off: a positive integer (it may exceed the number of items)."""
    return check_int(name, k, low=1, high=K_MAX)


def check_topk(topk) -> tuple[str, ...]:
    """Names of Top-K metrics (of the registry), one or a sequence, distinct."""
    if isinstance(topk, str):
        topk = (topk,)
    if not isinstance(topk, list | tuple):
        raise TypeError(f"topk must be a sequence of metric names, got {topk!r}")
    for i, name in enumerate(topk):
        check_choice(f"topk[{i}]", name, TOPK_METRICS)
    if len(set(topk)) != len(topk):
        raise ValueError(f"topk must not repeat a name, got {topk!r}")
    return tuple(topk)


def check_options(ks, betas, opauc_ks, normalize, topk) -> Options:
    """Check the options shared by ``evaluate``, ``evaluate_long`` and ``evaluate_scorer``."""
    check_choice("normalize", normalize, NORMALIZATIONS)
    return Options(
        check_ks("ks", ks),
        check_betas("betas", betas, allow_empty=True),
        check_ks("opauc_ks", opauc_ks, allow_empty=True),
        normalize,
        check_topk(topk),
    )
