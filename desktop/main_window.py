"""The main window: collections on the left, documents and search on the right.

Layout and wiring only; every engine call runs in an Operation on the index executor.
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QDragEnterEvent, QDropEvent, QPalette
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QMessageBox,
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
from engine.errors import EmbeddingModelMismatch, FolioError
from engine.index.scan import FileEntry, walk
from engine.paths import assets_dir
from engine.reembed import ReembedNeeded, duration
from engine.reembed import explain as explain_mismatch
from engine.sample import SAMPLE_COLLECTION, SAMPLE_QUESTION, copy_sample
from engine.types import IndexReport
from engine.watch import FolderWatcher

from . import none_guard
from .accessibility import make_accessible, name_from_text
from .chat_panel import ChatPanel
from .chats_sidebar import ChatsSidebar
from .compare_panel import ComparePanel
from .loadbar import time_left
from .memory import release_free_memory
from .models import LoadedModel, server_notice
from .settings import (
    Settings,
    answers_from_line,
    load_settings,
    load_window_state,
    save_window_state,
)
from .settings_dialog import SettingsDialog
from .shared_collections import SharedCollections
from .tasks import Executor, Operation
from .tune_panel import TunePanel
from .verify_panel import VerifyPanel
from .viewer import SourceViewer

DEFAULT_COLLECTION = "My documents"
UNAVAILABLE = "not reachable now"  # the status of a document whose file cannot be reached
GREY = QColor("#8a8a8a")
ASSETS = assets_dir()
log = logging.getLogger("folio.desktop")


class _WatchBridge(QObject):
    """Carries the watcher's callback (on its own thread) to the GUI thread as a signal."""

    changed = Signal(object)


def _rows_of(tree: QTreeWidget) -> dict[str, str]:
    items = (tree.topLevelItem(i) for i in range(tree.topLevelItemCount()))
    return {it.text(0): it.text(1) for it in items if it is not None}


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


