"""A word only a handful of passages hold finds the page that holds it, among look-alikes.

Reports made from one template get the same embedding and the same stemmed word overlap on
every page; the reference number on one page is all that tells them apart. The first stage
finds it by keyword, and the second stage must not bury it under pages that merely talk about
the same things (before it read rare words, "When was invoice INV-… paid?" put another report's
delivery page first for eight of these nine references).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import Collection, EngineConfig, Library
from engine.retrieve import RARE_PASSAGES, rare_terms, term_counts
from tests.engine.test_readers import make_pdf

CODES = [f"INV-{40000 + 1379 * n}" for n in range(1, 10)]


@pytest.fixture(scope="module")
def lookalikes(tmp_path_factory: pytest.TempPathFactory, embedder) -> Collection:  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("lookalike")
    folder = home / "reports"
    folder.mkdir()
    for n, code in enumerate(CODES, start=1):
        pages: list[str | None] = [
            f"Delivery note {i}. The goods were delivered to the warehouse"
            " and the invoice was paid."
            for i in range(1, 40)
        ]
        if n == 1:
            pages[1] = "The forklift was serviced before the delivery."
        pages.append(f"Closing page. Reference {code}.")
        (folder / f"report-{n}.pdf").write_bytes(make_pdf(pages))
    lib = Library(EngineConfig(home=home / "folio", parse_workers=1), embedder=embedder)
    coll = lib.create("Look-alikes")
    report = coll.index([folder])
    assert not report.failed, report.failed
    return coll


def test_a_reference_word_ranks_the_page_that_holds_it_first(lookalikes: Collection) -> None:
    for n, code in enumerate(CODES, start=1):
        hits = lookalikes.search(code, k=5)
        assert hits, code
        assert Path(hits[0].path).name == f"report-{n}.pdf", (code, [h.path for h in hits])
        assert hits[0].page == 40
        assert code in hits[0].text


def test_a_reference_in_a_question_beats_pages_that_only_talk_alike(
    lookalikes: Collection,
) -> None:
    for n, code in enumerate(CODES, start=1):
        hits = lookalikes.search(f"When was invoice {code} paid?", k=5)
        assert (Path(hits[0].path).name, hits[0].page) == (f"report-{n}.pdf", 40), (
            code,
            [(Path(h.path).name, h.page) for h in hits],
        )


def test_only_words_a_handful_of_passages_hold_are_rare(lookalikes: Collection) -> None:
    number = CODES[0].split("-")[1]
    words = ["closing", "invoice", "inv", "forklift", number, "40000", "absentword"]
    df = term_counts(lookalikes.store, words)
    assert df["closing"] == len(CODES) and df["invoice"] > RARE_PASSAGES
    assert df[number] == 1 and df["forklift"] == 1 and df["40000"] == df["absentword"] == 0
    # "closing" and "inv" are on 9 pages: common here; a term no passage holds is not rare;
    # "forklift" is on one page, but it is a word, not a reference.
    assert rare_terms(df) == [number]
