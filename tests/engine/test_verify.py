"""`folio verify`: a statement checked claim by claim against a real indexed collection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine.test_cli import folio

POLICY = (
    "# Travel policy\n\n"
    "Northwind Traders reimburses hotel stays of up to 180 euros per night in Paris. "
    "Economy class is required for flights shorter than 6 hours.\n\n"
    "# Equipment\n\n"
    "Every new employee receives a laptop from the IT desk in Lyon within 5 days of starting. "
    "Staff may not install their own software on company laptops.\n"
)
TRUE = "Every new employee receives a laptop from the IT desk in Lyon within 5 days of starting."


@pytest.fixture
def home(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "handbook.md").write_text(POLICY, "utf-8")
    (docs / "canteen.md").write_text(
        "# Canteen\n\nThe canteen opens at 8 am and serves lunch until 2 pm.", "utf-8"
    )
    h = tmp_path / "home"
    folio(h, "index", str(docs), "-c", "HR")
    return h


def verify(home: Path, statement: str) -> list[dict[str, object]]:
    run = folio(home, "verify", statement, "-c", "HR", "--json")
    return json.loads(run.stdout)["claims"]  # type: ignore[no-any-return]


def test_a_copied_sentence_is_supported_with_its_page(home: Path) -> None:
    [claim] = verify(home, TRUE)
    assert claim["status"] == "supported"
    assert Path(str(claim["document"])).name == "handbook.md" and claim["page"] == 1
    assert claim["reason"] == "handbook.md, section 1 says this."


@pytest.mark.parametrize(
    ("changed", "reason"),
    [
        (
            TRUE.replace("5 days", "15 days"),
            "15 days is not in handbook.md, section 1, which says 5 days.",
        ),
        (
            TRUE.replace("5 days", "5 weeks"),
            "5 weeks is not in handbook.md, section 1, which says 5 days.",
        ),
        (TRUE.replace("Lyon", "Berlin"), "does not mention Berlin"),
        (TRUE.replace("receives", "does not receive"), "says the opposite"),
    ],
)
def test_one_changed_fact_is_not_supported(home: Path, changed: str, reason: str) -> None:
    [claim] = verify(home, changed)
    assert claim["status"] == "contradicted", claim
    assert reason in str(claim["reason"])
    assert Path(str(claim["document"])).name == "handbook.md"


def test_a_statement_is_checked_claim_by_claim(home: Path) -> None:
    claims = verify(
        home,
        "Hotel stays are reimbursed up to 180 euros per night in Paris. "
        "Hotel stays are reimbursed up to 250 euros per night in Paris. "
        "The gym is open on Sundays.",
    )
    assert [c["status"] for c in claims] == ["supported", "contradicted", "not found"]
    assert claims[1]["reason"] == (
        "250 euros is not in handbook.md, section 1, which says 180 euros."
    )
    assert claims[2]["document"] is None
    text = folio(home, "verify", "The canteen opens at 9 am.", "-c", "HR").stdout
    assert "✗ The canteen opens at 9 am." in text and "0 of 1 claim is supported" in text
