"""The conversation transcript on real widgets: turns stack up, each inline citation opens its own
turn's source, the model's Markdown renders without fetching anything, and streaming redraws
only the current turn, throttled."""

from __future__ import annotations

import re
import time
from pathlib import Path

from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtGui import QColor, QPalette, QTextCursor
from PySide6.QtWidgets import QApplication

from desktop.chat_panel import RENDER_MS
from desktop.main_window import MainWindow
from desktop.transcript import TranscriptView, bold_words, luma, query_words, safe_markdown
from engine import Answer, Library
from engine.budget import IncludedSource
from engine.citations import cite
from engine.generate.base import GenerationStats
from tests.desktop.test_chat_panel import handbook_window, make_collection


def _answer(library: Library, question: str, search: str, name: str, text: str) -> Answer:
    """An answer citing the passage of document ``name`` that ``search`` finds, checked by the
    real claim checker with the real embedder."""
    coll = library.open("Handbook")
    hit = next(h for h in coll.search(search, k=3) if h.name == name)
    coll.close()
    sources = [IncludedSource(1, 1, hit, hit.text, 20, False)]

    def similarity(sentences, passages):  # type: ignore[no-untyped-def]
        a, b = library.embedder.embed(list(sentences)), library.embedder.embed(list(passages))
        return a @ b.T

    cited = cite(text, sources, similarity)
    return Answer(
        question=question, mode="answer", text=cited.text, citations=cited.citations,
        included=sources, cut=[], documents=[], stop="end", notices=[], retrieval_ms=1.0,
        stats=GenerationStats(), model="test", plan=None, sentences=cited.sentences,
    )  # fmt: skip


def _click(qtbot, view: TranscriptView, text: str, after: int = 0) -> None:  # type: ignore[no-untyped-def]
    QApplication.processEvents()  # the view has settled where it scrolls to
    at = view.toPlainText().find(text, after)
    assert at >= 0, text
    cursor = QTextCursor(view.document())
    cursor.setPosition(at + 1)
    view.setTextCursor(cursor)
    view.ensureCursorVisible()
    rect = view.cursorRect(cursor)
    where = QPoint(rect.x(), rect.center().y())
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)


