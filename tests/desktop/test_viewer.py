"""Citations open the source at the cited place: PDF page with the passage highlighted, or text."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.main_window import MainWindow
from engine import Answer, Library
from tests.conftest import corpus_path

SHOTS = Path(__file__).resolve().parents[1] / "screenshots"


@pytest.mark.slow
def test_clicking_a_chip_opens_the_pdf_at_the_cited_page(qtbot, library: Library) -> None:  # type: ignore[no-untyped-def]
    docs = corpus_path("qa", "docugami_kg_rag", "sec-10-q", "data", "v1", "docs")
    coll = library.create("10-Q")
    coll.index([docs / "2023 Q3 AAPL.pdf"])
    coll.close()
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    qtbot.waitUntil(lambda: window.current_collection() == "10-Q", timeout=10_000)
    chat = window.chat
    chat.question.setText(
        "What were Apple's total net sales for the three months ended July 1, 2023?"
    )
    with qtbot.waitSignal(chat.answer_finished, timeout=180_000) as blocker:
        chat.ask_button.click()
    answer: Answer = blocker.args[0]
    chips = chat.chip_buttons()
    assert chips, "the answer should carry at least one citation"
    SHOTS.mkdir(exist_ok=True)
    qtbot.wait(300)  # let the new chips show before the screenshot
    window.grab().save(str(SHOTS / "main-window-answer.png"))

    first = min(answer.citations, key=lambda c: c.number)
    with qtbot.waitSignal(window.viewer.shown, timeout=30_000):
        chips[0].click()
    viewer = window.viewer
    assert viewer.isVisible()
    assert viewer.current_path == first.path and viewer.current_page == first.page
    assert viewer.stack.currentWidget() is viewer.pdf_view
    # The navigator is on the cited page, and the passage is found and highlighted there.
    assert viewer.pdf_view.pageNavigator().currentPage() == first.page - 1
    qtbot.waitUntil(lambda: viewer.highlighted_page() == first.page - 1, timeout=30_000)
    # The whole passage is placed (one band per line), not only its opening words found.
    assert len(viewer.pdf_view.highlight_rects) >= 2
    assert viewer.open_button.isEnabled()
    qtbot.wait(1500)  # pages render in the background
    viewer.grab().save(str(SHOTS / "viewer-pdf.png"))
    window.close()


def test_text_source_opens_with_passage_selected(qtbot, library: Library, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "notes"
    folder.mkdir()
    body = "\n\n".join(
        f"Paragraph {i} talks about item number {i} in the stores." for i in range(60)
    )
    (folder / "stores.md").write_text(
        body + "\n\nThe fire exit key hangs behind the red door.", "utf-8"
    )
    coll = library.create("Notes")
    coll.index([folder])
    hit = coll.search("where is the fire exit key", k=1)[0]
    coll.close()
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    viewer = window.viewer
    with qtbot.waitSignal(viewer.shown, timeout=30_000):
        window.chat.open_source.emit(("Notes", hit.path, hit.page, hit.start, hit.end, hit.text))
    assert viewer.stack.currentWidget() is viewer.text_view
    assert "fire exit key" in viewer.selected_text()
    assert viewer.open_button.isEnabled()

    # A file outside the collection is never opened.
    stranger = tmp_path / "elsewhere.md"
    stranger.write_text("not in any collection", "utf-8")
    viewer.show_passage("Notes", str(stranger), 1, 0, 5, "not in")
    qtbot.waitUntil(lambda: "not part of the collection" in viewer.message.text(), timeout=10_000)
    assert not viewer.open_button.isEnabled()
    assert viewer.open_externally() is False
    window.close()


def _answer_dialog(qtbot, button_text: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Click ``button_text`` on the next modal dialog; returns the texts it showed."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    seen: list[str] = []

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        seen.extend([box.text(), box.informativeText()])
        for b in box.buttons():
            if b.text() == button_text:
                b.click()
                return
        raise AssertionError(f"no button {button_text!r}: {[b.text() for b in box.buttons()]}")

    QTimer.singleShot(0, click)
    return seen


def test_web_page_asks_before_the_browser(
    qtbot, library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """An HTML document goes to the browser only after a warning that the browser may fetch
    remote content; declining keeps it in Folio's own text view. Other documents open at once."""
    from PySide6.QtGui import QDesktopServices

    folder = tmp_path / "web"
    folder.mkdir()
    (folder / "canteen.html").write_text(
        "<html><body><p>The canteen opens at eight.</p>"
        '<img src="https://example.com/track.gif"></body></html>',
        "utf-8",
    )
    (folder / "notes.md").write_text("The canteen closes at three.", "utf-8")
    coll = library.create("Web")
    coll.index([folder])
    html_hit = coll.search("when does the canteen open", k=2)
    coll.close()
    opened: list[str] = []

    def fake_open(url: object) -> bool:  # never start a real browser from a test
        opened.append(url.toLocalFile())  # type: ignore[attr-defined]
        return True

    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(fake_open))
    window = MainWindow(library)
    qtbot.addWidget(window)
    viewer = window.viewer
    page = next(h for h in html_hit if h.path.endswith(".html"))
    with qtbot.waitSignal(viewer.shown, timeout=30_000):
        viewer.show_passage("Web", page.path, page.page, page.start, page.end, page.text)
    assert viewer.stack.currentWidget() is viewer.text_view
    assert "canteen opens at eight" in viewer.text_view.toPlainText()

    seen = _answer_dialog(qtbot, "Keep reading in Folio")
    assert viewer.open_externally() is False
    assert opened == []
    assert "internet" in seen[0] and "canteen.html" in seen[0]

    _answer_dialog(qtbot, "Open in browser")
    assert viewer.open_externally() is True
    assert opened == [page.path]

    # A Markdown note opens without a question.
    note = next(h for h in html_hit if h.path.endswith(".md"))
    with qtbot.waitSignal(viewer.shown, timeout=30_000):
        viewer.show_passage("Web", note.path, note.page, note.start, note.end, note.text)
    assert viewer.open_externally() is True
    assert opened == [page.path, note.path]
    window.close()


