"""Answers made of quotes: real MiniLM, the real default model's size, a real collection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Library
from engine.chat import AskOptions, ChatSession
from engine.generate import GenSettings, load_generator
from engine.generate.base import Generator
from engine.quotes import chosen_numbers, preset_for


@pytest.fixture(scope="module")
def model() -> Iterator[Generator]:
    yield load_generator(settings=GenSettings(temperature=0.0, max_answer_tokens=60))


HANDBOOK = (
    "# Leave\n\nFull-time staff get 25 days of annual leave per year. Part-time staff get leave "
    "in proportion to their hours. Requests go to the line manager two weeks ahead.\n\n"
    "# Parking\n\nParking permits are issued by the facilities office on the ground floor. "
    "A permit costs 40 euros per year."
)


def test_small_model_answers_with_exact_quotes_by_default(
    library: Library, tmp_path: Path, model: Generator
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "handbook.md").write_text(HANDBOOK, "utf-8")
    coll = library.create("HR")
    coll.index([tmp_path / "docs"])
    assert 100e6 < model.parameters() < 200e6  # SmolLM2-135M
    assert preset_for(model.parameters(), "auto") == "quotes"
    assert preset_for(7_000_000_000, "auto") == "answer"
    assert preset_for(model.parameters(), "answer") == "answer"

    answer = ChatSession([coll], model).ask(
        "How many days of annual leave do full-time staff get?", AskOptions(preset="auto", k=3)
    )
    assert answer.preset == "quotes" and answer.stats.answer_tokens == 0
    lines = answer.text.splitlines()
    assert lines[0] == "“Full-time staff get 25 days of annual leave per year.” [1]"
    sources = {s.number: s.text for s in answer.included}
    for line in lines:  # every line is a sentence of the source it cites, word for word
        quote, marker = line.rsplit(" ", 1)
        assert quote.strip("“”") in sources[int(marker.strip("[]"))]
    assert answer.sentences[0].status == "supported"
    assert answer.notices[0].startswith("Answered with quotes from your documents: the model")
    assert answer.to_json()["preset"] == "quotes"
    # The optional line by the model comes after the quotes, labelled as the model's.
    summed = ChatSession([coll], model).ask(
        "How many days of annual leave do full-time staff get?",
        AskOptions(preset="quotes", k=3, quote_summary=True),
    )
    quotes, summary = summed.text.split("\n\n", 1)
    assert quotes == answer.text
    assert summary.startswith("In short (written by the model, not a quote): ")
    assert len(summary) > len("In short (written by the model, not a quote): ")
    assert summed.stats.answer_tokens > 0 and summed.notices == []  # chosen, not automatic
    # Chosen explicitly, the written answer is the model's.
    written = ChatSession([coll], model).ask(
        "How many days of annual leave do full-time staff get?", AskOptions(preset="answer")
    )
    assert written.preset == "" and written.stats.answer_tokens > 0
    coll.close()


def test_reply_numbers_are_read_in_order_and_nothing_else_counts() -> None:
    assert chosen_numbers("3, 1", 8) == [3, 1]
    assert chosen_numbers(" 2 and 5.", 8) == [2, 5]
    assert chosen_numbers("2, 2, 9, 4", 8) == [2, 4]  # repeats and numbers out of range dropped
    assert chosen_numbers("1, 2, 3, 4, 5", 8) == [1, 2, 3]  # at most three quotes
    # Words end the reply: a model that writes prose chooses nothing by it.
    assert chosen_numbers("Staff get 25 days of leave.", 8) == []
    assert chosen_numbers("4. Staff get 25 days", 8) == [4]


def test_model_picks_quotes_by_number_among_the_best_sentences(
    library: Library, tmp_path: Path, model: Generator
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "handbook.md").write_text(HANDBOOK, "utf-8")
    coll = library.create("HR")
    coll.index([tmp_path / "docs"])
    session = ChatSession([coll], model)
    by_scores = session.ask("How much does a parking permit cost?", AskOptions(preset="quotes"))
    by_model = session.ask(
        "How much does a parking permit cost?", AskOptions(preset="quotes", quote_pick="model")
    )
    assert by_scores.stats.answer_tokens == 0 and by_scores.model == ""
    assert by_model.stats.answer_tokens > 0 and by_model.model == model.name  # it was asked
    assert "“A permit costs 40 euros per year.” [1]" in by_model.text.splitlines()
    sources = {s.number: " ".join(s.text.split()) for s in by_model.included}
    for line in by_model.text.splitlines():  # whatever it chose is a sentence of its source
        quote, marker = line.rsplit(" ", 1)
        assert quote.strip("“”") in sources[int(marker.strip("[]"))]
    assert all(s.status == "supported" for s in by_model.sentences)
    coll.close()
