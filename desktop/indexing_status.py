"""The lines under the tabs that show what ``IndexingController`` says: the progress bar and
Cancel, repair notices, the re-embedding offer, the files that could not be read, and the
status line."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from .indexing import IndexingController


class IndexingStatus:
    """The widgets, laid out by ``add_to`` into the window's column and fed by ``connect``."""

    def __init__(self) -> None:
        self.progress = QProgressBar()
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.status_label = QLabel("")
        # Files that could not be read: listed here, never one dialog per file.
        self.failures = QListWidget()
        self.failures.setMaximumHeight(110)
        self.failures.hide()
        self.failures_title = QLabel("")
        self.failures_title.hide()
        self.dismiss_failures = QPushButton("Dismiss")
        self.dismiss_failures.hide()
        self.dismiss_failures.clicked.connect(self.hide_failures)
        # Repairs made at start (a damaged collection rebuilt): shown here, never as a dialog.
        self.notice_label = QLabel("")
        self.notice_label.setWordWrap(True)
        self.notice_label.setContentsMargins(4, 4, 4, 4)
        self.notice_label.linkActivated.connect(lambda _link: self.notice_label.hide())
        self.notice_label.hide()
        # A collection built with another embedding model: what to do, and the button to do it.
        self.reembed_label = QLabel("")
        self.reembed_label.setWordWrap(True)
        self.reembed_button = QPushButton("Re-embed now")
        self.reembed_label.hide()
        self.reembed_button.hide()

    def add_to(self, column: QVBoxLayout) -> None:
        bar = QHBoxLayout()
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.cancel_button)
        column.addLayout(bar)
        column.addWidget(self.notice_label)
        reembed_bar = QHBoxLayout()
        reembed_bar.addWidget(self.reembed_label, 1)
        reembed_bar.addWidget(self.reembed_button)
        column.addLayout(reembed_bar)
        fail_bar = QHBoxLayout()
        fail_bar.addWidget(self.failures_title, 1)
        fail_bar.addWidget(self.dismiss_failures)
        column.addLayout(fail_bar)
        column.addWidget(self.failures)
        column.addWidget(self.status_label)

    def connect(self, indexing: IndexingController) -> None:
        self.cancel_button.clicked.connect(indexing.cancel)
        self.reembed_button.clicked.connect(indexing.reembed_now)
        indexing.started.connect(self.show_started)
        indexing.progress.connect(self.show_progress)
        indexing.stopped.connect(self.show_stopped)
        indexing.status.connect(self.status_label.setText)
        indexing.failures.connect(self.show_failures)
        indexing.notices.connect(self.show_notices)
        indexing.reembed_offered.connect(self.show_reembed_offer)
        indexing.reembed_enabled.connect(self.reembed_button.setEnabled)
        indexing.reembedded.connect(lambda _name: self.hide_reembed_offer())

    def show_started(self) -> None:
        self.progress.setRange(0, 0)  # busy until the first count arrives
        self.progress.show()
        self.cancel_button.show()

    def show_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def show_stopped(self) -> None:
        self.progress.hide()
        self.cancel_button.hide()

    def show_failures(self, rows: list[tuple[str, str]]) -> None:
        self.failures.clear()
        for path, reason in rows:
            self.failures.addItem(f"{Path(path).name} — {reason}")
        self.failures_title.setText(f"{len(rows)} file(s) could not be read:")
        for w in (self.failures, self.failures_title, self.dismiss_failures):
            w.show()

    def hide_failures(self) -> None:
        for w in (self.failures, self.failures_title, self.dismiss_failures):
            w.hide()

    def show_notices(self, notices: list[str]) -> None:
        lines = "<br>".join(html.escape(n, quote=False) for n in notices)
        self.notice_label.setText(f'{lines} <a href="dismiss">Dismiss</a>')
        self.notice_label.show()

    def show_reembed_offer(self, text: str) -> None:
        self.reembed_label.setText(text)
        self.reembed_label.show()
        self.reembed_button.show()

    def hide_reembed_offer(self) -> None:
        self.reembed_label.hide()
        self.reembed_button.hide()
