"""Copy as Markdown / Export…: the chat shown, every question with its answer and sources."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QPushButton, QWidget

from engine.export import answer_markdown, chat_markdown
from engine.messages import storage_cause


class ChatExport(QWidget):
    message = Signal(str)  # a sentence for the chat's notice line

    def __init__(self) -> None:
        super().__init__()
        self._title = ""
        self._results: list[dict[str, Any]] = []
        self.copy_button = QPushButton("Copy as Markdown")
        self.copy_button.clicked.connect(self.copy)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(self._choose)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.copy_button)
        lay.addWidget(self.export_button)
        self.set_chat("", [])

    def set_chat(self, title: str, results: list[dict[str, Any]]) -> None:
        """What the buttons copy and save (nothing yet: both are off)."""
        self._title, self._results = title, list(results)
        self.copy_button.setEnabled(bool(results))
        self.export_button.setEnabled(bool(results))

    def markdown(self) -> str:
        if len(self._results) == 1:
            return answer_markdown(self._results[0])
        return chat_markdown(self._title or "Folio chat", self._results)

    def copy(self) -> None:
        if self._results:
            QGuiApplication.clipboard().setText(self.markdown())
            self.message.emit("Copied as Markdown.")

    def _choose(self) -> None:
        if not self._results:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export as Markdown", str(Path.home() / "folio-answer.md"), "Markdown (*.md)"
        )
        if path:
            self.save(Path(path))

    def save(self, path: Path) -> bool:
        try:
            path.write_text(self.markdown(), encoding="utf-8")
        except OSError as exc:
            cause = storage_cause(exc)
            self.message.emit(f"{path.name} could not be saved because {cause}.")
            return False
        self.message.emit(f"Saved {path.name}.")
        return True
