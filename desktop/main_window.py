"""The main window: collections on the left, the tabs (Ask, Documents, …) on the right.

Layout and wiring only. The parts do the work and say what happened through signals:
``IndexingController`` (indexing, watching, re-embedding), ``CollectionActions`` (the tool bar's
collection commands), ``CollectionsPane`` and ``DocumentsTab`` (views of item models), and the
panels of the tabs. Every engine call runs in an Operation on an executor.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter, QTabWidget, QVBoxLayout, QWidget

from engine import Library
from engine.errors import FolioError
from engine.paths import assets_dir
from engine.sample import SAMPLE_COLLECTION, SAMPLE_QUESTION, copy_sample

from . import none_guard, window_state
from .accessibility import make_accessible, name_from_text
from .chat_panel import ChatPanel
from .collection_actions import CollectionActions
from .collections_pane import CollectionsPane
from .compare_panel import ComparePanel
from .documents_tab import DocumentsTab
from .indexing import IndexingController
from .indexing_status import IndexingStatus
from .models import LoadedModel, server_notice
from .settings import Settings, answers_from_line, load_settings
from .settings_dialog import SettingsDialog
from .tasks import Executor
from .tune_panel import TunePanel
from .verify_panel import VerifyPanel
from .viewer import SourceViewer
from .welcome import welcome_widgets

DEFAULT_COLLECTION = "My documents"
ASSETS = assets_dir()


class MainWindow(QMainWindow):
    def __init__(self, library: Library) -> None:
        super().__init__()
        # Keeps a PySide6 bug from aborting a long session (see none_guard.py).
        none_guard.top_up()
        self._none_guard = QTimer(self)
        self._none_guard.timeout.connect(none_guard.top_up)
        self._none_guard.start(1000)
        self.library = library
        # One single-worker executor per resource: index writes, reads, the loaded model.
        self.index_executor = index = Executor("folio-index")
        self.read_executor = read = Executor("folio-read")
        self.model_executor = model = Executor("folio-model")
        self.tune_executor = Executor("folio-tune")
        self.setWindowTitle("Folio")
        self.setAcceptDrops(True)
        self.resize(1000, 650)
        self.settings = load_settings(library.home)
        # Indexing reads scanned pages by OCR unless the user turned it off.
        library.config.ocr = self.settings.ocr
        # One loaded model, shared by chat and Compare; its load times are kept per computer.
        self.loaded_model = LoadedModel(library.home)

        # The parts, each with the executors it needs.
        self.pane = CollectionsPane(library, read)
        self.collections, self.chats = self.pane.view, self.pane.chats
        current, self.shared = self.current_collection, self.pane.shared
        refuses = self.shared.refuses  # a shared collection is read-only
        self.indexing = IndexingController(library, index, read, refuses)
        self.collection_actions = CollectionActions(library, self, current, index, read, refuses)
        pending = self.indexing.pending_files
        self.documents_tab = DocumentsTab(library, current, pending, index, read)
        self.documents = self.documents_tab.documents
        self.query, self.results = self.documents_tab.query, self.documents_tab.results
        self.indexing_status = IndexingStatus()
        self.status_label = self.indexing_status.status_label
        self.chat = ChatPanel(library, current, model, self.settings, read, self.loaded_model)
        self.viewer = SourceViewer(library, read, parent=self)
        # One line: where answers come from (this computer's model, or the model server).
        self.answers_label = QLabel(answers_from_line(self.settings))
        self.answers_label.setWordWrap(True)
        self.verify = VerifyPanel(library, current, read)
        self.compare = ComparePanel(
            library, current, model, read, lambda: self.settings, self.loaded_model
        )
        self.tune = TunePanel(library, current, lambda: self.settings, self.tune_executor, index)
        self.welcome, self.welcome_hint, self.sample_button = welcome_widgets()
        self.sample_button.clicked.connect(self.load_sample)
        self._lay_out()
        self._wire()
        self.window_state_restored = window_state.restore(self, self.splitter, library.home)
        tb = self.addToolBar("Main")
        tb.setObjectName("main-toolbar")
        tb.setMovable(False)
        self.collection_actions.fill(tb)
        tb.addSeparator()
        tb.addAction("Models and settings…", self.open_settings)
        self.shared.watch_toolbar(tb.actions())  # disabled while a shared one is chosen
        self.keys = make_accessible(self)  # screen-reader names, keyboard shortcuts
        self.refresh_collections()
        self.shared.refresh()

    def _lay_out(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.addTab(self.chat, "Ask")
        self.tabs.addTab(self.documents_tab, "Documents")
        self.tabs.addTab(self.verify, "Check a statement")
        self.tabs.addTab(self.compare, "Compare")
        self.tabs.addTab(self.tune, "Tune")
        right = QWidget()
        rl = QVBoxLayout(right)
        for w in (self.welcome, self.welcome_hint, self.sample_button):
            rl.addWidget(w)
        rl.addWidget(self.tabs, 1)
        self.indexing_status.add_to(rl)
        rl.addWidget(self.answers_label)
        self.splitter = QSplitter()
        self.splitter.addWidget(self.pane)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 3)
        self.setCentralWidget(self.splitter)

    def _wire(self) -> None:
        chat, status = self.chat, self.status_label
        self.pane.listed.connect(self._collections_listed)
        self.pane.status.connect(status.setText)
        self.pane.chosen.connect(self.documents_tab.refresh)
        self.pane.chosen.connect(self.chats.refresh)
        self.indexing_status.connect(self.indexing)
        self.indexing.pending.connect(self._files_pending)
        self.indexing.changed.connect(self.refresh_collections)
        self.indexing.reembedded.connect(chat.forget)
        self.collection_actions.status.connect(status.setText)
        self.collection_actions.select.connect(self.pane.select_after_refresh)
        self.collection_actions.changed.connect(self.refresh_collections)
        self.collection_actions.add_folder.connect(self.index_paths)
        self.documents_tab.status.connect(status.setText)
        chat.open_source.connect(lambda args: self.viewer.show_passage(*args))
        chat.reembed_needed.connect(self.indexing.offer_reembed)
        chat.answer_finished.connect(lambda _a: self._show_answers_from())
        chat.answer_finished.connect(lambda _a: self.chats.refresh())
        self.chats.chat_read.connect(chat.show_chat)
        self.chats.chat_deleted.connect(chat.chat_deleted)
        self.chats.new_chat_requested.connect(chat.new_chat)
        self.chats.message.connect(chat.notice.setText)
        self.tune.adapter_ready.connect(lambda _p: chat.refresh_adapters())
        self.tune.use_in_chat.connect(self._use_adapter_in_chat)
        self.tune.embedder_ready.connect(self.indexing.reembed_with)

    # -- collections and documents ---------------------------------------------------------
    def current_collection(self) -> str | None:
        return self.pane.current()

    def refresh_collections(self) -> None:
        """Re-read the collections (off the GUI thread); the rest follows when they are shown."""
        self.pane.refresh()

    def _collections_listed(self, names: list[str]) -> None:
        self._offer_welcome(not names)
        self.documents_tab.refresh()
        self.chats.refresh()
        self.indexing.refresh_watch()

    def _files_pending(self, name: str) -> None:
        """Files are about to be indexed: list them as pending where they show."""
        if self.current_collection() is None:  # a first drop: show its collection now
            self.pane.show_first(name)
            self._offer_welcome(False)
            self.documents_tab.show_pending(name)  # at once, not after the list is read back
            self.refresh_collections()
        elif name == self.current_collection():
            self.documents_tab.show_pending(name)

    def _offer_welcome(self, shown: bool) -> None:
        for offer in (self.welcome, self.welcome_hint, self.sample_button):
            offer.setVisible(shown)

    # -- drag and drop, first run ----------------------------------------------------------
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
        self.indexing.queue_index(self.current_collection() or DEFAULT_COLLECTION, paths)

    def load_sample(self) -> None:
        """First run: copy the bundled sample documents into the home folder and index them."""
        try:
            dest = copy_sample(self.library.home)
        except FolioError as exc:
            self.status_label.setText(str(exc))
            return
        self.pane.select_after_refresh(SAMPLE_COLLECTION)
        self.indexing.queue_index(SAMPLE_COLLECTION, [dest])
        self._offer_welcome(False)  # taken up: the progress below says what happens now
        self.tabs.setCurrentWidget(self.chat)
        if not self.chat.question.text():
            self.chat.question.setText(SAMPLE_QUESTION)

    # -- settings and tuning ---------------------------------------------------------------
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

    def _use_adapter_in_chat(self, path: str) -> None:
        self.chat.use_adapter(path)
        self.tabs.setCurrentWidget(self.chat)

    def closeEvent(self, event: object) -> None:
        window_state.save(self, self.splitter, self.library.home)
        self.compare.shutdown()
        self.viewer.close()
        self.indexing.stop()
        self.chat.shutdown()
        self.tune.stop()
        for executor in (self.tune_executor, self.model_executor, self.index_executor):
            executor.shutdown()
        self.read_executor.shutdown()
        super().closeEvent(event)  # type: ignore[arg-type]