class MainWindow(QMainWindow):
    def __init__(self, library: Library) -> None:
        super().__init__()
        # Keeps a PySide6 bug from aborting a long session (see none_guard.py).
        none_guard.top_up()
        self._none_guard = QTimer(self)
        self._none_guard.setInterval(1000)
        self._none_guard.timeout.connect(none_guard.top_up)
        self._none_guard.start()
        self.library = library
        self.index_executor = Executor("folio-index")
        self.read_executor = Executor("folio-read")
        self.model_executor = Executor("folio-model")
        self._current_op: Operation | None = None
        self._index_queue: list[tuple[str, list[Path] | None]] = []
        self._roots: dict[str, list[Path]] = {}
        self._caught_up = False
        self._fresh: set[str] = set()  # collections indexed since the app started
        self._pending_select: str | None = None
        self._pending_files: dict[str, set[str]] = {}  # collection -> files not indexed yet
        self._bridge = _WatchBridge()
        self._bridge.changed.connect(self._on_files_changed)
        self.watcher = FolderWatcher(self._bridge.changed.emit, debounce=1.0)
        self.watcher.start()
        self.setWindowTitle("Folio")
        self.setAcceptDrops(True)
        self.resize(1000, 650)

        self.collections = QListWidget()
        self.collections.currentTextChanged.connect(lambda _t: self._collection_changed())
        self.documents = QTreeWidget()
        self.documents.setHeaderLabels(["Document", "Status"])
        self.welcome = QLabel("Drop a folder here to start")
        self.welcome.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # Larger than body text and dimmed, both relative to the system's font and palette.
        big = self.welcome.font()
        big.setPointSizeF(big.pointSizeF() * 1.6)
        self.welcome.setFont(big)
        self.welcome.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.welcome.setContentsMargins(40, 40, 40, 8)
        # What can be dropped, and the promise that matters to office staff.
        self.welcome_hint = QLabel(
            "A folder of PDFs (scanned ones too), Word files, text, Markdown, web pages or "
            "pictures: Folio reads them all on this computer, and nothing leaves it."
        )
        self.welcome_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.welcome_hint.setWordWrap(True)
        self.welcome_hint.setContentsMargins(40, 0, 40, 16)
        self.sample_button = QPushButton("Or try Folio on a few sample documents")
        self.sample_button.clicked.connect(self.load_sample)
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
        # The organisation's shared collections, listed below the user's own, read-only.
        self.shared = SharedCollections(library, self.read_executor, self.status_label.setText)
        self.shared.changed.connect(self.refresh_collections)
        # Files that could not be read: listed here, never one dialog per file.
        self.failures = QListWidget()
        self.failures.setMaximumHeight(110)
        self.failures.hide()
        self.failures_title = QLabel("")
        self.failures_title.hide()
        self.dismiss_failures = QPushButton("Dismiss")
        self.dismiss_failures.hide()
        self.dismiss_failures.clicked.connect(self._hide_failures)
        # Repairs made at start (a damaged collection rebuilt): shown here, never as a dialog.
        self.notice_label = QLabel("")
        self.notice_label.setWordWrap(True)
        self.notice_label.setContentsMargins(4, 4, 4, 4)
        self.notice_label.linkActivated.connect(lambda _link: self.notice_label.hide())
        self.notice_label.hide()
        self._notices: list[str] = []
        # A collection built with another embedding model: what to do, and the button to do it.
        self.reembed_label = QLabel("")
        self.reembed_label.setWordWrap(True)
        self.reembed_button = QPushButton("Re-embed now")
        self.reembed_button.clicked.connect(self.reembed_now)
        self.reembed_label.hide()
        self.reembed_button.hide()
        self._reembed_name = ""
        self._reembed_waiting = False  # pressed while indexing ran: starts when it ends
        self._reembed_op: Operation | None = None

        self.settings = load_settings(library.home)
        # Indexing reads scanned pages by OCR unless the user turned it off.
        library.config.ocr = self.settings.ocr
        # One loaded model, shared by chat and Compare; its load times are kept per computer.
        self.loaded_model = LoadedModel(library.home)
        self.chat = ChatPanel(
            library,
            self.current_collection,
            self.model_executor,
            self.settings,
            self.read_executor,
            self.loaded_model,
        )
        self.viewer = SourceViewer(library, self.read_executor, parent=self)
        self.chat.open_source.connect(lambda args: self.viewer.show_passage(*args))
        self.chat.reembed_needed.connect(self.offer_reembed)
        # One line: where answers come from (this computer's model, or the model server).
        self.answers_label = QLabel(answers_from_line(self.settings))
        self.answers_label.setWordWrap(True)
        self.chat.answer_finished.connect(lambda _a: self._show_answers_from())
        # The chats of the collection, in the sidebar; the chat pane shows the one opened.
        self.chats = ChatsSidebar(library, self.current_collection, self.read_executor)
        self.chats.chat_read.connect(self.chat.show_chat)
        self.chats.chat_deleted.connect(self.chat.chat_deleted)
        self.chats.new_chat_requested.connect(self.chat.new_chat)
        self.chats.message.connect(self.chat.notice.setText)
        self.chat.answer_finished.connect(lambda _a: self.chats.refresh())
        docs_tab = QWidget()
        dl = QVBoxLayout(docs_tab)
        dl.addWidget(self.documents, 2)
        dl.addWidget(self.query)
        dl.addWidget(self.results, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.chat, "Ask")
        self.tabs.addTab(docs_tab, "Documents")
        self.verify = VerifyPanel(library, self.current_collection, self.read_executor)
        self.tabs.addTab(self.verify, "Check a statement")
        self.compare = ComparePanel(
            library,
            self.current_collection,
            self.model_executor,
            self.read_executor,
            lambda: self.settings,
            self.loaded_model,
        )
        self.tabs.addTab(self.compare, "Compare")
        self.tune_executor = Executor("folio-tune")
        self.tune = TunePanel(
            library,
            self.current_collection,
            lambda: self.settings,
            self.tune_executor,
            self.index_executor,
        )
        self.tune.adapter_ready.connect(lambda _p: self.chat.refresh_adapters())
        self.tune.use_in_chat.connect(self._use_adapter_in_chat)
        self.tune.embedder_ready.connect(self.reembed_with)
        self.tabs.addTab(self.tune, "Tune")

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.addWidget(self.welcome)
        rl.addWidget(self.welcome_hint)
        rl.addWidget(self.sample_button)
        rl.addWidget(self.tabs, 1)
        bar = QHBoxLayout()
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.cancel_button)
        rl.addLayout(bar)
        rl.addWidget(self.notice_label)
        reembed_bar = QHBoxLayout()
        reembed_bar.addWidget(self.reembed_label, 1)
        reembed_bar.addWidget(self.reembed_button)
        rl.addLayout(reembed_bar)
        fail_bar = QHBoxLayout()
        fail_bar.addWidget(self.failures_title, 1)
        fail_bar.addWidget(self.dismiss_failures)
        rl.addLayout(fail_bar)
        rl.addWidget(self.failures)
        rl.addWidget(self.status_label)
        rl.addWidget(self.answers_label)
        sidebar = QWidget()
        sl = QVBoxLayout(sidebar)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(QLabel("Collections"))
        sl.addWidget(self.collections, 2)
        sl.addWidget(self.shared.panel)
        sl.addWidget(self.chats, 1)
        split = QSplitter()
        split.addWidget(sidebar)
        split.addWidget(right)
        split.setStretchFactor(1, 3)
        self.splitter = split
        self.setCentralWidget(split)
        self._restore_window_state()
        self._build_toolbar()
        self.keys = make_accessible(self)  # screen-reader names, keyboard shortcuts
        self.refresh_collections()
        self.shared.refresh()

    def _build_toolbar(self) -> None:
        tb = self.addToolBar("Main")
        tb.setObjectName("main-toolbar")
        tb.setMovable(False)
        tb.addAction("Add folder…", self._pick_folder)
        tb.addAction("Remove folder…", self._ask_remove_folder)
        tb.addAction("New collection…", self._ask_new_collection)
        tb.addAction("Rename…", self._ask_rename_collection)
        tb.addAction("Delete…", self._ask_delete_collection)
        tb.addSeparator()
        tb.addAction("Models and settings…", self.open_settings)
        self.shared.watch_toolbar(tb.actions())

    def _pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder to the collection")
        if folder:
            self.index_paths([Path(folder)])

    def _ask_remove_folder(self) -> None:
        """Ask which folder of the current collection to remove (its roots are read off the
        GUI thread), confirm, then remove it: the only way documents leave for good."""
        name = self.current_collection()
        if not name or self.shared.refuses(name, "remove"):
            return
        library = self.library

        def work(_op: Operation) -> list[str]:
            with library.open(name) as coll:
                return coll.roots()

        def choose(roots: list[str]) -> None:
            if not roots:
                self.status_label.setText(f"'{name}' has no folders to remove.")
                return
            folder, ok = QInputDialog.getItem(
                self, "Remove folder", f"Folder to remove from '{name}':", roots, 0, False
            )
            if not ok or not folder:
                return
            answer = QMessageBox.question(
                self,
                "Remove folder",
                f"Remove '{folder}' from the collection '{name}'? Its documents leave the "
                "collection and its chats can no longer cite them; the files themselves stay "
                "where they are.",
            )
            if answer == QMessageBox.StandardButton.Yes:
                self.remove_folder(name, Path(folder))

        op = Operation(work)
        op.succeeded.connect(choose)
        op.failed.connect(self.status_label.setText)
        self.read_executor.submit(op)

    def remove_folder(self, name: str, folder: Path) -> Operation:
        library = self.library

        def work(_op: Operation) -> int:
            with library.open(name) as coll:
                return coll.remove_root(folder)

        op = Operation(work)
        op.succeeded.connect(
            lambda n: self.status_label.setText(
                f"Removed '{folder.name}' from '{name}': {n} document(s) left the collection."
            )
        )
        op.succeeded.connect(lambda _n: self.refresh_collections())
        op.failed.connect(self.status_label.setText)
        return self.index_executor.submit(op)

    def _ask_new_collection(self) -> None:
        name, ok = QInputDialog.getText(self, "New collection", "Name:")
        if ok and name.strip():
            self.create_collection(name.strip())

    def _ask_rename_collection(self) -> None:
        old = self.current_collection()
        if old and not self.shared.refuses(old, "rename"):
            new, ok = QInputDialog.getText(self, "Rename collection", "New name:", text=old)
            if ok and new.strip() and new.strip() != old:
                self.rename_collection(old, new.strip())

    def _ask_delete_collection(self) -> None:
        """Count the collection's chats (off the GUI thread), then ask what to delete."""
        name = self.current_collection()
        if not name or self.shared.refuses(name, "delete"):
            return
        library = self.library
        op = Operation(lambda _op: library.chats_of(name))
        op.succeeded.connect(lambda n: self._confirm_delete_collection(name, int(n)))
        op.failed.connect(self.status_label.setText)
        self.read_executor.submit(op)

    def _confirm_delete_collection(self, name: str, n_chats: int) -> QMessageBox:
        box = QMessageBox(self)
        box.setWindowTitle("Delete collection")
        box.setIcon(QMessageBox.Icon.Question)
        if n_chats:
            box.setText(
                f"Delete the collection '{name}'? Its index goes; your files stay where they "
                f"are. It has {n_chats} chat(s): delete them too, or keep them? Kept chats "
                "stay in Folio's chat history but are no longer listed under a collection."
            )
            with_chats = box.addButton(
                f"Delete it and its {n_chats} chat(s)", QMessageBox.ButtonRole.DestructiveRole
            )
            keep = box.addButton("Delete it, keep the chats", QMessageBox.ButtonRole.AcceptRole)
        else:
            box.setText(
                f"Delete the collection '{name}'? Its index goes; your files stay where they are."
            )
            with_chats = None
            keep = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)

        def chosen(button: object) -> None:
            if button is with_chats:
                self.delete_collection(name, delete_chats=True)
            elif button is keep:
                self.delete_collection(name, delete_chats=False)

        box.buttonClicked.connect(chosen)
        box.setModal(True)
        box.open()
        self._delete_box = box  # for tests
        return box

    def _collection_op(self, work: Callable[[], object], select: str | None = None) -> Operation:
        op = Operation(lambda _op: work())
        if select:
            op.succeeded.connect(lambda _r: self._select_after_refresh(select))
        op.succeeded.connect(lambda _r: self.refresh_collections())
        op.failed.connect(self.status_label.setText)
        return self.index_executor.submit(op)

    def _select_after_refresh(self, name: str) -> None:
        self._pending_select = name

    def create_collection(self, name: str) -> Operation:
        return self._collection_op(lambda: self.library.create(name).close(), select=name)

    def rename_collection(self, old: str, new: str) -> Operation:
        return self._collection_op(lambda: self.library.rename(old, new), select=new)

    def delete_collection(self, name: str, delete_chats: bool = False) -> Operation:
        """Delete the collection's index (never the files); its chats too when asked."""
        op = self._collection_op(lambda: self.library.delete(name, delete_chats=delete_chats))
        op.succeeded.connect(
            lambda n: self.status_label.setText(
                f"Deleted '{name}' and its {n} chat(s); your files were not touched."
                if delete_chats
                else f"Deleted '{name}'; your files were not touched."
            )
        )
        return op

    # -- collections and documents ------------------------------------------------------

    def refresh_collections(self) -> None:
        """Re-read the collection names off the GUI thread, then show them."""
        library = self.library
        op = Operation(lambda _op: library.names())
        op.succeeded.connect(self._show_collections)
        self.read_executor.submit(op)

    def _show_collections(self, names: list[str]) -> None:
        current = self.collections.currentItem()
        keep = self._pending_select or (current.text() if current else None)
        self._pending_select = None
        # Repopulate silently, then read the documents once.
        blocked = self.collections.blockSignals(True)
        self.collections.clear()
        self.collections.addItems(names)
        shown = names + self.shared.add_to(self.collections)
        if shown:
            matches = self.collections.findItems(keep or shown[0], Qt.MatchFlag.MatchExactly)
            first = self.collections.findItems(shown[0], Qt.MatchFlag.MatchExactly)
            self.collections.setCurrentItem((matches or first)[0])
        self.collections.blockSignals(blocked)
        self.welcome.setVisible(not names)
        self.welcome_hint.setVisible(not names)
        self.sample_button.setVisible(not names)
        self.refresh_documents()
        self.chats.refresh()
        self.refresh_watch()

    def _collection_changed(self) -> None:
        self.refresh_documents()
        self.chats.refresh()

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

        def work(_op: Operation) -> tuple[str, list[tuple[str, str, str]]]:
            with library.open(name) as coll:
                rows = [
                    (
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
        op.succeeded.connect(self._show_documents)
        op.failed.connect(self.status_label.setText)  # e.g. a shared collection's server is down
        self.read_executor.submit(op)

    def _show_documents(self, result: tuple[str, list[tuple[str, str, str]]]) -> None:
        name, rows = result
        if name != self.current_collection():
            return  # the user moved on; a newer read is on its way
        self.documents.clear()
        for doc, status, tip in rows:
            item = QTreeWidgetItem(self.documents, [doc, status])
            for col in (0, 1):
                item.setToolTip(col, tip)
                if status == UNAVAILABLE:  # kept and searchable, but its file is not there now
                    item.setForeground(col, QBrush(GREY))
        self._add_pending_rows(name)

    # -- drag and drop ------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.index_paths(paths)

    def index_paths(self, paths: list[Path]) -> None:
        """Add dropped files/folders to the current collection and index them."""
        self.queue_index(self.current_collection() or DEFAULT_COLLECTION, paths)

    def load_sample(self) -> None:
        """First run: copy the bundled sample documents into the home folder and index them."""
        try:
            dest = copy_sample(self.library.home)
        except FolioError as exc:
            self.status_label.setText(str(exc))
            return
        self._pending_select = SAMPLE_COLLECTION
        self.queue_index(SAMPLE_COLLECTION, [dest])
        for offer in (self.welcome, self.welcome_hint, self.sample_button):
            offer.hide()  # taken up: the progress below says what happens now
        self.tabs.setCurrentWidget(self.chat)
        if not self.chat.question.text():
            self.chat.question.setText(SAMPLE_QUESTION)

    def queue_index(self, name: str, paths: list[Path] | None = None) -> None:
        """Index ``paths`` into collection ``name`` (None: re-scan its folders), one run at a
        time; a re-scan already waiting for the same collection is not queued twice."""
        if self.shared.refuses(name, "add"):
            return
        if paths is None and (name, None) in self._index_queue:
            return
        self._index_queue.append((name, paths))
        if self._current_op is None:
            self._start_next_index()

    def _start_next_index(self) -> None:
        waiting = self._reembed_waiting and self._current_op is None
        if waiting and self.reembed_now() is not None:
            return
        if not self._index_queue:
            return
        name, paths = self._index_queue.pop(0)
        self._fresh.add(name)
        library = self.library

        def work(op: Operation) -> IndexReport:
            coll = library.get_or_create(name)
            try:
                # List what is about to be indexed, so it shows as "pending" right away.
                roots = paths or [Path(r) for r in coll.roots()]
                found = [e.path for e in walk(roots) if isinstance(e, FileEntry)]
                op.progress.emit(("pending", name, found))
                try:
                    return coll.index(paths, op.progress.emit, op.cancel)
                except EmbeddingModelMismatch:
                    raise explain_mismatch(coll) from None
            finally:
                if coll.repairs:  # e.g. a damaged vector file rebuilt
                    op.progress.emit(("notices", name, list(coll.repairs)))
                coll.close()
                release_free_memory()  # what this run freed, back to the system

        op = Operation(work)
        op.progress.connect(self._on_progress)
        op.succeeded.connect(self._on_indexed)
        op.failed.connect(self._on_failed)
        op.failed.connect(lambda _m, op=op: self._offer_if_needed(op))
        self._current_op = op
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self.status_label.setText(f"Indexing {name}…")
        self.index_executor.submit(op)

    def cancel_indexing(self) -> None:
        self._index_queue.clear()
        if self._reembed_waiting:
            self._reembed_waiting = False
            self.reembed_button.setEnabled(True)
        if self._current_op is not None:
            self._current_op.cancel.cancel()

    def _on_progress(self, p: Progress | tuple[str, str, list[str]]) -> None:
        if isinstance(p, tuple):
            kind, name, files = p
            if kind == "notices":
                self._show_notices(files)
                return
            self._pending_files[name] = {Path(f).name for f in files}
            if self.current_collection() is None:  # a first drop: show its collection now
                blocked = self.collections.blockSignals(True)
                self.collections.addItem(name)
                self.collections.setCurrentRow(self.collections.count() - 1)
                self.collections.blockSignals(blocked)
                self.welcome.hide()
                self.welcome_hint.hide()
                self.sample_button.hide()
                self._add_pending_rows(name)  # at once, not after the list is read back
                self._pending_select = name
                self.refresh_collections()
            elif name == self.current_collection():
                self._add_pending_rows(name)
            return
        if p.stage == "waiting":  # another Folio window or command is updating it
            self.status_label.setText(p.current)
            return
        if p.files_total:
            self.progress.setRange(0, p.files_total)
            self.progress.setValue(p.files_done)
        eta = f", {time_left(p.eta_seconds)} left" if p.eta_seconds else ""
        # A scan is read page by page: say which file and page, it takes a while.
        detail = f" — {Path(p.current).name}, {p.detail}" if p.detail and p.current else ""
        self.status_label.setText(
            f"Indexing: {p.files_done} of {p.files_total} files, {p.chunks_embedded} passages"
            f"{eta}{detail}"
        )

    def _add_pending_rows(self, name: str) -> None:
        shown = set(_rows_of(self.documents))
        for f in sorted(self._pending_files.get(name, ())):
            if f not in shown:
                QTreeWidgetItem(self.documents, [f, "pending"])

    def _on_indexed(self, report: IndexReport) -> None:
        self._pending_files.clear()
        self._current_op = None
        self.progress.hide()
        self.cancel_button.hide()
        failed = f", {len(report.failed)} could not be read" if report.failed else ""
        if report.removed:  # their files are gone from folders that are there
            folders = sorted({str(Path(o.path).parent) for o in report.removed})
            where = folders[0] if len(folders) == 1 else f"{len(folders)} folders"
            failed += f", {len(report.removed)} removed (deleted from {where})"
        n_away = len(report.unavailable)
        away = (
            f" {n_away} folder(s) or file(s) cannot be reached now; their documents are kept "
            "(greyed) and searchable."
            if n_away
            else ""
        )
        word = "Stopped" if report.cancelled else "Up to date"
        self._last_summary = (
            f"{word}: {len(report.indexed)} indexed, {len(report.unchanged)} unchanged{failed}."
            f"{away}"
        )
        if report.failed:
            self._show_failures([(f.path, f.reason) for f in report.failed])
        self.status_label.setText(self._last_summary)
        self.refresh_collections()
        self._start_next_index()

    def _on_failed(self, message: str) -> None:
        self._pending_files.clear()
        self._current_op = None
        self.progress.hide()
        self.cancel_button.hide()
        self.status_label.setText(message)
        self._start_next_index()

    def _show_failures(self, rows: list[tuple[str, str]]) -> None:
        self.failures.clear()
        for path, reason in rows:
            self.failures.addItem(f"{Path(path).name} — {reason}")
        self.failures_title.setText(f"{len(rows)} file(s) could not be read:")
        for w in (self.failures, self.failures_title, self.dismiss_failures):
            w.show()

    def _hide_failures(self) -> None:
        for w in (self.failures, self.failures_title, self.dismiss_failures):
            w.hide()

    def _show_notices(self, notices: list[str]) -> None:
        new = [n for n in notices if n and n not in self._notices]
        if not new:
            return
        self._notices.extend(new)
        for n in new:
            log.warning("%s", n)
        lines = "<br>".join(html.escape(n, quote=False) for n in self._notices)
        self.notice_label.setText(f'{lines} <a href="dismiss">Dismiss</a>')
        self.notice_label.show()

    # -- folder watching ----------------------------------------------------------------

    def refresh_watch(self) -> None:
        """Watch every collection's folders; at start, re-scan each collection once so changes
        made while Folio was closed are picked up."""
        library = self.library

        def work(_op: Operation) -> tuple[dict[str, list[Path]], list[str], dict[str, str]]:
            roots: dict[str, list[Path]] = {}
            rebuilt: dict[str, str] = {}  # collections rebuilt after damage, to index again
            for name in library.names():
                with library.open(name) as coll:
                    roots[name] = [Path(r) for r in coll.roots()]
                    if coll.rebuilt_notice:
                        rebuilt[name] = coll.rebuilt_notice
                    elif coll.index_outdated and coll.roots():
                        # Indexed by an earlier Folio: read again now, with progress.
                        rebuilt[name] = coll.outdated_notice
            problems = self.watcher.set_roots([r for rs in roots.values() for r in rs])
            return roots, problems, rebuilt

        op = Operation(work)
        op.succeeded.connect(self._on_watch_roots)
        self.read_executor.submit(op)

    def _on_watch_roots(
        self, result: tuple[dict[str, list[Path]], list[str], dict[str, str]]
    ) -> None:
        self._roots, _problems, rebuilt = result
        for name, notice in rebuilt.items():
            if notice not in self._notices:  # once per app run; indexing then clears it
                self._show_notices([notice])
                self.queue_index(name)
        if not self._caught_up:
            self._caught_up = True
            for name, roots in self._roots.items():
                if roots and name not in self._fresh:
                    self.queue_index(name)
        elif self._current_op is None and not self._index_queue:
            self._show_watch_status()

    def _show_watch_status(self) -> None:
        n = len({r for rs in self._roots.values() for r in rs})
        if n:
            summary = getattr(self, "_last_summary", "")
            watching = f"Watching {n} folder{'s' if n != 1 else ''} — up to date"
            self.status_label.setText(f"{summary} {watching}".strip())

    def _on_files_changed(self, paths: set[Path]) -> None:
        for name, roots in self._roots.items():
            if any(_under(p, r) for p in paths for r in roots):
                self.queue_index(name)

    # -- settings -----------------------------------------------------------------------

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.library, self.settings, self.read_executor, parent=self)
        dialog.applied.connect(self.apply_settings)
        name_from_text(dialog)
        dialog.setModal(False)
        dialog.show()
        self._settings_dialog = dialog
        return dialog

    def apply_settings(self, settings: Settings) -> None:
        self.settings = settings
        self.library.config.ocr = settings.ocr
        self.chat.apply_settings(settings)
        self.answers_label.setText(answers_from_line(settings))

    def _show_answers_from(self) -> None:
        """After an answer from a model server: the server, its model and how prompts were
        measured (read from the connected generator; plain attributes, no call to the server)."""
        generator = self.loaded_model.generator
        if self.settings.answers_from == "server" and generator is not None:
            text = server_notice(generator)
            if text:
                self.answers_label.setText(text)

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

    def _restore_window_state(self) -> None:
        state = load_window_state(self.library.home)
        self.window_state_restored = False
        if "geometry" in state:
            self.window_state_restored = bool(self.restoreGeometry(state["geometry"]))
        if "splitter" in state:
            self.splitter.restoreState(state["splitter"])

    def _save_window_state(self) -> None:
        try:
            save_window_state(
                self.library.home,
                {
                    "geometry": bytes(self.saveGeometry().data()),
                    "splitter": bytes(self.splitter.saveState().data()),
                },
            )
        except OSError:
            log.warning("window state not saved", exc_info=True)

    # -- tuning -------------------------------------------------------------------------

    def _use_adapter_in_chat(self, path: str) -> None:
        self.chat.use_adapter(path)
        self.tabs.setCurrentWidget(self.chat)

    def reembed_with(self, name: str, model_dir: str) -> Operation:
        """Re-embed a collection with its tuned embedding model (the user accepted it)."""
        library = self.library

        def work(op: Operation) -> int:
            with library.open(name) as coll:
                return int(coll.reembed(cancel=op.cancel, model_dir=Path(model_dir)))

        op = Operation(work)
        op.succeeded.connect(
            lambda n: self.status_label.setText(
                f"'{name}' now searches with its tuned model ({n} passages re-embedded)."
            )
        )
        op.failed.connect(self.status_label.setText)
        self.status_label.setText(f"Re-embedding '{name}' with its tuned model…")
        return self.index_executor.submit(op)

    def _offer_if_needed(self, op: Operation) -> None:
        if isinstance(op.error, ReembedNeeded):
            self.offer_reembed(op.error)

    def offer_reembed(self, need: ReembedNeeded) -> None:
        """Say why the collection cannot be searched and offer to re-embed it."""
        if self._current_op is not None and self._current_op is self._reembed_op:
            return  # already being re-embedded (a question asked meanwhile says the same)
        if self.shared.refuses(need.collection, "reembed"):
            return
        self._reembed_name = need.collection
        self.reembed_label.setText(str(need))
        self.reembed_label.show()
        self.reembed_button.setEnabled(True)
        self.reembed_button.show()

    def reembed_now(self) -> Operation | None:
        """Re-embed the offered collection with the current model, with progress and Cancel."""
        name = self._reembed_name
        if not name:
            self._reembed_waiting = False
            return None
        if self._current_op is not None:
            # One job at a time: the re-embedding starts as soon as this one has finished.
            self._reembed_waiting = True
            self.reembed_button.setEnabled(False)
            self.status_label.setText(
                f"Re-embedding '{name}' starts as soon as the current indexing has finished."
            )
            return None
        self._reembed_waiting = False
        library = self.library
        started = time.monotonic()

        def work(op: Operation) -> int:
            with library.open(name) as coll:
                return int(coll.reembed(progress=op.progress.emit, cancel=op.cancel))

        def show(p: object) -> None:
            if not isinstance(p, Progress) or not p.files_total:
                return
            self.progress.setRange(0, p.files_total)
            self.progress.setValue(p.files_done)
            left = ""
            if p.files_done:
                rest = (time.monotonic() - started) * (p.files_total - p.files_done) / p.files_done
                left = f", {duration(rest)} left"
            self.status_label.setText(
                f"Re-embedding '{name}': {p.files_done} of {p.files_total} passages{left}."
            )

        def done(n: int) -> None:
            self._current_op = None
            self.progress.hide()
            self.cancel_button.hide()
            self.reembed_label.hide()
            self.reembed_button.hide()
            self._reembed_name = ""
            self.chat.forget(name)
            # Kept as the last job's summary: the watch status that follows shows it too.
            self._last_summary = f"'{name}' can be searched again: {n} passages re-embedded."
            self.status_label.setText(self._last_summary)
            self.refresh_collections()
            self._start_next_index()

        def failed(message: str) -> None:
            self._current_op = None
            self.progress.hide()
            self.cancel_button.hide()
            self.reembed_button.setEnabled(True)
            self.status_label.setText(message)
            self._start_next_index()

        op = Operation(work)
        op.progress.connect(show)
        op.succeeded.connect(done)
        op.failed.connect(failed)
        self._current_op = op  # Cancel stops it; indexing waits its turn
        self._reembed_op = op
        self.reembed_button.setEnabled(False)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self.status_label.setText(f"Re-embedding '{name}'…")
        return self.index_executor.submit(op)

    def closeEvent(self, event: object) -> None:
        self._save_window_state()
        self.compare.shutdown()
        self.viewer.close()
        self.watcher.stop()
        self.chat.shutdown()
        self.tune.stop()
        self.tune_executor.shutdown()
        self.model_executor.shutdown()
        self.index_executor.shutdown()
        self.read_executor.shutdown()
        super().closeEvent(event)  # type: ignore[arg-type]