def test_turns_stack_and_each_citation_opens_its_own_turns_source(
    qtbot, library: Library, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    make_collection(library, tmp_path)
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    qtbot.waitUntil(lambda: window.current_collection() == "Handbook", timeout=10_000)
    chat = window.chat
    first = _answer(
        library, "How much leave do staff get?", "annual leave days", "leave.md",
        "Full-time staff get **25 days** of annual leave per year [1].",
    )  # fmt: skip
    second = _answer(
        library, "Who issues parking permits?", "parking permits", "parking.md",
        "Parking permits are issued by the facilities office [1].",
    )  # fmt: skip
    chat.show_answer(first)
    chat.show_answer(second)

    # Two turns, in order, each with its question, its card and its answer.
    assert len(chat.turns) == 2
    text = chat.answer.toPlainText()
    q1, q2 = text.find("How much leave do staff get?"), text.find("Who issues parking permits?")
    assert 0 <= q1 < text.find("[1] leave.md") < q2 < text.find("[1] parking.md")
    assert [c.name for c in chat.cards(0)] == ["leave.md"]
    assert [c.name for c in chat.cards()] == ["parking.md"]
    # Markdown in the answer is rendered: "**25 days**" is bold, its stars are gone.
    assert "**" not in text and "25 days" in text
    # Each [1] is a link to its own turn's source.
    hrefs = re.findall(r'<a href="([^"]*)"', chat.answer.toHtml())
    assert "folio-cite:0:1" in hrefs and "folio-cite:1:1" in hrefs

    opened: list[tuple[object, ...]] = []
    chat.open_source.connect(opened.append)
    _click(qtbot, chat.answer, "[1]", text.find("25 days"))
    _click(qtbot, chat.answer, "[1]", text.find("facilities office"))
    assert [Path(str(o[1])).name for o in opened] == ["leave.md", "parking.md"]
    assert "25 days of annual leave" in str(opened[0][5])  # the passage, for the highlight
    # The viewer opens at the cited passage, selected.
    viewer = window.viewer
    # (the viewer is still opening the parking passage: wait until it shows that one first)
    qtbot.waitUntil(lambda: "Parking permits" in viewer.selected_text(), timeout=30_000)
    _click(qtbot, chat.answer, "[1] leave.md")  # the first turn's source card
    qtbot.waitUntil(lambda: Path(viewer.current_path).name == "leave.md", timeout=30_000)
    qtbot.waitUntil(lambda: "25 days of annual leave" in viewer.selected_text(), timeout=30_000)
    # A link that is not Folio's own, or points nowhere, does nothing.
    for url in ("https://example.com/", "folio-cite:7:1", "folio-cite:0:9", "folio-source:x"):
        chat.answer.anchorClicked.emit(QUrl(url))
    assert len(opened) == 3
    # A dark palette: the transcript is drawn again in its colours, links readable on it.
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    light = app.palette()
    try:
        app.setPalette(QPalette(QColor("#3a3a3a"), QColor("#232323")))
        QApplication.processEvents()
        dark_html = chat.answer.toHtml()
        card_bg = app.palette().color(QPalette.ColorRole.AlternateBase).name()
        assert f'bgcolor="{card_bg}"' in dark_html and card_bg != "#f7f7f7"
        base = app.palette().color(QPalette.ColorRole.Base)
        at = chat.answer.toPlainText().find("[1] leave.md")
        cursor = QTextCursor(chat.answer.document())
        for where in (at + 1, chat.answer.toPlainText().find("[1]", q2 + 40) + 1):
            cursor.setPosition(where)
            ink = cursor.charFormat().foreground().color()
            assert luma(ink) - luma(base) >= 100, (where, ink.name())
    finally:
        app.setPalette(light)
    # "New chat" empties the transcript and shows the guidance again.
    chat.new_chat()
    assert chat.turns == [] and "Ask your documents" in chat.answer.toPlainText()
    window.close()


def test_model_markdown_renders_and_nothing_is_fetched(
    qtbot, library: Library, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    window = handbook_window(qtbot, library, tmp_path)
    written = (
        "Staff get leave as follows [1]:\n\n"
        "- full-time: **25 days**\n- part-time: in proportion\n\n"
        "| Who | Days |\n|---|---|\n| Full-time | 25 |\n\n"
        "```\nleave = 25\n```\n\n"
        "See ![chart](https://evil.example/x.png) and [the site](https://evil.example/) or "
        'https://evil.example/page <img src="https://evil.example/y.png"> and [9].'
    )
    answer = _answer(library, "How much leave?", "annual leave days", "leave.md", written)
    window.chat.show_answer(answer)
    doc = window.chat.answer.document()
    shown = window.chat.answer.toHtml()
    # Lists, tables and code are rendered as such.
    assert shown.count("<li") >= 2 and "<pre" in shown
    assert shown.count("<table") >= 2  # the cards' table, the answer's table
    assert "leave = 25" in doc.toPlainText() and "```" not in doc.toPlainText()
    # No link except Folio's own; no picture; the text of the links stays.
    hrefs = re.findall(r'<a href="([^"]*)"', shown)
    assert hrefs and all(h.startswith("folio-") for h in hrefs), hrefs
    assert "<img" not in shown and "evil.example/x.png" not in shown
    assert "the site" in doc.toPlainText() and "folio-cite:0:9" not in hrefs
    # And the view itself loads nothing, whatever it is asked for.
    assert window.chat.answer.loadResource(2, QUrl("https://evil.example/x.png")) is None
    window.close()


def test_safe_markdown_and_bold_words() -> None:
    assert safe_markdown("a [x](http://e/) ![p](file:///etc/passwd) b") == "a x p b  "
    assert safe_markdown("```\ncode\n```") == "```\ncode\n```"  # no breaks added in code
    words = query_words("How many days of annual leave do staff get?")
    assert words == ["days", "annual", "leave"]
    assert bold_words("<i>Annual</i> leave: 25 days", words) == (
        "&lt;i&gt;<b>Annual</b>&lt;/i&gt; <b>leave</b>: 25 <b>days</b>"
    )


def test_streaming_redraws_only_the_current_turn_throttled(
    qtbot, library: Library, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    window = handbook_window(qtbot, library, tmp_path)
    chat = window.chat
    with qtbot.waitSignal(chat.answer_finished, timeout=120_000):
        chat.ask("Who issues parking permits?")
    before = chat.answer.toPlainText()
    window.settings.preset = "answer"  # written, token by token
    window.settings.max_answer_tokens = 160

    whole: list[str] = []
    chat.answer.setHtml = lambda html: whole.append(html)  # type: ignore[method-assign]
    earlier: list[bool] = []
    draw = chat._render_current

    def watched(*args: object, **kwargs: object) -> None:  # the first turn stays as it was
        draw(*args, **kwargs)  # type: ignore[arg-type]
        earlier.append(chat.answer.toPlainText().startswith(before.rstrip()))

    chat._render_current = watched  # type: ignore[method-assign]
    with qtbot.waitSignal(chat.answer_finished, timeout=180_000) as blocker:
        chat.ask("Write everything the handbook says about annual leave, in detail.")
    done = time.monotonic()
    answer: Answer = blocker.args[0]
    assert answer.stats.answer_tokens >= 40
    assert chat.first_token_at is not None
    streamed_s = done - chat.first_token_at
    assert whole == []  # never the whole transcript
    assert earlier and all(earlier)
    # Throttled: at most one redraw per RENDER_MS while tokens arrive (+ cards, end, slack).
    assert chat.renders <= streamed_s / (RENDER_MS / 1000) + 4, (chat.renders, streamed_s)
    assert chat.renders < answer.stats.answer_tokens
    window.close()
