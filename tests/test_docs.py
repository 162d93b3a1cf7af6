"""The repository's own documentation: links resolve, section references exist, the contract
lives inside the repository, and the tables copied from results match them."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
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
    assert f"{per_metric} settings per metric" in (ROOT / "README.md").read_text()
