"""The "Check a statement" box: a sentence from an e-mail or a draft, checked claim by claim
against the current collection with the same checker as the answers.

Layout and wiring only; the search and the check run on the read worker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine import Library
from engine.verify import ClaimResult, summary, verify

from .tasks import Executor, Operation

MARK = {"supported": "✓", "contradicted": "✗", "likely": "≈", "not found": "?"}
WORDS = {
    "supported": "Supported",
    "contradicted": "Contradicted",
    "likely": "Close, nothing to check",
    "not found": "Not found",
}


class VerifyPanel(QWidget):
    """Type or paste a statement; each claim gets its verdict, the page and the reason."""

    checked = Signal(object)  # list[ClaimResult]

    def __init__(
        self, library: Library, collection: Callable[[], str | None], executor: Executor
    ) -> None:
        super().__init__()
        self.library = library
        self._collection = collection
        self._executor = executor
        self._op: Operation | None = None
        self.results: list[ClaimResult] = []

        self.statement = QLineEdit()
        self.statement.setPlaceholderText(
            "Paste a sentence from an e-mail or a draft to check it against your documents…"
        )
        self.statement.returnPressed.connect(self.check)
        self.check_button = QPushButton("Check")
        self.check_button.clicked.connect(self.check)
        self.table = QTreeWidget()
        self.table.setHeaderLabels(["Claim", "Result", "Where", "Why"])
        self.table.setColumnWidth(0, 360)
        self.table.setColumnWidth(1, 150)
        self.table.setColumnWidth(2, 200)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(QLabel("Check a statement:"))
        top.addWidget(self.statement, 1)
        top.addWidget(self.check_button)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.summary)

    def check(self) -> Operation | None:
        text = self.statement.text().strip()
        name = self._collection()
        if not text:
            self.summary.setText("Type or paste a statement to check first.")
            return None
        if not name:
            self.summary.setText("Add documents to a collection first, then check against it.")
            return None
        self.table.clear()
        self.summary.setText("Checking against the documents…")
        self.check_button.setEnabled(False)
        library = self.library

        def work(_op: Operation) -> list[ClaimResult]:
            with library.open(name) as coll:

                def similarity(a: Sequence[str], b: Sequence[str]) -> Any:
                    vecs = library.embedder.embed(list(a) + list(b))
                    return vecs[: len(a)] @ vecs[len(a) :].T

                return verify(text, lambda claim, k: coll.search(claim, k=k), similarity)

        op = Operation(work)
        op.succeeded.connect(lambda results, op=op: self._show(op, results))
        op.failed.connect(lambda message, op=op: self._failed(op, message))
        self._op = op
        return self._executor.submit(op)

    def _show(self, op: Operation, results: list[ClaimResult]) -> None:
        if op is not self._op:
            return
        self.check_button.setEnabled(True)
        self.results = results
        self.table.clear()
        for r in results:
            where = f"{r.hit.name}, {r.hit.location}" if r.hit else ""
            item = QTreeWidgetItem(
                self.table, [r.claim, f"{MARK[r.status]} {WORDS[r.status]}", where, r.reason]
            )
            item.setToolTip(0, r.claim)
            item.setToolTip(3, r.reason)
            if r.hit is not None:
                item.setToolTip(2, r.hit.snippet(300))
        self.summary.setText(summary(results))
        self.checked.emit(results)

    def _failed(self, op: Operation, message: str) -> None:
        if op is not self._op:
            return
        self.check_button.setEnabled(True)
        self.summary.setText(message)
