"""Passages that know their document: context headers, document routing, tables, numbers.

The real MiniLM model, real SQLite/FTS5 and hnswlib; the documents are written by the tests
(PDFs with the same builder as the reader tests), so every expectation is known by
construction.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import Collection, Library
from engine.index.store import INDEX_FORMAT
from engine.ingest import read_file
from engine.ingest.chunker import ChunkSettings, chunk_sections
from engine.ingest.context import chunk_contexts, is_table_row
from engine.ingest.numbers import joined_numbers
from engine.ingest.profile import profile_document
from engine.retrieve import SearchOptions
from tests.engine.test_readers import make_pdf


def _cover(org: str, year: int) -> str:
    return (
        "UNITED STATES\nSECURITIES AND EXCHANGE COMMISSION\nFORM 10-K\n"
        f"ANNUAL REPORT FOR THE FISCAL YEAR ENDED DECEMBER 31, {year}\n"
        f"For the fiscal year ended December 31, {year}\n"
        f"{org}\n(Exact name of registrant as specified in its charter)\nDelaware"
    )


def _cash_flow(year: int, capex: str, other: str) -> str:
    return (
        "CONSOLIDATED STATEMENTS OF CASH FLOWS\n(In millions)\n"
        f"Year Ended December 31,\n{year} {year - 1}\n"
        "Cash flows from investing activities:\n"
        f"Purchases of property, plant and equipment ({capex}) ({other})\n"
        "Proceeds from sales of businesses 110 55\n"
        # A long statement: its last rows land in a later chunk than its title.
        + "".join(f"Investment in joint venture number {i} {i * 7} {i * 5}\n" for i in range(1, 45))
        + "Net cash used in investing activities (1,204) (998)"
    )


def _prose(year: int) -> str:
    return (
        "Item 1A. Risk Factors\n"
        "Our business depends on the demand for industrial adhesives, which varies with the "
        f"economy. In {year} demand was steady and we expanded two plants in Ohio.\n"
        "We spend on property, plant and equipment every year to keep our plants modern."
    )


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory, embedder) -> Collection:  # type: ignore[no-untyped-def]
    from engine import EngineConfig

    home = tmp_path_factory.mktemp("acme")
    folder = home / "reports"
    folder.mkdir()
    # Two annual reports of one company, alike but for their year and figures, and another
    # company's report. The 2017 report's cash-flow page also says "capital expenditure" in so
    # many words, so that without routing it is the closer match to the question.
    r2017 = _cash_flow(2017, "1,373", "1,420") + "\nCapital expenditure for the year 1,373"
    (folder / "acme_2017_10K.pdf").write_bytes(
        make_pdf([_cover("ACME ADHESIVES CORP", 2017), _prose(2017), r2017])
    )
    (folder / "acme_2018_10K.pdf").write_bytes(
        make_pdf(
            [_cover("ACME ADHESIVES CORP", 2018), _prose(2018), _cash_flow(2018, "1,577", "1,373")]
        )
    )
    (folder / "globex_2018_10K.pdf").write_bytes(
        make_pdf(
            [_cover("GLOBEX SHIPPING INC", 2018), _prose(2018), _cash_flow(2018, "2,210", "1,980")]
        )
    )
    (folder / "notes.md").write_text(
        "# Plant notes\n\nThe Dayton plant switched to a four-day maintenance cycle in spring. "
        "Total output was 81,797 tonnes.\n",
        "utf-8",
    )
    (folder / "canteen.md").write_text(
        "The canteen serves vegetarian lentil soup every Friday and fish on Wednesdays.\n",
        "utf-8",
    )
    lib = Library(EngineConfig(home=home / "folio", parse_workers=1), embedder=embedder)
    coll = lib.create("Reports")
    report = coll.index([folder])
    assert not report.failed, report.failed
    return coll


def _name(path: str) -> str:
    return Path(path).name


def test_profile_reads_organisation_form_and_period(tmp_path: Path) -> None:
    f = tmp_path / "acme_2018_10K.pdf"
    f.write_bytes(make_pdf([_cover("ACME ADHESIVES CORP", 2018), "text"]))
    p = profile_document(f.name, read_file(f))
    assert p.organisation == "ACME ADHESIVES CORP"
    assert p.form == "10-K"
    assert p.period_end == "2018-12-31"
    assert 2018 in p.years
    assert p.label().startswith("ACME ADHESIVES CORP 10-K, fiscal year ended December 31, 2018")
    assert "acme 2018 10-K" in p.label()


def test_header_is_stored_apart_from_the_passage(acme: Collection) -> None:
    hits = acme.search("Purchases of property, plant and equipment", k=5)
    assert sum(h.path.endswith(".pdf") for h in hits) >= 3
    for h in hits:
        doc = read_file(Path(h.path))
        page_text = next(s.text for s in doc.sections if s.page == h.page)
        # The passage is exactly its span of the page: citations, offsets and highlights.
        assert h.text == page_text[h.start : h.end]
        assert h.context, "each passage has a context header"
        if h.path.endswith(".pdf") and h.page > 1:  # (the cover page says "FORM 10-K")
            # The header names the report; the passage's own text does not hold it.
            assert "10-K" in h.context and "10-K" not in h.text
    rows = acme.store.db.execute("SELECT context, text FROM chunks").fetchall()
    # The stored passage never has the header glued to it.
    assert rows and all(not text.startswith(ctx) for ctx, text in rows if ctx)
    assert acme.store.get_meta("index_format") == str(INDEX_FORMAT)


def test_a_table_row_carries_its_table_header(acme: Collection) -> None:
    hits = acme.search("Net cash used in investing activities", k=3)
    top = hits[0]
    assert "Net cash used in investing activities" in top.text
    assert "CONSOLIDATED STATEMENTS OF CASH FLOWS" in top.context


def test_fiscal_year_routes_to_that_years_report(acme: Collection) -> None:
    q = "What was Acme's capital expenditure in fiscal 2018?"
    hits = acme.search(q, k=5)
    assert _name(hits[0].path) == "acme_2018_10K.pdf"
    assert hits[0].page == 3
    # The same question without routing prefers the 2017 report, which uses those words:
    # the routing, not luck, put 2018 first.
    plain = acme.retriever().search(q, SearchOptions(k=5, route=False))
    assert _name(plain[0].path) == "acme_2017_10K.pdf"
    # Routing is a prior, never a filter: a question naming an organisation no document is
    # about still finds its passage, wherever it is.
    other = acme.search("What soup does the Initech canteen serve on Fridays?", k=5)
    assert _name(other[0].path) == "canteen.md"


def test_a_question_that_names_no_year_still_finds_its_passage(acme: Collection) -> None:
    hits = acme.search("Which maintenance cycle did the Dayton plant switch to?", k=3)
    assert _name(hits[0].path) == "notes.md"
    hits = acme.search("Acme capital expenditure purchases of property, plant and equipment", k=5)
    assert {_name(h.path) for h in hits[:3]} >= {"acme_2017_10K.pdf", "acme_2018_10K.pdf"}


def test_a_wrongly_named_year_does_not_hide_the_passage(acme: Collection) -> None:
    # No report of 2016 exists: the cash-flow pages still come first.
    hits = acme.search("Acme purchases of property, plant and equipment in 2016", k=5)
    assert hits[0].page == 3


def test_figures_match_with_and_without_thousands_separators(acme: Collection) -> None:
    for query in ("81797 tonnes", "81,797"):
        keyword = acme.retriever().search(query, SearchOptions(k=3))
        assert any(_name(h.path) == "notes.md" and h.keyword_rank for h in keyword), query
    assert joined_numbers("sales of 81,797 and (1,204.5) but not 2018 or 1.5") == ["81797", "1204"]


def test_page_ranking_returns_one_passage_per_page(acme: Collection) -> None:
    hits = acme.search("Acme annual report 2018", k=5)
    keys = [(h.doc_id, h.page) for h in hits]
    assert len(keys) == len(set(keys))


def test_table_rows_are_never_split(embedder) -> None:  # type: ignore[no-untyped-def]
    from engine.ingest.chunker import FastTokenizerOffsets
    from engine.types import Section

    rows = [
        f"U.S. Treasury securities series {i} 22,274 — (1,354) 20,920 — 8,076 12,844"
        for i in range(60)
    ]
    text = "The following table shows our holdings (in millions):\n" + "\n".join(rows)
    section = Section(page=1, text=text)
    tokens = FastTokenizerOffsets(embedder.tokenizer_file)
    chunks = chunk_sections([section], tokens, ChunkSettings(max_tokens=120, overlap_tokens=20))
    assert len(chunks) > 3
    line_starts = {0} | {i + 1 for i, c in enumerate(text) if c == "\n"}
    line_ends = {i for i, c in enumerate(text) if c == "\n"} | {len(text)}
    for c in chunks:
        # Every chunk starts at the start of a line and ends at the end of one: no row is
        # cut, not even at the "." of "U.S.".
        assert c.start in line_starts and c.end in line_ends, (c.start, c.end)
    assert all(is_table_row(r) for r in rows)
    contexts = chunk_contexts([section], chunks, profile_document("holdings.txt", _doc(text)))
    assert all("The following table shows our holdings" in h for h in contexts[1:])


def _doc(text: str):  # type: ignore[no-untyped-def]
    from engine.types import ParsedDocument, Section

    return ParsedDocument(kind="text", sections=(Section(page=1, text=text),))


def test_the_answer_prompt_shows_a_table_rows_header(acme: Collection) -> None:
    from engine.prompts import user_message

    hit = acme.search("Net cash used in investing activities", k=1)[0]
    prompt = user_message("What was the net cash used?", [(1, hit, hit.text)], False).text
    # The row's figures come with the table's title, in the untrusted sources block.
    assert "Table: " in prompt and "CONSOLIDATED STATEMENTS OF CASH FLOWS" in prompt
    assert prompt.index("CONSOLIDATED STATEMENTS") < prompt.index("Net cash used in investing")
    # A passage that holds no table row has no table line.
    prose = acme.search("demand for industrial adhesives varies with the economy", k=1)[0]
    assert "Table: " not in user_message("q", [(1, prose, prose.text)], False).text


def test_a_collection_from_an_older_folio_is_read_again(library: Library, tmp_path: Path) -> None:
    import sqlite3

    import numpy as np

    from engine.index.store import MIGRATIONS, Store

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "leave.md").write_text("# Leave\n\nStaff get 25 days of leave a year.\n", "utf-8")
    coll = library.create("Old")
    coll.index([folder])
    doc = coll.documents()[0]
    dim = coll.embedder.dim
    db_path = coll.store.path
    coll.close()
    # Rewrite the database as the previous version of Folio left it: schema 1 only (no
    # context headers, no document profiles), the same document and passage.
    db_path.unlink()
    for suffix in ("-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    con = sqlite3.connect(db_path)
    con.executescript(MIGRATIONS[0])
    con.execute("PRAGMA user_version=1")
    con.execute("INSERT INTO meta VALUES ('name', 'Old')")
    con.execute("INSERT INTO roots VALUES (?, 0)", (str(folder),))
    con.execute(
        "INSERT INTO documents(path, size, mtime_ns, sha256, kind, status, n_pages, n_chunks,"
        " indexed_at) VALUES (?, ?, ?, ?, 'markdown', 'indexed', 1, 1, 0)",
        (doc.path, doc.size, doc.mtime_ns, doc.sha256),
    )
    text = "# Leave\n\nStaff get 25 days of leave a year."
    vec = (np.ones(dim) / np.sqrt(dim)).astype(np.float32)
    con.execute(
        'INSERT INTO chunks(doc_id, ord, page, start, "end", n_tokens, text, vector)'
        " VALUES (1, 0, 1, 0, ?, 12, ?, ?)",
        (len(text), text, vec.tobytes()),
    )
    con.commit()
    con.close()
    (db_path.parent / "vectors.hnsw").unlink(missing_ok=True)

    store = Store(db_path)  # migrates to the current schema: keywords still searchable
    assert store.keyword_search('"leave"', 5)
    store.close()
    old = library.open("Old")
    assert old.index_outdated
    assert "earlier version of Folio" in old.outdated_notice
    # Unchanged on disk, yet read again: its passage gets its context header.
    report = old.index()
    assert [Path(o.path).name for o in report.indexed] == ["leave.md"]
    assert not old.index_outdated
    assert old.store.get_meta("index_format") == str(INDEX_FORMAT)
    row = old.store.db.execute("SELECT context FROM chunks").fetchone()
    assert row[0].startswith("Leave")
    # The next run reads nothing again.
    again = old.index()
    assert not again.indexed and len(again.unchanged) == 1
    old.close()
