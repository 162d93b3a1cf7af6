"""Argument checking shared by the public API.

Public functions validate once, at the boundary, and raise ``ValueError`` (bad value) or
``TypeError`` (bad type) with a message that names the argument and shows the bad value.
Kernels never validate: they trust what these helpers hand them.
"""

from __future__ import annotations

import inspect
import numbers
import os
import warnings
from collections.abc import Iterable

import numpy as np

SeedLike = int | np.random.SeedSequence | np.random.Generator | None


def _show(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_int(name: str, value: object, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an ``int``, or raise naming ``name``.

    Bools are refused (``True`` is not a count); integral numpy scalars are accepted.
    ``low``/``high`` are inclusive bounds.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {_show(value)} ({type(value).__name__})")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def check_real(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` in the given interval, or raise naming ``name``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        kind = type(value).__name__
        raise TypeError(f"{name} must be a real number, got {_show(value)} ({kind})")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value}")
    return value


def check_beta(name: str, value: object) -> float:
    """A partial-AUC level: a real number in (0, 1]."""
    return check_real(name, value, low=0.0, high=1.0, low_open=True)


def check_sequence(name: str, values: object, item_check) -> tuple:
    """Validate a non-empty iterable (or a scalar, taken as one element) element by element."""
    if isinstance(values, str | bytes):
        raise TypeError(f"{name} must be a sequence of numbers, got {_show(values)}")
    if isinstance(values, numbers.Number | np.generic):
        values = (values,)
    elif isinstance(values, np.ndarray):
        values = values.ravel().tolist()
    elif not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a sequence, got {_show(values)} ({type(values).__name__})")
    values = tuple(values)
    if not values:
        raise ValueError(f"{name} must not be empty, got {values!r}")
    return tuple(item_check(f"{name}[{i}]", v) for i, v in enumerate(values))


#: The largest cut-off any function accepts: a K beyond ``n_items`` ranks every item (and
#: Precision@K still divides by K); this bound only keeps K inside int64.
K_MAX = 2**62


def _empty(values: object) -> bool:
    return isinstance(values, list | tuple | np.ndarray) and len(values) == 0


def check_ks(
    name: str,
    ks: object,
    *,
    high: int | None = None,
    distinct: bool = True,
    allow_empty: bool = False,
) -> tuple[int, ...]:
    """Cut-offs: one integer or a sequence of them, each in ``[1, high]`` (default
    :data:`K_MAX`); distinct unless ``distinct=False``; empty only with ``allow_empty``.

    The one check of every ``ks`` (and ``opauc_ks``) argument of the package: the
    score-level metrics (:mod:`opauc_sim.metrics`, ``high`` unset) and the rank-level ones
    (:mod:`opauc_sim.metrics.ranks`, ``high = n_pos + n_neg``, repeats allowed in a grid).
    """
    if allow_empty and _empty(ks):
        return ()
    top = K_MAX if high is None else high
    ks = check_sequence(name, ks, lambda n, v: check_int(n, v, low=1, high=top))
    if distinct and len(set(ks)) != len(ks):
        raise ValueError(f"{name} must not repeat a value, got {ks!r}")
    return ks


def check_betas(
    name: str, betas: object, *, distinct: bool = True, allow_empty: bool = False
) -> tuple[float, ...]:
    """OPAUC levels: one number or a sequence of them, each in ``(0, 1]``; with
    ``distinct``, distinct at 6 significant digits (each names a column ``opauc@<beta:g>``);
    empty only with ``allow_empty``. The one check of every ``betas`` argument."""
    if allow_empty and _empty(betas):
        return ()
    betas = check_sequence(name, betas, check_beta)
    if distinct:
        labels = [f"{b:g}" for b in betas]
        if len(set(labels)) != len(labels):
            raise ValueError(
                f"{name} must be distinct at 6 significant digits (they name the columns), "
                f"got {betas!r}"
            )
    return betas


def check_choice(name: str, value: object, choices: Iterable[object]) -> object:
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices!r}, got {_show(value)}")
    return value


def as_seed_sequence(seed: SeedLike, name: str = "seed") -> np.random.SeedSequence:
    """Turn a user seed into a ``SeedSequence`` from which independent streams are spawned.

    ``None`` draws fresh OS entropy (not reproducible). A ``Generator`` contributes its
    bit generator's seed sequence when it has one, else a draw from it.
    """
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        seq = getattr(seed.bit_generator, "seed_seq", None)
        if isinstance(seq, np.random.SeedSequence):
            return seq
        return np.random.SeedSequence(int(seed.integers(0, 2**63)))
    if isinstance(seed, bool | np.bool_) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"{name} must be an int, a numpy SeedSequence, a numpy Generator or None, "
            f"got {_show(seed)} ({type(seed).__name__})"
        )
    if int(seed) < 0:
        raise ValueError(f"{name} must be non-negative, got {int(seed)}")
    return np.random.SeedSequence(int(seed))


def as_generator(seed: SeedLike, name: str = "seed") -> np.random.Generator:
    """A ``Generator`` from a user seed; a ``Generator`` passed in is used as is."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(as_seed_sequence(seed, name))


def find_stack_level() -> int:
    """The ``stacklevel`` that makes a warning point at the first frame outside opauc_sim.

    Walks out from the caller of this function past every frame whose file lies in the
    opauc_sim package, as pandas' ``find_stack_level`` does, so that a warning names the
    user's line however deep inside the package it is raised (a hand-counted level goes
    stale when a call is added, and from module-level code it can point at ``sys:1``).
    Use it as ``warnings.warn(..., stacklevel=find_stack_level())`` in the function that
    calls ``warnings.warn``.
    """
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame = inspect.currentframe()
    level = 0
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame = frame.f_back
        level += 1
    return level


def warn_undefined(count: int, total: int, what: str) -> None:
    """One warning per call for rows whose metric is undefined (they are NaN).

    The warning points at the user's code that called into the package
    (:func:`find_stack_level`).
    """
    if count:
        warnings.warn(
            f"{count} of {total} rows have {what}; their values are NaN",
            UndefinedMetricWarning,
            stacklevel=find_stack_level(),
        )


class UndefinedMetricWarning(UserWarning):
    """Some rows have no positives (or no negatives), so a metric is undefined there (NaN)."""
