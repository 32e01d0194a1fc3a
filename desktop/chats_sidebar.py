"""The chats of the current collection, in the sidebar under the collections: open one to read
and continue it, delete one, or start a new one.

It reads and deletes chats in the chat store (off the GUI thread) and says what happened
through signals; the chat pane shows the chat and decides what the next question continues.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine import ChatStore, Library
from engine.history import SessionInfo

from .item_models import ChatsModel
from .tasks import Executor, Operation


class ChatsSidebar(QWidget):
    chat_read = Signal(int, str, object)  # session id, title, the turns' results (JSON dicts)
    chat_deleted = Signal(int)  # session id
    new_chat_requested = Signal()
    message = Signal(str)  # a sentence for the chat's notice line

    def __init__(
        self, library: Library, collection: Callable[[], str | None], executor: Executor
    ) -> None:
        super().__init__()
        self.library = library
        self._collection = collection
        self._executor = executor
        self.model = ChatsModel()
        self.history = QListView()
        self.history.setModel(self.model)
        self.history.activated.connect(self._open_index)
        self.history.clicked.connect(self._open_index)
        self.new_chat_button = QPushButton("New chat")
        self.new_chat_button.clicked.connect(self.new_chat)
        self.delete_chat_button = QPushButton("Delete chat")
        self.delete_chat_button.setToolTip("Delete the chat selected below, with its answers")
        self.delete_chat_button.setEnabled(False)
        self.delete_chat_button.clicked.connect(self._ask_delete_chat)
        self.history.selectionModel().selectionChanged.connect(
            lambda *_a: self.delete_chat_button.setEnabled(self._selected() is not None)
        )
        head = QHBoxLayout()
        head.addWidget(QLabel("Chats"), 1)
        head.addWidget(self.new_chat_button)
        head.addWidget(self.delete_chat_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(head)
        lay.addWidget(self.history, 1)

    def refresh(self) -> None:
        """List the current collection's chats (read off the GUI thread). Chats are found by
        the collection's stable id, so they follow a rename and never pass to a new
        collection that takes an old name."""
        name = self._collection()
        library = self.library

        def work(_op: Operation) -> tuple[str | None, list[SessionInfo]]:
            if not name:
                return name, []
            cid = library.id_of(name)
            store = library.chat_store()
            try:
                return name, store.sessions(collection_id=cid) if cid else []
            finally:
                store.close()

        op = Operation(work)
        op.succeeded.connect(self._show)
        self._executor.submit(op)

    def _show(self, result: tuple[str | None, list[SessionInfo]]) -> None:
        name, sessions = result
        if name != self._collection():
            return  # another collection was chosen meanwhile
        self.model.set_sessions(sessions)  # a reset clears the selection, silently
        self.delete_chat_button.setEnabled(False)

    def new_chat(self) -> None:
        self.history.clearSelection()
        self.new_chat_requested.emit()

    def _ask_delete_chat(self) -> None:
        index = self._selected()
        session_id = self.model.session_id(index.row()) if index is not None else None
        if index is None or session_id is None:
            return
        title = str(index.data())
        answer = QMessageBox.question(
            self,
            "Delete chat",
            f"Delete the chat '{title}'? Its questions and answers are deleted; your documents "
            "stay as they are.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_chat(session_id)

    def delete_chat(self, session_id: int) -> Operation:
        """Delete one chat from the history (its questions and answers)."""
        library = self.library

        def work(_op: Operation) -> None:
            store = library.chat_store()
            try:
                store.delete_session(session_id)
            finally:
                store.close()

        def done(_r: object) -> None:
            self.chat_deleted.emit(session_id)
            self.message.emit("Chat deleted.")
            self.refresh()

        op = Operation(work)
        op.succeeded.connect(done)
        op.failed.connect(self.message.emit)
        return self._executor.submit(op)

    def _selected(self) -> QModelIndex | None:
        rows = self.history.selectionModel().selectedRows()
        return rows[0] if rows else None

    def _open_index(self, index: QModelIndex) -> None:
        session_id = self.model.session_id(index.row())
        if session_id is not None:
            self.open_chat(session_id)

    def open_chat(self, session_id: int) -> Operation:
        """Read a past chat; ``chat_read`` hands it to the chat pane."""
        home = self.library.home

        def work(_op: Operation) -> tuple[str, list[dict[str, Any]]]:
            store = ChatStore(home)
            try:
                info = store.session(session_id)
                return info.title, [t.result for t in store.turns(session_id)]
            finally:
                store.close()

        op = Operation(work)
        op.succeeded.connect(lambda r: self.chat_read.emit(session_id, r[0], r[1]))
        op.failed.connect(self.message.emit)
        return self._executor.submit(op)
