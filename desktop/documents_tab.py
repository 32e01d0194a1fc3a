"""The Documents tab: the current collection's documents with their status, and a search box
with its results. Documents are read on the read executor, searches run on the index executor;
the view shows a ``DocumentsModel``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLineEdit, QListWidget, QTreeView, QVBoxLayout, QWidget

from engine import Library

from .item_models import UNAVAILABLE, DocumentRow, DocumentsModel
from .tasks import Executor, Operation


class DocumentsTab(QWidget):
    status = Signal(str)  # a sentence for the status line (a read or a search that failed)

    def __init__(
        self,
        library: Library,
        current: Callable[[], str | None],
        pending: Callable[[str], set[str]],
        index_executor: Executor,
        read_executor: Executor,
    ) -> None:
        super().__init__()
        self.library = library
        self._current = current
        self._pending = pending  # files of a collection listed for indexing, not indexed yet
        self._index_executor = index_executor
        self._read_executor = read_executor
        self.model = DocumentsModel()
        self.documents = QTreeView()
        self.documents.setModel(self.model)
        self.query = QLineEdit()
        self.query.setPlaceholderText("Search your documents…")
        self.query.returnPressed.connect(self.search)
        self.results = QListWidget()
        lay = QVBoxLayout(self)
        lay.addWidget(self.documents, 2)
        lay.addWidget(self.query)
        lay.addWidget(self.results, 1)

    def refresh(self) -> None:
        """Re-read the current collection's documents off the GUI thread, then show them."""
        name = self._current()
        if not name:
            self.model.clear()
            return
        library = self.library

        def work(_op: Operation) -> tuple[str, list[DocumentRow]]:
            with library.open(name) as coll:
                rows = [
                    DocumentRow(
                        Path(d.path).name,
                        UNAVAILABLE
                        if d.unavailable
                        else d.status
                        if d.status != "failed"
                        else f"failed: {d.reason}",
                        f"{d.path}\n{d.unavailable}" if d.unavailable else d.path,
                    )
                    for d in coll.documents()
                ]
            return name, rows

        op = Operation(work)
        op.succeeded.connect(self._show)
        op.failed.connect(self.status.emit)  # e.g. a shared collection's server is down
        self._read_executor.submit(op)

    def _show(self, result: tuple[str, list[DocumentRow]]) -> None:
        name, rows = result
        if name != self._current():
            return  # the user moved on; a newer read is on its way
        self.model.set_rows(rows)
        self.show_pending(name)

    def show_pending(self, name: str) -> None:
        """List the files about to be indexed into ``name`` that are not listed yet."""
        self.model.add_pending(self._pending(name))

    def search(self) -> None:
        name = self._current()
        text = self.query.text().strip()
        if not name or not text:
            return
        library = self.library

        def work(_op: Operation) -> list[str]:
            with library.open(name) as coll:
                return [f"{h.name}, page {h.page}: {h.snippet(160)}" for h in coll.search(text)]

        op = Operation(work)
        op.succeeded.connect(self._show_results)
        op.failed.connect(self.status.emit)
        self._index_executor.submit(op)

    def _show_results(self, lines: list[str]) -> None:
        self.results.clear()
        self.results.addItems(lines)
