"""Citation mapping and checking (pure logic; real embeddings in test_chat)."""

from __future__ import annotations

from engine.budget import IncludedSource
from engine.citations import INFERRED, SUPPORTED, UNSUPPORTED, cite, overlap
from engine.types import Hit


def src(number: int, text: str, page: int = 1) -> IncludedSource:
    h = Hit(number * 10, number, f"/docs/doc{number}.pdf", page, 5, 5 + len(text), text, 1.0)
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
    assert all(c.status == SUPPORTED for c in out.citations)
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


def test_overlap_ignores_stopwords_and_plurals() -> None:
    assert overlap("the reports of the office", "Report from an office") == 1.0
    assert overlap("", "x") == 0.0
