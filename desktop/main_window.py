"""The main window: collections on the left, documents and search on the right.

Layout and wiring only; every engine call runs in an Operation on the index executor.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine import Library, Progress
from engine.types import IndexReport

from .chat_panel import ChatPanel
from .tasks import Executor, Operation

DEFAULT_COLLECTION = "My documents"


class MainWindow(QMainWindow):
    def __init__(self, library: Library) -> None:
        super().__init__()
        self.library = library
        self.index_executor = Executor("folio-index")
        self.read_executor = Executor("folio-read")
        self.model_executor = Executor("folio-model")
        self._current_op: Operation | None = None
        self.setWindowTitle("Folio")
        self.setAcceptDrops(True)
        self.resize(1000, 650)

        self.collections = QListWidget()
        self.collections.currentTextChanged.connect(lambda _t: self.refresh_documents())
        self.documents = QTreeWidget()
        self.documents.setHeaderLabels(["Document", "Status"])
        self.welcome = QLabel("Drop a folder here to start")
        self.welcome.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.welcome.setStyleSheet("font-size: 20px; color: #666; padding: 40px;")
        self.query = QLineEdit()
        self.query.setPlaceholderText("Search your documents…")
        self.query.returnPressed.connect(self.search)
        self.results = QListWidget()
        self.progress = QProgressBar()
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.cancel_indexing)
        self.status_label = QLabel("")

        self.chat = ChatPanel(library, self.current_collection, self.model_executor)
        docs_tab = QWidget()
        dl = QVBoxLayout(docs_tab)
        dl.addWidget(self.documents, 2)
        dl.addWidget(self.query)
        dl.addWidget(self.results, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.chat, "Ask")
        self.tabs.addTab(docs_tab, "Documents")

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.addWidget(self.welcome)
        rl.addWidget(self.tabs, 1)
        bar = QHBoxLayout()
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.cancel_button)
        rl.addLayout(bar)
        rl.addWidget(self.status_label)
        split = QSplitter()
        split.addWidget(self.collections)
        split.addWidget(right)
        split.setStretchFactor(1, 3)
        self.setCentralWidget(split)
        self.refresh_collections()

    # -- collections and documents ------------------------------------------------------

    def refresh_collections(self) -> None:
        """Re-read the collection names off the GUI thread, then show them."""
        library = self.library
        op = Operation(lambda _op: library.names())
        op.succeeded.connect(self._show_collections)
        self.read_executor.submit(op)

    def _show_collections(self, names: list[str]) -> None:
        current = self.collections.currentItem()
        keep = current.text() if current else None
        # Repopulate silently, then read the documents once.
        blocked = self.collections.blockSignals(True)
        self.collections.clear()
        self.collections.addItems(names)
        if names:
            matches = self.collections.findItems(keep or names[0], Qt.MatchFlag.MatchExactly)
            self.collections.setCurrentItem(matches[0] if matches else self.collections.item(0))
        self.collections.blockSignals(blocked)
        self.welcome.setVisible(not names)
        self.refresh_documents()

    def current_collection(self) -> str | None:
        item = self.collections.currentItem()
        return item.text() if item else None

    def refresh_documents(self) -> None:
        """Re-read the current collection's documents off the GUI thread, then show them."""
        name = self.current_collection()
        if not name:
            self.documents.clear()
            return
        library = self.library

        def work(_op: Operation) -> tuple[str, list[tuple[str, str]]]:
            with library.open(name) as coll:
                rows = [
                    (
                        Path(d.path).name,
                        d.status if d.status != "failed" else f"failed: {d.reason}",
                    )
                    for d in coll.documents()
                ]
            return name, rows

        op = Operation(work)
        op.succeeded.connect(self._show_documents)
        self.read_executor.submit(op)

    def _show_documents(self, result: tuple[str, list[tuple[str, str]]]) -> None:
        name, rows = result
        if name != self.current_collection():
            return  # the user moved on; a newer read is on its way
        self.documents.clear()
        for doc, status in rows:
            QTreeWidgetItem(self.documents, [doc, status])

    # -- drag and drop ------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.index_paths(paths)

    def index_paths(self, paths: list[Path]) -> Operation:
        name = self.current_collection() or DEFAULT_COLLECTION
        library = self.library

        def work(op: Operation) -> IndexReport:
            coll = library.get_or_create(name)
            try:
                return coll.index(paths, op.progress.emit, op.cancel)
            finally:
                coll.close()

        op = Operation(work)
        op.progress.connect(self._on_progress)
        op.succeeded.connect(self._on_indexed)
        op.failed.connect(self._on_failed)
        self._current_op = op
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self.status_label.setText("Indexing…")
        return self.index_executor.submit(op)

    def cancel_indexing(self) -> None:
        if self._current_op is not None:
            self._current_op.cancel.cancel()

    def _on_progress(self, p: Progress) -> None:
        if p.files_total:
            self.progress.setRange(0, p.files_total)
            self.progress.setValue(p.files_done)
        eta = f", about {int(p.eta_seconds)} s left" if p.eta_seconds else ""
        self.status_label.setText(
            f"Indexing: {p.files_done} of {p.files_total} files, {p.chunks_embedded} passages{eta}"
        )

    def _on_indexed(self, report: IndexReport) -> None:
        self._current_op = None
        self.progress.hide()
        self.cancel_button.hide()
        failed = f", {len(report.failed)} could not be read" if report.failed else ""
        word = "Stopped" if report.cancelled else "Up to date"
        self.status_label.setText(
            f"{word}: {len(report.indexed)} indexed, {len(report.unchanged)} unchanged{failed}."
        )
        self.refresh_collections()

    def _on_failed(self, message: str) -> None:
        self._current_op = None
        self.progress.hide()
        self.cancel_button.hide()
        self.status_label.setText(message)

    # -- search -------------------------------------------------------------------------

    def search(self) -> None:
        name = self.current_collection()
        text = self.query.text().strip()
        if not name or not text:
            return
        library = self.library

        def work(_op: Operation) -> list[str]:
            with library.open(name) as coll:
                return [f"{h.name}, page {h.page}: {h.snippet(160)}" for h in coll.search(text)]

        op = Operation(work)
        op.succeeded.connect(self._show_results)
        op.failed.connect(self._on_failed)
        self.index_executor.submit(op)

    def _show_results(self, lines: list[str]) -> None:
        self.results.clear()
        self.results.addItems(lines)

    def closeEvent(self, event: object) -> None:
        self.chat.shutdown()
        self.model_executor.shutdown()
        self.index_executor.shutdown()
        self.read_executor.shutdown()
        super().closeEvent(event)  # type: ignore[arg-type]
