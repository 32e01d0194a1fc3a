"""The first five minutes, on the real app and the real default models: first start, the sample
collection, indexing progress, a question, its source cards, the streamed answer, a click on an
inline citation, the viewer at the passage, a follow-up question and the export.

Each step saves a screenshot to tests/screenshots/journey-NN-*.png for people to look at (the
README's picture is one of them).
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication, QWidget

from desktop.main_window import MainWindow
from engine import Answer, Library
from engine.sample import SAMPLE_COLLECTION, SAMPLE_QUESTION

SHOTS = Path(__file__).resolve().parents[1] / "screenshots"


def shot(widget: QWidget, n: int, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    QApplication.processEvents()
    widget.grab().save(str(SHOTS / f"journey-{n:02d}-{name}.png"))


def click_text(qtbot, chat, text: str, after: int = 0) -> None:  # type: ignore[no-untyped-def]
    """Click with the mouse on the first ``text`` after ``after`` in the transcript."""
    QApplication.processEvents()  # the view has settled where it scrolls to
    view = chat.answer
    at = view.toPlainText().find(text, after)
    assert at >= 0, text
    cursor = QTextCursor(view.document())
    cursor.setPosition(at + 1)
    view.setTextCursor(cursor)
    view.ensureCursorVisible()
    rect = view.cursorRect(cursor)
    where = QPoint(rect.x(), rect.center().y())
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)


def test_first_five_minutes(qtbot, library: Library, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.resize(1280, 820)
    window.show()
    qtbot.waitExposed(window)
    chat = window.chat

    # 1. First start: nothing indexed; the window says what to do.
    assert window.welcome.isVisible() and window.sample_button.isVisible()
    assert "Drop a folder" in window.welcome.text()
    assert "nothing leaves it" in window.welcome_hint.text() and window.welcome_hint.isVisible()
    guide = chat.answer.toPlainText()
    assert "Folio can answer from the documents" in guide and "Folio cannot" in guide
    assert not chat.export.export_button.isEnabled()  # nothing to export yet
    assert window.current_collection() is None
    shot(window, 1, "first-start")

    # 2. The sample collection: indexing shows its progress at once.
    window.sample_button.click()
    assert (
        window.indexing_status.progress.isVisible()
        and window.indexing_status.cancel_button.isVisible()
    )
    assert not window.sample_button.isVisible() and not window.welcome.isVisible()
    assert window.status_label.text() == f"Indexing {SAMPLE_COLLECTION}…"
    shot(window, 2, "indexing")
    qtbot.waitUntil(lambda: window.current_collection() == SAMPLE_COLLECTION, timeout=60_000)
    qtbot.waitUntil(lambda: not window.indexing_status.progress.isVisible(), timeout=120_000)
    qtbot.waitUntil(lambda: window.documents_tab.model.rowCount() == 5, timeout=30_000)
    assert not window.welcome.isVisible() and not window.welcome_hint.isVisible()
    assert chat.question.text() == SAMPLE_QUESTION  # a first question, ready to ask
    shot(window, 3, "indexed")

    # 3. The question: its source cards are on screen before the first token of the answer.
    at_first_token: list[list[str]] = []
    chat.answer_started.connect(lambda: at_first_token.append([c.name for c in chat.cards()]))
    chat.evidence_shown.connect(lambda _ev: None if at_first_token else shot(window, 4, "evidence"))
    with qtbot.waitSignal(chat.answer_finished, timeout=180_000) as blocker:
        chat.ask_button.click()
    answer: Answer = blocker.args[0]
    assert at_first_token and at_first_token[0][0] == "Working hours.md"
    assert chat.evidence_at is not None and chat.first_token_at is not None
    assert chat.evidence_at <= chat.first_token_at
    assert "Core hours are 10 am to 4 pm." in chat.answer.toPlainText()
    cited = min(answer.citations, key=lambda c: c.number)
    assert Path(cited.path).name == "Working hours.md"
    shot(window, 5, "answer")

    # 4. A click on the inline citation opens the viewer at the cited passage.
    viewer = window.viewer
    answer_at = chat.answer.toPlainText().find("Core hours are 10 am")
    with qtbot.waitSignal(viewer.shown, timeout=30_000):
        click_text(qtbot, chat, f"[{cited.number}]", answer_at)
    assert viewer.isVisible() and viewer.current_path == cited.path
    assert "Core hours are 10 am to 4 pm." in viewer.selected_text()
    qtbot.wait(200)
    shot(viewer, 6, "viewer")
    viewer.hide()

    # 5. A follow-up question continues the chat; the first turn stays above it.
    chat.question.setText("Who do I call about a broken laptop?")
    with qtbot.waitSignal(chat.answer_finished, timeout=180_000) as blocker:
        chat.ask_button.click()
    follow: Answer = blocker.args[0]
    assert follow.session_id == answer.session_id
    shown = chat.answer.toPlainText()
    assert len(chat.turns) == 2
    assert shown.find(SAMPLE_QUESTION) < shown.find("Who do I call about a broken laptop?")
    assert "extension 4040" in shown
    # The chat is listed once in the sidebar, with its two questions.
    chats = window.chats.model
    qtbot.waitUntil(lambda: chats.rowCount() == 1, timeout=10_000)
    qtbot.waitUntil(lambda: chats.index(0).data().endswith("(2)"), timeout=10_000)
    # The view follows the conversation: the end of the last answer is on screen.
    bar = chat.answer.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.value() == bar.maximum(), timeout=5_000)
    shot(window, 7, "follow-up")

    # 6. Export: both questions, each with its answer and sources.
    out = tmp_path / "chat.md"
    assert chat.export.save(out)
    md = out.read_text("utf-8")
    assert re.search(r"^## What are the core hours\?$", md, re.MULTILINE)
    assert re.search(r"^## Who do I call about a broken laptop\?$", md, re.MULTILINE)
    assert "Working hours.md" in md and "IT help desk.md" in md
    assert chat.notice.text() == "Saved chat.md."
    shot(window, 8, "exported")
    window.close()
