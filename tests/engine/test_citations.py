"""Citation mapping and checking (pure logic; real embeddings in test_chat)."""

from __future__ import annotations

from engine.budget import IncludedSource
from engine.citations import (
    INFERRED,
    LIKELY,
    NO_SOURCE,
    SUPPORTED,
    UNSUPPORTED,
    cite,
    overlap,
    summary_line,
    worst,
)
from engine.types import Hit


def src(number: int, text: str, page: int = 1, context: str = "") -> IncludedSource:
    h = Hit(
        number * 10, number, f"/docs/doc{number}.pdf", page, 5, 5 + len(text), text, 1.0,
        context=context,
    )  # fmt: skip
    return IncludedSource(number, number, h, text, len(text.split()), False)


SOURCES = [
    src(1, "The staff handbook says annual leave is 25 days per year for full-time staff.", 3),
    src(2, "Parking permits are issued by the facilities office on the ground floor.", 7),
]


def test_markers_map_to_document_page_and_span() -> None:
    out = cite(
        "Staff get 25 days of annual leave per year [1]. Permits come from facilities [2].", SOURCES
    )
    assert [(c.number, c.path, c.page, c.start) for c in out.citations] == [
        (1, "/docs/doc1.pdf", 3, 5),
        (2, "/docs/doc2.pdf", 7, 5),
    ]
    # The first has a figure that the source confirms; the second has nothing to check.
    assert [c.status for c in out.citations] == [SUPPORTED, LIKELY]
    assert out.citations[0].sentence == "Staff get 25 days of annual leave per year."


def test_invalid_markers_are_dropped() -> None:
    out = cite("Leave is 25 days [1][7]. Parking is free [9].", SOURCES)
    assert out.dropped_markers == [7, 9]
    assert "[7]" not in out.text and "[9]" not in out.text
    assert out.text == "Leave is 25 days [1]. Parking is free."
    assert [c.number for c in out.citations] == [1]


def test_unsupported_claim_is_flagged() -> None:
    out = cite("The company pays a yearly bonus of ten thousand dollars [2].", SOURCES)
    assert out.citations[0].status == UNSUPPORTED
    assert out.citations[0].reason == "10 thousand dollars is not in source [2]."


def test_a_wrong_number_is_unsupported_with_the_source_figure() -> None:
    # Similarity alone (0.71 by the old word-or-meaning score) once marked this supported.
    out = cite("Staff get 30 days of annual leave [1].", SOURCES, _high_similarity)
    assert [(c.status, c.reason) for c in out.citations] == [
        (UNSUPPORTED, "30 days is not in source [1], which says 25 days.")
    ]
    assert out.sentences[0].status == UNSUPPORTED


def test_a_negated_claim_is_unsupported() -> None:
    out = cite("Full-time staff do not get annual leave [1].", SOURCES, _high_similarity)
    c = out.citations[0]
    assert c.status == UNSUPPORTED
    assert c.reason.startswith("The statement says the opposite of source [1], which says “The")
    # ...and a plain statement is not backed by a source sentence that denies it.
    no_parking = [src(1, "Visitors may not park in the staff car park at any time.")]
    out = cite("Visitors may park in the staff car park [1].", no_parking, _high_similarity)
    assert out.citations[0].status == UNSUPPORTED
    assert "says the opposite" in out.citations[0].reason


def test_a_changed_name_is_unsupported() -> None:
    sales = [src(1, "Apple reported iPhone net sales of 39,669 in the quarter.", 10)]
    assert cite("Apple reported iPhone net sales of 39,669 [1].", sales).citations[0].status == (
        SUPPORTED
    )
    out = cite("Apple reported Galaxy net sales of 39,669 [1].", sales, _high_similarity)
    assert (out.citations[0].status, out.citations[0].reason) == (
        UNSUPPORTED,
        "Source [1] does not mention Galaxy.",
    )


