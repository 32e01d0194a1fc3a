"""Integration: the real MiniLM model on the docugami 10-Q PDFs, page-level search."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Collection, EngineConfig, Library
from tests.conftest import corpus_path


@pytest.fixture(scope="module")
def tenq(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[Collection]:  # type: ignore[no-untyped-def]
    docs = corpus_path("qa", "docugami_kg_rag", "sec-10-q", "data", "v1", "docs")
    home = tmp_path_factory.mktemp("tenq")
    lib = Library(EngineConfig(home=home), embedder=embedder)
    coll = lib.create("10-Q")
    report = coll.index([docs])
    # Every PDF is accounted for; the ones pypdf cannot open say why.
    assert len(report.indexed) + len(report.failed) == len(list(docs.glob("*.pdf")))
    assert len(report.indexed) >= 18
    assert all(f.reason for f in report.failed)
    yield coll
    coll.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("phrase", "page"),
    [
        (
            "Net sales disaggregated by significant products and services for the three- and "
            "nine-month periods ended July 1, 2023 and June 25, 2022",
            10,
        ),
        (
            "The following table shows net sales by category for the three- and nine-month "
            "periods ended July 1, 2023 and June 25, 2022",
            19,
        ),
    ],
)
def test_phrase_is_found_on_its_page(tenq: Collection, phrase: str, page: int) -> None:
    hits = tenq.search(phrase, k=5)
    top = hits[0]
    assert Path(top.path).name == "2023 Q3 AAPL.pdf"
    assert top.page == page
    # The hit's span lies within that page's text.
    assert 0 <= top.start < top.end


@pytest.mark.slow
def test_exhaustive_lists_all_apple_reports(tenq: Collection) -> None:
    groups = tenq.search_all("Apple iPhone Mac iPad net sales")
    names = {Path(g.path).name for g in groups}
    apple = {f"{q} AAPL.pdf" for q in ("2022 Q3", "2023 Q1", "2023 Q2", "2023 Q3")}
    indexed = {Path(d.path).name for d in tenq.documents() if d.status == "indexed"}
    assert apple & indexed <= names
