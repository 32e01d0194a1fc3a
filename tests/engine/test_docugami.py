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
    # Apple's four filings and one of Nvidia's as a distractor (the whole set of 20 takes
    # minutes to embed on 2 cores; `folio bench index` measures all of them).
    folder = home / "filings"
    folder.mkdir()
    chosen = [f"{q} AAPL.pdf" for q in ("2022 Q3", "2023 Q1", "2023 Q2", "2023 Q3")]
    chosen += ["2023 Q1 NVDA.pdf"]
    for name in chosen:
        (folder / name).symlink_to(docs / name)
    lib = Library(EngineConfig(home=home / "folio"), embedder=embedder)
    coll = lib.create("10-Q")
    report = coll.index([folder])
    # Every PDF is accounted for; any that cannot be opened says why.
    assert len(report.indexed) + len(report.failed) == len(chosen)
    assert {f"{q} AAPL.pdf" for q in ("2022 Q3", "2023 Q1", "2023 Q2", "2023 Q3")} <= {
        Path(d.path).name for d in coll.documents() if d.status == "indexed"
    }
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
