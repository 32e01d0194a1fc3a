"""The left side of the window: the collections list (a view of ``CollectionsModel``), the
organisation's shared collections below the user's own (with why they cannot be shown, and
Try again), and, under them, the chats of the chosen collection. Names are read off the GUI
thread."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSize, Signal
from PySide6.QtWidgets import QLabel, QListView, QVBoxLayout, QWidget

from engine import Library

from .chats_sidebar import ChatsSidebar
from .item_models import OWN, CollectionsModel
from .shared_collections import SharedCollections
from .tasks import Executor, Operation


class CollectionsPane(QWidget):
    listed = Signal(object)  # list[str]: the user's own collections, read again and shown
    chosen = Signal()  # the user picked another collection
    status = Signal(str)  # a sentence for the status line (a refused change to a shared one)

    def __init__(self, library: Library, read_executor: Executor) -> None:
        super().__init__()
        self.library = library
        self._read_executor = read_executor
        self._pending_select: str | None = None
        self._quiet = False  # set while the list is filled: no "chosen" then
        self.model = CollectionsModel()
        self.view = QListView()
        self.view.setModel(self.model)
        size = self.view.fontMetrics().height()
        self.view.setIconSize(QSize(size, size))  # the shared ones' icon, as tall as the names
        self.view.selectionModel().currentChanged.connect(self._current_changed)
        # The organisation's shared collections, listed below the user's own, read-only.
        self.shared = SharedCollections(library, read_executor, self.status.emit)
        self.shared.changed.connect(self.refresh)
        # The chats of the collection; the chat pane shows the one opened.
        self.chats = ChatsSidebar(library, self.current, read_executor)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel("Collections"))
        lay.addWidget(self.view, 2)
        lay.addWidget(self.shared.panel)
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
        self._select([r.name for r in self.model.rows() if r.kind == OWN], name)
        self._pending_select = name

    def _select(self, names: list[str], name: str | None) -> None:
        self._quiet = True
        try:
            rows = self.model.rows_for(names, self.shared.rows(names))
            if rows != self.model.rows():
                self.model.set_names(names, rows[len(names) :])
            row = self.model.row_of(name)
            row = row if row >= 0 else self.model.first_choosable()
            if row >= 0:
                self.view.setCurrentIndex(self.model.index(row))
        finally:
            self._quiet = False
        self.shared.follow(self.current())  # the toolbar follows the chosen entry

    def _current_changed(self, _now: QModelIndex, _before: QModelIndex) -> None:
        self.shared.follow(self.current())
        if not self._quiet:
            self.chosen.emit()
