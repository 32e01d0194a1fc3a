"""The desktop window on real widgets (offscreen): welcome view, and a real drop that indexes."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from desktop.main_window import MainWindow
from engine import Library


def test_drop_a_folder_indexes_it(qtbot, library: Library, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "dropped"
    folder.mkdir()
    (folder / "policy.md").write_text("# Policy\n\nVisitors sign in at reception.", "utf-8")
    (folder / "bad.pdf").write_bytes(b"\x00\x01\x02\xff broken" * 100)

    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    assert window.welcome.isVisible()
    assert "Drop a folder" in window.welcome.text()

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    event = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
    assert event.isAccepted()

    def indexed() -> None:
        rows = window.documents_tab.model.statuses()
        assert rows.get("policy.md") == "indexed"
        assert rows.get("bad.pdf", "").startswith("failed: ")

    try:
        qtbot.waitUntil(indexed, timeout=120_000)
    finally:
        print("STATUS", window.status_label.text())
    assert not window.welcome.isVisible()
    assert "1 could not be read" in window.status_label.text()
    window.close()


def _rows(window: MainWindow) -> dict[str, str]:
    return window.documents_tab.model.statuses()


def test_watched_folder_updates_without_user_action(
    qtbot, library: Library, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "watched"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nThe canteen opens at eight.", "utf-8")
    coll = library.create("Office")
    coll.index([folder])
    coll.close()
    # Changed while Folio was closed: found at start.
    (folder / "offline.md").write_text("# Offline\n\nAdded while the app was closed.", "utf-8")

    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: "offline.md" in _rows(window), timeout=60_000)
    qtbot.waitUntil(
        lambda: "Watching 1 folder — up to date" in window.status_label.text(), timeout=30_000
    )

    (folder / "b.md").write_text("# B\n\nThe library closes at six.", "utf-8")
    qtbot.waitUntil(lambda: _rows(window).get("b.md") == "indexed", timeout=30_000)
    (folder / "b.md").rename(folder / "c.md")
    qtbot.waitUntil(lambda: "c.md" in _rows(window) and "b.md" not in _rows(window), timeout=30_000)
    (folder / "a.md").unlink()
    qtbot.waitUntil(lambda: "a.md" not in _rows(window), timeout=30_000)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    qtbot.waitUntil(window.indexing_status.failures.isVisible, timeout=30_000)
    assert "broken.pdf" in window.indexing_status.failures.item(0).text()
    window.close()


def test_first_run_sample_collection_answers_at_once(qtbot, library: Library) -> None:  # type: ignore[no-untyped-def]
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(window.sample_button.isVisible, timeout=10_000)
    window.sample_button.click()
    qtbot.waitUntil(lambda: window.current_collection() == "Sample", timeout=120_000)
    qtbot.waitUntil(
        lambda: len(_rows(window)) == 5 and set(_rows(window).values()) == {"indexed"},
        timeout=60_000,
    )
    assert not window.sample_button.isVisible()
    # A suggested first question is ready; asking it works at once on the default model.
    assert window.chat.question.text() == "What are the core hours?"
    with qtbot.waitSignal(window.chat.answer_finished, timeout=120_000) as blocker:
        window.chat.ask_button.click()
    answer = blocker.args[0]
    assert answer.included and answer.included[0].hit.name == "Working hours.md"
    assert "10 am to 4 pm" in answer.text
    window.close()


def test_compare_two_presets_side_by_side(qtbot, library: Library) -> None:  # type: ignore[no-untyped-def]
    from desktop.main_window import ASSETS

    coll = library.create("Sample")
    coll.index([ASSETS / "sample"])
    coll.close()
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.current_collection() == "Sample", timeout=10_000)
    cmp = window.compare
    cmp.question.setText("What are the core hours?")
    cmp.presets[0].setCurrentIndex(cmp.presets[0].findData("answer"))
    cmp.presets[1].setCurrentIndex(cmp.presets[1].findData("extract"))
    with qtbot.waitSignal(cmp.finished, timeout=120_000) as blocker:
        cmp.run_button.click()
    a, b = blocker.args[0]
    assert a.text and b.text
    # Same question and sources, different instructions: the system messages differ.
    assert a.plan.messages[0].text != b.plan.messages[0].text
    assert a.plan.messages[-1].text == b.plan.messages[-1].text
    assert cmp.outputs[0].toPlainText() == a.text and cmp.outputs[1].toPlainText() == b.text
    assert "prompt tokens" in cmp.stats[0].text()
    window.close()


def test_drop_a_corpus_folder_shows_pending_then_indexed(qtbot, library: Library) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import corpus_path

    folder = corpus_path("mixed", "python-docx-test-files")
    docx = sorted(p.name for p in folder.glob("*.docx"))
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    event = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    seen_pending: list[bool] = []
    # The pending rows are recorded as they are added, too: on a busy machine the "pending" and
    # "indexed" updates can reach the window in one batch, between two looks of the poll.
    add_rows = window.documents_tab.show_pending

    def add_and_look(name: str) -> None:
        add_rows(name)
        seen_pending.append("pending" in _rows(window).values())

    window.documents_tab.show_pending = add_and_look  # type: ignore[method-assign]
    window.dropEvent(event)

    def settled() -> None:
        rows = _rows(window)
        seen_pending.append("pending" in rows.values())
        assert set(docx) <= set(rows)
        assert all(rows[name] == "indexed" or rows[name].startswith("failed: ") for name in docx)

    qtbot.waitUntil(settled, timeout=180_000)
    assert any(seen_pending)  # the files were listed as pending before they were indexed
    rows = _rows(window)
    indexed = [n for n in docx if rows[n] == "indexed"]
    # Several of these test files hold no text at all ("failed: empty file"); most have text.
    assert len(indexed) >= len(docx) // 2, rows
    assert all(len(rows[n]) > len("failed: ") for n in docx if n not in indexed)
    window.close()
