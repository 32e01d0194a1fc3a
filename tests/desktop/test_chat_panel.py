"""The chat pane on real widgets with the real models: source cards first, streaming, chips,
Stop, and the transcript of turns with its citation links."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QTextCursor

from desktop.item_models import SourcesModel
from desktop.main_window import MainWindow
from desktop.transcript import STATUS_WORDS, saw_rows
from engine import Answer, Library
from engine.budget import IncludedSource
from engine.citations import cite, worst
from engine.generate.base import GenerationStats

SHOTS = Path(__file__).resolve().parents[1] / "screenshots"


def make_collection(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "handbook"
    folder.mkdir()
    (folder / "leave.md").write_text(
        "# Annual leave\n\nFull-time staff get 25 days of annual leave per year. Requests go to "
        "the line manager two weeks ahead.",
        "utf-8",
    )
    (folder / "parking.md").write_text(
        "# Parking\n\nParking permits are issued by the facilities office on the ground floor.",
        "utf-8",
    )
    coll = library.create("Handbook")
    coll.index([folder])
    coll.close()


def handbook_window(qtbot, library: Library, tmp_path: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    """The window, shown, on a two-document "Handbook" collection."""
    make_collection(library, tmp_path)
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.current_collection() == "Handbook", timeout=10_000)
    return window


def test_ask_shows_evidence_then_streams_answer_with_chips(
    qtbot, library: Library, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    window = handbook_window(qtbot, library, tmp_path)
    window.settings.preset = "answer"  # a written answer, streamed token by token

    chat = window.chat
    chat.question.setText("How many days of annual leave do staff get?")
    # What is on screen when the first token arrives: the source cards must be there already.
    at_first_token: list[tuple[list[str], str]] = []
    chat.answer_started.connect(
        lambda: at_first_token.append(([c.name for c in chat.cards()], chat.answer.toPlainText()))
    )
    with qtbot.waitSignal(chat.answer_finished, timeout=120_000) as blocker:
        chat.ask_button.click()
    answer: Answer = blocker.args[0]
    assert answer.stop in ("end", "length", "loop")
    # Evidence reached the screen before the first token of the answer did.
    assert chat.evidence_at is not None and chat.first_token_at is not None
    assert chat.evidence_at <= chat.first_token_at
    assert len(at_first_token) == 1
    names, shown_then = at_first_token[0]
    assert names[0] == "leave.md" and "[1] leave.md" in shown_then
    # The card's snippet has the question's words in bold.
    card_at = chat.answer.toPlainText().find("[1] leave.md")
    assert _bold_at(chat.answer.document(), "annual", card_at)
    assert not _bold_at(chat.answer.document(), "Full-time", card_at)
    assert answer.text.split()[0] in chat.answer.toPlainText()
    # "What the model saw" is folded under the answer; a click opens it with every row.
    rows = saw_rows(chat.turns[-1])
    assert len(rows) == len(answer.included) + len(answer.cut)
    assert rows[0][0] not in chat.answer.toPlainText()
    chat.answer.anchorClicked.emit(QUrl("folio-saw:0"))
    assert all(r[0] in chat.answer.toPlainText() for r in rows)
    chips = chat.chip_buttons()
    assert len(chips) == len({c.number for c in answer.citations})
    for chip in chips:  # each chip shows the worst status of the sentences citing it
        n = int(chip.text().split("]")[0].strip("["))
        assert chip.property("status") == worst(
            [c.status for c in answer.citations if c.number == n]
        )
    assert answer.summary and answer.summary in chat.answer.toPlainText()
    SHOTS.mkdir(exist_ok=True)
    window.grab().save(str(SHOTS / "chat.png"))
    window.close()


def test_stop_ends_a_running_answer(qtbot, library: Library, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = handbook_window(qtbot, library, tmp_path)
    window.settings.preset = "answer"  # the model writes, and Stop ends it
    chat = window.chat
    chat.question.setText("Write a very long essay about every rule in the handbook.")
    chat.answer_started.connect(chat.stop_button.click)
    with qtbot.waitSignal(chat.answer_finished, timeout=120_000) as blocker:
        chat.ask_button.click()
    assert blocker.args[0].stop == "cancelled"
    assert "Stopped." in chat.notice.text()
    assert not chat.stop_button.isEnabled()
    window.close()


def marks_in(doc) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Each sentence's ✓/✗/?/≈ mark in the transcript with the tooltip it shows on hover
    (not a "?" of the question, nor the marks on the source cards)."""
    out = []
    cursor = QTextCursor(doc)
    text = doc.toPlainText()
    for i, ch in enumerate(text):
        if ch in "✓✗?≈":
            cursor.setPosition(i + 1)
            tip = cursor.charFormat().toolTip()
            if tip.startswith(tuple(STATUS_WORDS.values())):
                out.append((ch, tip))
    return out