def test_table_figures_are_read_with_their_scale() -> None:
    table = [
        src(
            1,
            "Total net sales 81,797 82,959 Cost of sales 45,384",
            10,
            "2023 Q3 AAPL.pdf, Condensed Statements of Operations (In millions)",
        )
    ]
    ok = cite("Total net sales were $81.8 billion [1].", table)
    assert ok.citations[0].status == SUPPORTED
    assert cite("Total net sales were 81,797 [1].", table).citations[0].status == SUPPORTED
    wrong_scale = cite("Total net sales were $81.8 million [1].", table)
    assert (wrong_scale.citations[0].status, wrong_scale.citations[0].reason) == (
        UNSUPPORTED,
        "$81.8 million is not in source [1], which says 81,797 (in millions).",
    )
    wrong_pct = cite("Total net sales grew 5% [1].", table).citations[0]
    assert wrong_pct.status == UNSUPPORTED and wrong_pct.reason.startswith("5% is not in")
    wrong_year = cite("Total net sales were $81.8 billion in fiscal 2021 [1].", table)
    assert wrong_year.citations[0].status == UNSUPPORTED


def test_similarity_alone_makes_a_claim_only_likely() -> None:
    out = cite("Leave requests are handled for full-time staff [1].", SOURCES, _high_similarity)
    assert out.citations[0].status == LIKELY
    assert "no figures or names" in out.citations[0].reason


def test_an_uncited_statement_that_no_source_backs_is_no_source() -> None:
    out = cite("Staff get 25 days of leave [1]. Staff also get 40 days of sick pay.", SOURCES)
    assert [(s.status, s.sources) for s in out.sentences] == [
        (SUPPORTED, [1]),
        (NO_SOURCE, []),
    ]
    assert out.sentences[1].reason.startswith("It cites no source")
    assert [c.number for c in out.citations] == [1]  # nothing to attach a chip to


def test_each_sentence_has_its_own_status_and_the_chip_takes_the_worst() -> None:
    out = cite(
        "Staff get 25 days of annual leave [1]. Staff get 30 days of annual leave [1].", SOURCES
    )
    assert [s.status for s in out.sentences] == [SUPPORTED, UNSUPPORTED]
    assert worst([c.status for c in out.citations if c.number == 1]) == UNSUPPORTED
    assert summary_line(out.sentences) == "1 of 2 statements are backed by the sources."


def _high_similarity(sentences, passages):  # type: ignore[no-untyped-def]
    """A stand-in for an embedder that finds every sentence close to every passage."""
    import numpy as np

    return np.full((len(sentences), len(passages)), 0.9, dtype=np.float32)


def test_marker_after_full_stop_belongs_to_previous_sentence() -> None:
    out = cite("Annual leave is 25 days. [1] Parking permits come from facilities. [2]", SOURCES)
    assert [(c.number, c.sentence) for c in out.citations] == [
        (1, "Annual leave is 25 days."),
        (2, "Parking permits come from facilities."),
    ]


def test_grouped_and_ranged_markers() -> None:
    out = cite("Both facts hold [1, 2]. Again [Source 1-2].", SOURCES)
    assert [c.number for c in out.citations] == [1, 2, 1, 2]


def test_uncited_answer_is_attributed_and_marked_inferred() -> None:
    out = cite(
        "Full-time staff get 25 days of annual leave. Permits: the facilities office.", SOURCES
    )
    assert [(c.number, c.status) for c in out.citations] == [(1, INFERRED), (2, INFERRED)]


def test_summary_line_counts_backed_statements() -> None:
    assert summary_line([]) == ""
    one = cite("Staff get 25 days of annual leave [1].", SOURCES).sentences
    assert summary_line(one) == "The statement is backed by the sources."


def test_overlap_ignores_stopwords_and_plurals() -> None:
    assert overlap("the reports of the office", "Report from an office") == 1.0
    assert overlap("", "x") == 0.0


def test_a_figure_from_the_neighbouring_row_is_not_the_figure_of_this_row() -> None:
    table = [
        src(
            1,
            "Lease costs\nOperating lease cost 4,312\nVariable lease cost 1,048\n"
            "Total lease cost 5,360",
            12,
            "2023 Q3 AMZN.pdf, Lease cost (in millions)",
        )
    ]
    right = cite("Total lease cost was $5.4 billion [1].", table).citations[0]
    assert right.status == SUPPORTED
    wrong = cite("Total lease cost was $4.3 billion [1].", table).citations[0]
    assert (wrong.status, wrong.reason) == (
        UNSUPPORTED,
        "$4.3 billion is not what source [1] gives for this; it says 5,360 (in millions).",
    )
