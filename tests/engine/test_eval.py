"""``folio eval``: recall@k and MRR of documents and pages, computed by hand on fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli import main
from engine.evaluate import answer_pages, evaluate, load_questions, matches
from engine.types import Hit
from tests.engine.test_readers import make_pdf


def _hit(doc_id: int, path: str, page: int) -> Hit:
    return Hit(0, doc_id, path, page, 0, 1, "x", 1.0)


def test_recall_and_mrr_by_hand(tmp_path: Path) -> None:
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"question": "q1", "document": "a.pdf", "page": 2},  # page at rank 2
                {"question": "q2", "document": "b", "pages": "5;6"},  # doc rank 1, page miss
                {"question": "q3", "document": "*c*", "answer": "It was 1,234.5 in total."},
                {"question": "q4", "document": "missing.pdf"},  # not in the collection
                {"question": "", "document": "a.pdf"},  # no question: left out
            ]
        ),
        "utf-8",
    )
    questions, problems = load_questions(qfile)
    assert [q.question for q in questions] == ["q1", "q2", "q3", "q4"]
    assert problems == ["line 5: no question"]
    docs = [(1, "/d/a.pdf"), (2, "/d/b.md"), (3, "/d/report-c.pdf")]
    results = {
        "q1": [_hit(2, "/d/b.md", 1), _hit(1, "/d/a.pdf", 2), _hit(1, "/d/a.pdf", 3)],
        "q2": [_hit(2, "/d/b.md", 1), _hit(1, "/d/a.pdf", 5)],
        "q3": [_hit(1, "/d/a.pdf", 1), _hit(2, "/d/b.md", 1), _hit(3, "/d/report-c.pdf", 7)],
        "q4": [_hit(1, "/d/a.pdf", 1)],
    }
    pages = {3: {6: "no figures here", 7: "the total was 1,234.5", 8: "1,234.5 again"}}
    report = evaluate(questions, docs, lambda d: pages.get(d, {}), lambda q, k: results[q][:k], k=3)
    s = report.summary()
    # Scored: q1, q2, q3 (q4's document is not indexed). Document ranks 2, 1, 3.
    assert s["questions_scored"] == 3
    assert s["document_recall_at_3"] == 1.0
    assert s["document_mrr"] == round((1 / 2 + 1 + 1 / 3) / 3, 3)
    # Pages: q1 rank 2; q2 miss (pages 5, 6 of b); q3's answer is on pages 7 and 8 of c: rank 3.
    assert s["questions_with_page"] == 3
    assert s["page_recall_at_3"] == round(2 / 3, 3)
    assert s["page_mrr"] == round((1 / 2 + 0 + 1 / 3) / 3, 3)
    assert [r.question for r in report.misses()] == ["q2"]
    q3 = next(r for r in report.results if r.question == "q3")
    assert q3.gold_pages == [("report-c.pdf", 7), ("report-c.pdf", 8)]
    q4 = next(r for r in report.results if r.question == "q4")
    assert q4.note == "the expected document is not in the collection"
    # k=1: only first hits count.
    one = evaluate(questions, docs, lambda d: pages.get(d, {}), lambda q, k: results[q][:k], k=1)
    assert one.summary()["document_recall_at_1"] == round(1 / 3, 3)


def test_matching_and_answer_pages() -> None:
    assert matches("2023 Q3 AAPL", "/x/2023 Q3 AAPL.pdf")
    assert matches("*AAPL*", "/x/2023 Q3 AAPL.pdf")
    assert matches("2023 q3 aapl.PDF", "/x/2023 Q3 AAPL.pdf")
    assert not matches("AAPL", "/x/2023 Q3 AAPL.pdf")
    # Figures locate pages; a year alone does not.
    pages = {1: "in 2023 we grew", 2: "sales 36,413 and 12.5%", 3: "sales 36,413"}
    assert answer_pages("$36,413 million, 12.5% of sales, in 2023", pages) == [2]
    assert answer_pages("The Dayton plant", {1: "x", 2: "the dayton plant closed"}) == [2]


@pytest.mark.slow
def test_folio_eval_on_a_real_collection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "travel.pdf").write_bytes(
        make_pdf(
            [
                "Travel policy\nOverview of business travel for all staff.",
                "Hotels\nHotel stays are booked through the travel desk, up to 180 euros a night.",
                "Trains\nSecond-class rail tickets are the rule for journeys under four hours.",
            ]
        )
    )
    (docs / "leave.md").write_text(
        "# Leave\n\nFull-time staff get 25 days of annual leave per year.\n", "utf-8"
    )
    home = str(tmp_path / "home")
    assert main(["--home", home, "collections", "create", "HR"]) == 0
    assert main(["--home", home, "index", str(docs), "--collection", "HR"]) == 0
    qfile = tmp_path / "questions.csv"
    qfile.write_text(
        "question,document,page,answer\n"
        "How much may a hotel night cost?,travel.pdf,2,\n"
        "Which rail class do staff travel in?,travel,,Second-class rail tickets\n"
        "How many days of annual leave do staff get?,leave.md,,\n"
        "What is the parking fee?,parking.pdf,,\n",
        "utf-8",
    )
    capsys.readouterr()
    assert main(["--home", home, "eval", "--questions", str(qfile), "-c", "HR", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["questions"] == 4 and out["questions_scored"] == 3
    assert out["questions_with_page"] == 2  # the page given, and the page found by the answer
    assert out["document_recall_at_5"] == 1.0 and out["page_recall_at_5"] == 1.0
    by_q = {r["question"]: r for r in out["results"]}
    assert by_q["Which rail class do staff travel in?"]["answer_pages"] == [
        {"document": "travel.pdf", "page": 3}
    ]
    assert by_q["How much may a hotel night cost?"]["page_rank"] == 1
    assert main(["--home", home, "eval", "--questions", str(qfile), "-c", "HR"]) == 0
    text = capsys.readouterr().out
    assert "page recall@5:     1.000" in text
    assert "not scored: What is the parking fee?" in text
