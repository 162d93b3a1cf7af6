"""The repository's own documentation: links resolve, section references exist, the contract
lives inside the repository, the tables copied from results match them, the code blocks a
page marks run and print what the page shows (tests/doc_blocks.py says how to mark one),
and the README's test command is the one CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from tests import doc_blocks

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", *DOCS]
#: Pages whose owners have opted in whole: every python or pycon block on them is marked
#: ``test`` (it runs here) or ``notest`` (shown only, for a reason the page gives). To opt
#: a page in, mark its blocks (tests/doc_blocks.py) and add its name here.
CHECKED_PAGES = {
    "README.md",
    "architecture.md",
    "benchmarks.md",
    "definitions.md",
    "distributed.md",
    "evaluation.md",
    "experiments.md",
    "extending.md",
    "gowalla.md",
    "install.md",
    "reliability.md",
    "simulation.md",
    "theorems.md",
    "training.md",
}
TEXT_FILES = [
    p
    for pattern in ("*.py", "*.md", "*.sh", "*.toml", "*.cff")
    for p in ROOT.rglob(pattern)
    if not any(
        part.startswith(".") or part in ("build", "runs") for part in p.relative_to(ROOT).parts
    )
]


def test_the_contract_pages_exist():
    names = {p.name for p in DOCS}
    assert {"definitions.md", "theorems.md", "experiments.md"} <= names


def test_no_reference_to_a_spec_outside_the_repository():
    """ "SPEC §N" pointed at a file outside the repository: the contract is docs/ now."""
    found = []
    for path in TEXT_FILES:
        if path == Path(__file__):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in re.finditer(r"SPEC(\.md| §)", text):
            found.append(f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}")
    assert not found, found


@pytest.mark.parametrize("page", [ROOT / "README.md", *DOCS], ids=lambda p: p.name)
def test_relative_links_resolve(page):
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" in target:
            continue
        assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


def test_the_files_the_pages_name_exist():
    """A page that names ``tests/x.py``, ``tools/x.py`` or ``figures/x.png`` names a file that
    is there (tests and figures were renamed; the pages kept the old names)."""
    missing = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for name in re.findall(r"(?<![\w/.])((?:tests|tools|figures)/[\w/.-]+\.(?:py|png))", text):
            if not (ROOT / name).exists():
                missing.append(f"{page.name}: {name}")
    assert not missing, missing


def test_section_references_name_existing_sections():
    """``docs/definitions.md §3`` in code or docs must name a heading ``## 3.`` there."""
    for path in TEXT_FILES:
        text = path.read_text(encoding="utf-8", errors="replace")
        for name, number in re.findall(r"docs/(\w+\.md) §(\d+)", text):
            page = (ROOT / "docs" / name).read_text(encoding="utf-8")
            assert re.search(rf"^## {number}\. ", page, re.M), f"{path.name}: {name} §{number}"


