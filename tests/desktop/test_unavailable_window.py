"""The window with a collection whose folder is on a drive that is not connected: documents
greyed with the reason, kept; "Remove folder" is what removes them (real widgets, offscreen)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from desktop.item_models import GREY, UNAVAILABLE
from desktop.main_window import MainWindow
from engine import Library
from engine.index.scan import NOT_CONNECTED

SHOTS = Path(__file__).resolve().parents[1] / "screenshots"


def _items(window: MainWindow) -> dict[str, tuple[str, str, str]]:
    model = window.documents_tab.model
    out = {}
    for row in range(model.rowCount()):
        status = model.index(row, 1)
        brush = status.data(Qt.ItemDataRole.ForegroundRole)
        colour = brush.color().name() if brush is not None else ""
        tip = status.data(Qt.ItemDataRole.ToolTipRole) or ""
        out[model.index(row, 0).data()] = (status.data(), tip, colour)
    return out


def test_unreachable_folder_is_greyed_with_its_reason_until_removed(
    qtbot, library: Library, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "usb"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nThe canteen opens at eight.", "utf-8")
    (folder / "b.md").write_text("# B\n\nThe library closes at six.", "utf-8")
    with library.create("Stick") as coll:
        coll.index([folder])
    folder.rename(tmp_path / "unplugged")  # the stick is out when the app starts

    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()

    def greyed() -> None:
        rows = _items(window)
        assert set(rows) == {"a.md", "b.md"}
        for status, tip, colour in rows.values():
            assert status == UNAVAILABLE
            assert NOT_CONNECTED in tip
            assert colour == GREY.name()

    qtbot.waitUntil(greyed, timeout=60_000)
    qtbot.waitUntil(lambda: "cannot be reached now" in window.status_label.text(), timeout=30_000)
    window.tabs.setCurrentIndex(1)  # the Documents tab
    SHOTS.mkdir(exist_ok=True)
    window.grab().save(str(SHOTS / "unavailable.png"))

    # Only the explicit removal deletes them.
    window.collection_actions.remove_folder("Stick", folder)
    qtbot.waitUntil(lambda: _items(window) == {}, timeout=30_000)
    assert "2 document(s) left the collection" in window.status_label.text()
    with library.open("Stick") as coll:
        assert coll.documents() == [] and coll.roots() == []
    window.close()