def test_scanned_page_opens_as_its_image_with_the_passage_marked(  # type: ignore[no-untyped-def]
    qtbot, library: Library, tmp_path: Path
) -> None:
    """A citation of a page read by OCR shows the page image with the cited sentence's
    words marked where they are printed, and no other line."""
    from desktop.tasks import Executor
    from desktop.viewer import SourceViewer
    from tests.scans import pdf_of_images, scan_page

    lines = [
        "The loading bay closes at six in the evening on weekdays.",
        "Deliveries after six are taken in by the security desk.",
        "Pallets are stacked no higher than two metres in the bay.",
    ]
    page = scan_page(lines, points=12)
    folder = tmp_path / "scans"
    folder.mkdir()
    (folder / "loading-bay.pdf").write_bytes(pdf_of_images([page.image]))
    with library.create("Scans") as coll:
        coll.index([folder])
        hit = coll.search("who takes in deliveries after six", k=1)[0]
    assert hit.ocr
    sentence = lines[1]
    at = hit.start + hit.text.index(sentence)
    executor = Executor("viewer-test")
    viewer = SourceViewer(library, executor)
    qtbot.addWidget(viewer)
    with qtbot.waitSignal(viewer.shown, timeout=30_000):
        viewer.show_passage("Scans", hit.path, hit.page, at, at + len(sentence), sentence)
    assert viewer.stack.currentWidget() is viewer.scan_area
    assert viewer.title.text() == "loading-bay.pdf — page 1"
    assert "text recognition" in viewer.message.text()
    (rect,) = viewer.scan_rects
    drawn = page.boxes[1]
    assert rect[1] < (drawn[1] + drawn[3]) / 2 < rect[3]  # on the sentence's line
    assert abs(rect[0] - drawn[0]) < 0.02 and abs(rect[2] - drawn[2]) < 0.02
    assert not rect[1] < (page.boxes[0][1] + page.boxes[0][3]) / 2 < rect[3]
    # The mark is painted on the image: the middle of the rectangle is tinted, not white.
    image = viewer.scan_label.pixmap().toImage()
    colour = image.pixelColor(
        round((rect[0] + 0.01) * image.width()), round((rect[1] + rect[3]) / 2 * image.height())
    )
    assert colour.blue() < colour.red() - 40, colour.name()
    viewer.grab().save(str(tmp_path / "viewer-scan.png"))
    viewer.close()
    executor.shutdown()
