"""Chats in the sidebar follow their collection by id: through a rename, "Delete chat", and
deleting a collection with or without its chats (real widgets, offscreen)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from desktop.main_window import MainWindow
from engine import Library


def chat(library: Library, name: str, question: str) -> int:
    store = library.chat_store()
    try:
        sid = store.create_session([name], ids=[library.id_of(name)])
        store.add_turn(sid, question, "By the door.", None, {"question": question})
        return sid
    finally:
        store.close()


def history(window: MainWindow) -> list[str]:
    h = window.chats.model
    return [h.index(i).data() for i in range(h.rowCount())]


def select(window: MainWindow, name: str) -> None:
    row = window.pane.model.row_of(name)
    if row < 0:
        raise AssertionError(f"{name} is not listed")
    window.collections.setCurrentIndex(window.pane.model.index(row))


def test_chats_follow_rename_delete_chat_and_delete_collection(qtbot, library: Library) -> None:  # type: ignore[no-untyped-def]
    library.create("Office").close()
    library.create("HR").close()
    office = chat(library, "Office", "Where is the canteen?")
    chat(library, "HR", "Who signs leave requests?")
    chat(library, "HR", "How many days of leave?")

    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.pane.model.rowCount() == 2, timeout=30_000)
    select(window, "Office")
    qtbot.waitUntil(lambda: history(window) == ["Where is the canteen? (1)"], timeout=30_000)

    window.collection_actions.rename_collection("Office", "Front desk")
    qtbot.waitUntil(lambda: window.current_collection() == "Front desk", timeout=30_000)
    qtbot.waitUntil(lambda: history(window) == ["Where is the canteen? (1)"], timeout=30_000)

    # Delete chat: enabled once a chat is selected; removes exactly that chat.
    assert not window.chats.delete_chat_button.isEnabled()
    window.chats.history.setCurrentIndex(window.chats.model.index(0))
    assert window.chats.delete_chat_button.isEnabled()
    window.chats.delete_chat(office)
    qtbot.waitUntil(lambda: history(window) == [], timeout=30_000)
    store = library.chat_store()
    assert {s.title for s in store.sessions()} == {
        "Who signs leave requests?",
        "How many days of leave?",
    }
    store.close()

    # Deleting HR asks about its 2 chats; "delete them too" deletes exactly those.
    box = window.collection_actions.confirm_delete_collection("HR", 2)
    shots = Path(__file__).resolve().parents[1] / "screenshots"
    shots.mkdir(exist_ok=True)
    window.grab().save(str(shots / "chats-sidebar.png"))
    box.show()
    box.grab().save(str(shots / "delete-collection.png"))
    buttons = {b.text(): b for b in box.buttons()}
    assert "Delete it and its 2 chat(s)" in buttons and "Delete it, keep the chats" in buttons
    assert "2 chat(s)" in box.text()
    buttons["Delete it and its 2 chat(s)"].click()
    qtbot.waitUntil(lambda: library.names() == ["Front desk"], timeout=30_000)
    qtbot.waitUntil(lambda: "and its 2 chat(s)" in window.status_label.text(), timeout=30_000)
    store = library.chat_store()
    assert store.sessions() == []
    store.close()

    # Without chats, one plain question.
    plain = window.collection_actions.confirm_delete_collection("Front desk", 0)
    assert "chat" not in plain.text()
    roles = {b.text(): plain.buttonRole(b) for b in plain.buttons()}
    assert roles.pop("Delete") == QMessageBox.ButtonRole.DestructiveRole
    assert list(roles.values()) == [QMessageBox.ButtonRole.RejectRole]
    plain.reject()
    window.close()
