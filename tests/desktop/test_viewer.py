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
