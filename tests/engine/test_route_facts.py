"""How a question's names and periods are read, and which document they route to (pure logic:
no model; the routing with real reports is in test_retrieval_context.py)."""

from __future__ import annotations

import pytest

from engine.ingest.profile import DocumentProfile, quarters_in, readable_file_name, years_in
from engine.route import DocumentIndex, query_facts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("quick ratio for Q2 of FY2023", [(2023, 2)]),
        ("Q2 fiscal 2023", [(2023, 2)]),
        ("Q4 of fiscal year 2021", [(2021, 4)]),
        ("revenue in Q1 of 2022", [(2022, 1)]),
        ("q3 of fy'22", [(2022, 3)]),
        ("Q3 FY23 and again Q3 2023", [(2023, 3)]),  # once, however often it is written
        ("Q2 of 23 stores", []),  # a count, not a year
        ("in Q2 of the year", []),
    ],
)
def test_quarters_written_with_of_and_fiscal(text: str, expected: list[tuple[int, int]]) -> None:
    assert quarters_in(text) == expected


@pytest.mark.parametrize(
    ("question", "key"),
    [
        ("What was Coca-Cola's revenue in FY2021?", "cocacola"),
        ("AT&T capital expenditure in 2022", "att"),
        ("Johnson & Johnson net earnings 2022", "johnsonjohnson"),
        ("Amazon.com operating income", "amazoncom"),
    ],
)
def test_names_written_with_marks_inside_are_also_read_whole(question: str, key: str) -> None:
    assert key in query_facts(question).keys


def test_lowercase_compounds_are_not_names() -> None:
    assert "yearoveryear" not in query_facts("the year-over-year change at Acme").keys


def _index(names: list[str]) -> DocumentIndex:
    rows = []
    for i, name in enumerate(names, start=1):
        label = readable_file_name(name)
        profile = DocumentProfile(
            file_label=label,
            years=tuple(dict.fromkeys(years_in(label) + [y for y, _q in quarters_in(label)])),
            quarters=tuple(quarters_in(label)),
        )
        rows.append((i, f"/docs/{name}", profile.to_json(), None))
    return DocumentIndex.build(rows, 8)


def _best(index: DocumentIndex, question: str) -> tuple[int, dict[int, float]]:
    priors = index.priors(query_facts(question), None)
    best = max(priors, key=lambda k: priors[k])
    return best, priors


def test_a_hyphenated_name_routes_to_the_file_that_writes_it_together() -> None:
    index = _index(["COCACOLA_2021_10K.pdf", "PEPSICO_2021_10K.pdf", "KRAFTHEINZ_2021_10K.pdf"])
    best, priors = _best(index, "What was Coca-Cola's net revenue in FY2021?")
    assert best == 1 and priors[1] > priors[2] + 0.3


def test_an_ampersand_name_routes_to_its_file() -> None:
    index = _index(["AT&T_2022_10K.pdf", "VERIZON_2022_10K.pdf"])
    best, priors = _best(index, "How much did AT&T spend on capital expenditure in 2022?")
    assert best == 1 and priors[1] > priors[2] + 0.3


def test_q2_of_fy2023_routes_to_the_second_quarter_report() -> None:
    index = _index(["3M_2023Q1_10Q.pdf", "3M_2023Q2_10Q.pdf", "3M_2022_10K.pdf"])
    best, priors = _best(index, "Does 3M have a healthy quick ratio for Q2 of FY2023?")
    assert best == 2 and priors[2] > priors[1]


def test_a_whole_fiscal_year_prefers_the_annual_report_of_that_year() -> None:
    index = _index(["3M_2023Q2_10Q.pdf", "3M_2023_10K.pdf", "3M_2022_10K.pdf"])
    best, priors = _best(index, "What is 3M's FY2023 capital expenditure?")
    assert best == 2 and priors[2] > priors[1] > priors[3]
    # A quarter named, or a form named, is not overruled.
    best, _ = _best(index, "What was 3M's revenue in Q2 of FY2023?")
    assert best == 1
    best, _ = _best(index, "What did 3M's 10-Q say about fiscal 2023 so far?")
    assert best == 1


@pytest.mark.parametrize(
    "question", ["FY23 revenue", "fiscal 2023 revenue", "fiscal year 2023", "full-year results"]
)
def test_whole_fiscal_years_are_recognised(question: str) -> None:
    assert query_facts(question).forms == {"10-K"}


def test_a_year_alone_names_no_form() -> None:
    assert query_facts("revenue in 2023").forms == frozenset()