def test_verdict_table_in_the_docs_matches_the_cached_verdicts():
    cached = pd.read_csv(ROOT / "results" / "proofs_check_verdicts.csv")
    text = (ROOT / "docs" / "theorems.md").read_text(encoding="utf-8")
    rows = [
        [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        for line in text.splitlines()
        if re.match(r"\| (Theorem|Lemma) \d", line)
    ]
    assert [(r[0], r[1], r[5]) for r in rows] == list(
        zip(cached["result"], cached["claim"], cached["verdict"], strict=True)
    )
    assert [int(r[2].replace(",", "")) for r in rows] == cached["cases"].tolist()


def test_peak_law_counts_in_the_docs_match_the_cached_result():
    law = pd.read_csv(ROOT / "results" / "peak_law.csv")
    per_metric = len(law) // law["metric"].nunique()
    assert f"{per_metric} settings" in (ROOT / "docs" / "experiments.md").read_text()
    assert f"{per_metric} settings per metric" in (ROOT / "docs" / "simulation.md").read_text()


# -- the code blocks of the pages -----------------------------------------------------------


def _pages_with_tested_blocks() -> list[Path]:
    return [p for p in PAGES if any(b.tested for b in doc_blocks.blocks(p))]


@pytest.mark.parametrize("page", _pages_with_tested_blocks(), ids=lambda p: p.name)
def test_code_blocks_run_and_print_what_the_page_shows(page, monkeypatch):
    """Each block marked ``test`` runs (in page order, one namespace per page), and what it
    prints matches the page's output, each number to the precision the page writes."""
    monkeypatch.chdir(ROOT)
    namespace: dict = {"__name__": f"docs.{page.stem}"}
    failures, skipped = [], []
    for block in doc_blocks.blocks(page):
        if not block.tested:
            continue
        why = doc_blocks.missing(block)
        if why:
            skipped.append(f"{block.where} needs {', '.join(why)}")
            continue
        failures += doc_blocks.run_block(block, namespace)
        if block.outputs and block.output is None:
            skipped.append(f"{block.where} ran; no output recorded for {doc_blocks.cpu_class()}")
    assert not failures, "\n\n".join(failures)
    if skipped:
        pytest.skip("; ".join(skipped))


@pytest.mark.parametrize("name", sorted(CHECKED_PAGES))
def test_checked_pages_mark_every_python_block(name):
    page = ROOT / name if name == "README.md" else ROOT / "docs" / name
    unmarked = [
        b.where
        for b in doc_blocks.blocks(page)
        if b.language in ("python", "pycon") and not (b.tested or b.untested)
    ]
    assert not unmarked, f"mark these blocks 'test' or 'notest': {unmarked}"


def test_output_blocks_follow_a_tested_block():
    """An ``output`` block is compared only when it comes right after a tested block."""
    for page in PAGES:
        for b in doc_blocks.blocks(page):
            assert "output" not in b.words, f"{b.where}: an output block after no tested block"
            if b.outputs:
                assert b.tested and b.language == "python", f"{b.where}: untested block's output"
            classes = [o.options.get("cpu", ["any"])[0] for o in b.outputs]
            assert len(set(classes)) == len(classes), f"{b.where}: two outputs for {classes}"
            assert "any" not in classes or len(classes) == 1, f"{b.where}: {classes}"


def test_a_stale_number_fails_and_a_rounded_one_passes():
    assert not doc_blocks.differences("DNS 0.2150 / 0.2498", "DNS 0.21504 / 0.24977")
    assert doc_blocks.differences("DNS 0.2112 / 0.2420", "DNS 0.2150 / 0.2498") == [
        "0.2112 on the page, 0.2150 printed",
        "0.2420 on the page, 0.2498 printed",
    ]
    assert not doc_blocks.differences("40968, 1407.5", "40968.0,   1407.5")
    assert doc_blocks.differences("kept 99.8%", "kept 99.7%")
    assert doc_blocks.differences("best N = 300", "best M = 300")  # text must match
    assert not doc_blocks.differences("shape (3, 4) ...", "shape (3, 4) and more text")
    assert not doc_blocks.differences("1.2e-04", "0.000121")  # within 0.05e-4
    assert doc_blocks.differences("1.2e-04", "0.000126")


def test_a_page_with_a_stale_example_fails(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "```pycon test\n>>> round(2 / 3, 3)\n0.667\n>>> x = 41\n```\n\n"
        "```python test\nprint(x + 1, 2 / 3)\n```\n\n```text output\n42 0.6667\n```\n\n"
        "```python test\nprint(x)\n```\n```text output\n40\n```\n"
        "```python notest\nraise SystemExit\n```\n",
        encoding="utf-8",
    )
    found = doc_blocks.blocks(page)
    assert [b.tested for b in found] == [True, True, True, False]
    namespace: dict = {}
    assert doc_blocks.run_block(found[0], namespace) == []
    assert doc_blocks.run_block(found[1], namespace) == []
    (failure,) = doc_blocks.run_block(found[2], namespace)
    assert "40 on the page, 41 printed" in failure


def test_the_output_of_this_machines_cpu_class_is_compared(tmp_path, monkeypatch):
    page = tmp_path / "page.md"
    page.write_text(
        "```python test\nprint(0.5)\n```\n\n```text output cpu=znver4\n0.5\n```\n\n"
        "```text output cpu=haswell\n0.7\n```\n",
        encoding="utf-8",
    )
    (block,) = doc_blocks.blocks(page)
    assert [o.options["cpu"] for o in block.outputs] == [["znver4"], ["haswell"]]
    monkeypatch.setattr(doc_blocks, "cpu_class", lambda: "znver4")
    assert doc_blocks.run_block(block, {}) == []
    monkeypatch.setattr(doc_blocks, "cpu_class", lambda: "haswell")
    (failure,) = doc_blocks.run_block(block, {})
    assert "0.7 on the page, 0.5 printed" in failure
    monkeypatch.setattr(doc_blocks, "cpu_class", lambda: "znver3")
    assert block.output is None and doc_blocks.run_block(block, {}) == []


# -- the README's commands ------------------------------------------------------------------

TEST_MARKER = "<!-- ci: the test command -->"


def _readme_command(marker: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert marker in text, f"README.md has lost the marker {marker!r}"
    after = text.split(marker, 1)[1]
    return next(line for line in after.splitlines() if line.startswith("python3 "))


def test_the_readme_test_command_is_what_ci_runs_and_needs_nothing_local():
    """CI runs the README's test command as written (.ci/run reads it from the README), and
    the command needs no file, pin or wheel that only this project's machines have."""
    command = _readme_command(TEST_MARKER)
    assert TEST_MARKER in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "constraints" not in command and "torch" not in command
    extras = re.search(r"-e '\.\[([a-z,]+)\]'", command)
    assert extras and "train" not in extras[1].split(","), command
    assert "test" in extras[1].split(","), command
    assert command.rstrip().endswith("python -m pytest"), command


def test_the_cross_checks_against_ranx_are_in_the_test_extra():
    """The README advertises the ranx cross-checks: the test command must install ranx."""
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert any(r.startswith("ranx") for r in extras["test"])