def _bold_at(doc, word: str, after: int) -> bool:  # type: ignore[no-untyped-def]
    """Whether the first ``word`` after position ``after`` is in bold."""
    at = doc.toPlainText().find(word, after)
    assert at >= 0, word
    cursor = QTextCursor(doc)
    cursor.setPosition(at + 1)
    return bool(cursor.charFormat().fontWeight() >= 700)


def test_true_and_false_sentence_get_their_own_marks_and_the_chip_the_worst(
    qtbot, library: Library, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    window = handbook_window(qtbot, library, tmp_path)
    coll = library.open("Handbook")
    hit = next(h for h in coll.search("annual leave days", k=3) if h.name == "leave.md")
    sources = [IncludedSource(1, 1, hit, hit.text, 20, False)]

    def similarity(sentences, passages):  # type: ignore[no-untyped-def]
        a, b = library.embedder.embed(list(sentences)), library.embedder.embed(list(passages))
        return a @ b.T

    text = (
        "Full-time staff get 25 days of annual leave per year [1]. "
        "Full-time staff get 30 days of annual leave per year [1]."
    )
    cited = cite(text, sources, similarity)
    answer = Answer(
        question="How much leave do staff get?", mode="answer", text=cited.text,
        citations=cited.citations, included=sources, cut=[], documents=[], stop="end",
        notices=[], retrieval_ms=1.0, stats=GenerationStats(), model="test", plan=None,
        sentences=cited.sentences,
    )  # fmt: skip
    window.chat.show_answer(answer)
    marks = marks_in(window.chat.answer.document())
    assert [m for m, _ in marks] == ["✓", "✗"]
    assert marks[1][1] == (
        "not backed by the source: 30 days is not in source [1], which says 25 days."
    )
    chips = window.chat.chip_buttons()
    assert [(c.text(), c.property("status")) for c in chips] == [("[1] ✗", "unsupported")]
    assert "30 days is not in source [1]" in chips[0].toolTip()
    # The same source in the chat's sources model: document, page and the worst check.
    sources = window.chat.sources
    assert sources.rowCount() == 1
    row = sources.index(0)
    assert row.data(SourcesModel.DocumentRole) == "leave.md"
    assert row.data(SourcesModel.PageRole) == hit.page
    assert row.data(SourcesModel.CheckRole) == "✗"
    assert row.data(SourcesModel.StatusRole) == "unsupported"
    assert "1 of 2 statements are backed by the sources." in window.chat.answer.toPlainText()
    # The one-click follow-up lists every document about the question (no model call).
    chat = window.chat
    assert chat.show_all_button.isVisibleTo(chat)
    with qtbot.waitSignal(chat.answer_finished, timeout=60_000) as blocker:
        chat.show_all_button.click()
    listed: Answer = blocker.args[0]
    assert listed.mode == "exhaustive" and listed.question == "How much leave do staff get?"
    assert Path(listed.documents[0].group.path).name == "leave.md"
    assert not chat.show_all_button.isVisibleTo(chat)
    coll.close()
    window.close()


def test_window_answers_a_small_model_with_quotes_by_default_and_says_so(
    qtbot, library: Library, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    make_collection(library, tmp_path)
    window = MainWindow(library)  # a fresh home: the settings are the defaults
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.current_collection() == "Handbook", timeout=10_000)
    assert window.settings.preset == "auto"
    chat = window.chat
    chat.question.setText("How many days of annual leave do full-time staff get?")
    with qtbot.waitSignal(chat.answer_finished, timeout=120_000) as blocker:
        chat.ask_button.click()
    answer: Answer = blocker.args[0]
    assert answer.preset == "quotes" and answer.stats.answer_tokens == 0
    first = answer.text.splitlines()[0]
    assert first == "“Full-time staff get 25 days of annual leave per year.” [1]"
    shown = chat.answer.toPlainText()
    assert "Full-time staff get 25 days of annual leave per year." in shown
    assert next(m for m, _ in marks_in(chat.answer.document())) == "✓"
    assert chat.notice.text().startswith(
        "Answered with quotes from your documents: the model is small (135 million parameters)"
    )
    # Asked to, the model picks the sentences by number: still only the sources' sentences.
    window.settings.quote_model_picks = True
    chat.question.setText("Who issues parking permits?")
    with qtbot.waitSignal(chat.answer_finished, timeout=120_000) as picked:
        chat.ask_button.click()
    answer = picked.args[0]
    assert answer.preset == "quotes" and answer.stats.answer_tokens > 0  # the model was asked
    sources = {s.number: " ".join(s.text.split()) for s in answer.included}
    lines = answer.text.splitlines()
    assert lines and "Parking permits are issued by the facilities office" in answer.text
    for line in lines:
        quote, marker = line.rsplit(" ", 1)
        assert quote.strip("“”") in sources[int(marker.strip("[]"))]
    window.close()
