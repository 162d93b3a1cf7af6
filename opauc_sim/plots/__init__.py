"""Every figure of opauc-sim, drawn from the cached results (``results/*.csv``).

One module per figure (or family of figures). Each defines a pure
``make_figure(df, ...) -> matplotlib.figure.Figure`` where it can, and
``draw(results_dir="results", out_dir="figures") -> list[Path]``, which reads only the cache
in ``results_dir`` (through :func:`opauc_sim.results_cache.load_result`) and writes PNGs to
``out_dir``. The plotting is part of the package, so it works after a plain (non-editable)
``pip install``; nothing is ever imported or executed from the current directory.

:data:`FIGURES` lists the figures by name, with the command that writes the cache each one
reads; :func:`draw` draws one by name. ``opauc-sim figures`` draws them all.

The training figures (``train_sweep``, ``false_negatives``) read the summaries of
:mod:`opauc_sim.train.summary`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import NamedTuple

__all__ = ["FIGURES", "Figure", "draw", "select"]


class Figure(NamedTuple):
    """A registered figure: its name (the module under ``opauc_sim.plots``), the PNGs it
    writes, and the command that computes the cache it reads."""

    name: str
    pngs: str
    source: str


FIGURES: tuple[Figure, ...] = (
    Figure("beta_curves", "beta_curves.png", "opauc-sim simulate fig6"),
    Figure("beta_curves_by_k", "beta_curves_by_k.png", "opauc-sim simulate fig6"),
    Figure("peak_law", "peak_law.png", "opauc-sim simulate peak-law"),
    Figure("binormal_peaks", "binormal_peaks.png", "opauc-sim simulate binormal"),
    Figure("methods", "methods.png", "opauc-sim simulate methods"),
    Figure("theorem3_bounds", "theorem3_bounds.png", "opauc-sim proof-tables"),
    Figure("theorem1_dns_bias", "theorem1_dns_bias.png", "opauc-sim proof-tables"),
    Figure("theorem2_taylor_tau", "theorem2_taylor_tau.png", "opauc-sim proof-tables"),
    Figure("train_sweep", "train_<sweep>_<sampler>_<param>.png", "opauc-sim sweep"),
    Figure(
        "guideline",
        "guideline_<dataset>[_oracle][_explore][_curves].png",
        "studies/guideline.py (in a clone of opauc-sim; a wheel has no studies/)",
    ),
    Figure("false_negatives", "false_negatives.png", "opauc-sim false-negatives"),
)

_BY_NAME = {f.name: f for f in FIGURES}


def select(only: list[str] | tuple[str, ...] | None = None) -> list[Figure]:
    """The registered figures whose name contains one of ``only`` (all when empty)."""
    if not only:
        return list(FIGURES)
    return [f for f in FIGURES if any(key in f.name for key in only)]


def draw(name: str, results_dir: str | Path = "results", out_dir: str | Path = "figures"):
    """Draw the registered figure ``name`` from ``results_dir`` into ``out_dir``.

    Returns
    -------
    list of pathlib.Path
        The PNGs written.

    Raises
    ------
    ValueError
        ``name`` is not a registered figure.
    FileNotFoundError
        The cache it reads has not been computed.
    """
    if name not in _BY_NAME:
        raise ValueError(f"no figure named {name!r}; known: {', '.join(_BY_NAME)}")
    module = importlib.import_module(f"opauc_sim.plots.{name}")
    return list(module.draw(results_dir=str(results_dir), out_dir=str(out_dir)) or [])
