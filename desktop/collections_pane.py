"""The left side of the window: the collections list (a view of ``CollectionsModel``) and, under
it, the chats of the chosen collection. Names are read off the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Signal
from PySide6.QtWidgets import QLabel, QListView, QVBoxLayout, QWidget

from engine import Library

from .chats_sidebar import ChatsSidebar
from .item_models import CollectionsModel
from .tasks import Executor, Operation


class CollectionsPane(QWidget):
    listed = Signal(object)  # list[str]: the collections, read again and shown
    chosen = Signal()  # the user picked another collection

    def __init__(self, library: Library, read_executor: Executor) -> None:
        super().__init__()
        self.library = library
        self._read_executor = read_executor
        self._pending_select: str | None = None
        self._quiet = False  # set while the list is filled: no "chosen" then
        self.model = CollectionsModel()
        self.view = QListView()
        self.view.setModel(self.model)
        self.view.selectionModel().currentChanged.connect(self._current_changed)
        # The chats of the collection; the chat pane shows the one opened.
        self.chats = ChatsSidebar(library, self.current, read_executor)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel("Collections"))
        lay.addWidget(self.view, 2)
        lay.addWidget(self.chats, 1)

    def current(self) -> str | None:
        """The chosen collection's name; None while there is none."""
        name = self.view.currentIndex().data(CollectionsModel.NameRole)
        return str(name) if name is not None else None

    def select_after_refresh(self, name: str) -> None:
        self._pending_select = name

    def refresh(self) -> None:
        """Re-read the collection names off the GUI thread, then show them."""
        library = self.library
        op = Operation(lambda _op: library.names())
        op.succeeded.connect(self._show)
        self._read_executor.submit(op)

    def _show(self, names: list[str]) -> None:
        keep = self._pending_select or self.current()
        self._pending_select = None
        # Repopulate quietly: whoever listens reads the documents once, below.
        self._select(names, keep)
        self.listed.emit(names)

    def show_first(self, name: str) -> None:
        """A first drop: list and choose its collection now, before the library lists it."""
        self.model.append(name)
        self._select(self.model.names(), name)
        self._pending_select = name

    def _select(self, names: list[str], name: str | None) -> None:
        self._quiet = True
        try:
            if names != self.model.names():
                self.model.set_names(names)
            if names:
                row = max(self.model.row_of(name), 0)
                self.view.setCurrentIndex(self.model.index(row))
        finally:
            self._quiet = False

    def _current_changed(self, _now: QModelIndex, _before: QModelIndex) -> None:
        if not self._quiet:
            self.chosen.emit()
