"""Qt item models over plain snapshots that the engine hands back; each is paired with one view.

The models hold rows that were read off the GUI thread and only display them: they never call
the engine. A view shows a model; whoever reads the engine (the window, the sidebar) hands the
model a fresh snapshot.

- ``CollectionsModel``: the collection names        (the window's collections list)
- ``DocumentsModel``: each document, its status      (the Documents tab's table)
- ``ChatsModel``: the chats of the current collection (the history sidebar)
- ``SourcesModel``: the sources of the last answer   (the chat pane, beside its chips)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QBrush, QColor

from engine.history import SessionInfo

from .transcript import STATUS_MARK, Card

UNAVAILABLE = "not reachable now"  # the status of a document whose file cannot be reached
PENDING = "pending"  # a file listed for indexing that is not indexed yet
GREY = QColor("#8a8a8a")

Index = QModelIndex | QPersistentModelIndex
DISPLAY = Qt.ItemDataRole.DisplayRole


class _ListModel(QAbstractListModel):
    """A flat list of rows; subclasses say what a row shows."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[Any] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._rows)

    def _row(self, index: Index) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        return self._rows[index.row()]

    def _replace(self, rows: Iterable[Any]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()


class CollectionsModel(_ListModel):
    """The user's collections by name, in the library's order.

    This is the one place that knows what the collections list shows; a kind of collection
    that needs another look or other actions gets a role here.
    """

    NameRole = Qt.ItemDataRole.UserRole + 1

    def data(self, index: Index, role: int = DISPLAY) -> Any:
        name = self._row(index)
        if name is None:
            return None
        if role in (DISPLAY, self.NameRole, Qt.ItemDataRole.ToolTipRole):
            return name
        return None

    def set_names(self, names: Sequence[str]) -> None:
        self._replace(names)

    def append(self, name: str) -> None:
        """Show one collection before the library lists it (a first drop is being indexed)."""
        if name in self._rows:
            return
        at = len(self._rows)
        self.beginInsertRows(QModelIndex(), at, at)
        self._rows.append(name)
        self.endInsertRows()

    def names(self) -> list[str]:
        return list(self._rows)

    def row_of(self, name: str | None) -> int:
        return self._rows.index(name) if name in self._rows else -1


@dataclass(frozen=True)
class DocumentRow:
    name: str  # the file's name
    status: str  # indexed, pending, failed: <reason>, or UNAVAILABLE
    tip: str = ""  # its full path (and why it cannot be reached)


class DocumentsModel(QAbstractTableModel):
    """The documents of one collection: file name and status, the path as a tooltip; files
    that cannot be reached now are greyed (kept and searchable)."""

    HEADERS = ("Document", "Status")
    StatusRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[DocumentRow] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = DISPLAY) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == DISPLAY:
            return self.HEADERS[section] if 0 <= section < len(self.HEADERS) else None
        return None

    def data(self, index: Index, role: int = DISPLAY) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == DISPLAY:
            return row.name if index.column() == 0 else row.status
        if role == self.StatusRole:
            return row.status
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.tip or None
        if role == Qt.ItemDataRole.ForegroundRole and row.status == UNAVAILABLE:
            return QBrush(GREY)
        return None

    def set_rows(self, rows: Iterable[DocumentRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def clear(self) -> None:
        self.set_rows([])

    def add_pending(self, files: Iterable[str]) -> None:
        """Append the files about to be indexed that are not listed yet, as pending."""
        shown = {r.name for r in self._rows}
        new = [DocumentRow(f, PENDING) for f in sorted(set(files) - shown)]
        if not new:
            return
        at = len(self._rows)
        self.beginInsertRows(QModelIndex(), at, at + len(new) - 1)
        self._rows.extend(new)
        self.endInsertRows()

    def statuses(self) -> dict[str, str]:
        """Each listed file's status, by file name."""
        return {r.name: r.status for r in self._rows}


class ChatsModel(_ListModel):
    """The chats of a collection, newest first: title and number of questions."""

    IdRole = Qt.ItemDataRole.UserRole  # the chat's id in the chat store

    def data(self, index: Index, role: int = DISPLAY) -> Any:
        info: SessionInfo | None = self._row(index)
        if info is None:
            return None
        if role == DISPLAY:
            return f"{info.title} ({info.turns})"
        if role == self.IdRole:
            return info.id
        return None

    def set_sessions(self, sessions: Iterable[SessionInfo]) -> None:
        self._replace(sessions)

    def session_id(self, row: int) -> int | None:
        return self._rows[row].id if 0 <= row < len(self._rows) else None


class SourcesModel(_ListModel):
    """The numbered sources of an answer: document, page, snippet and the check mark of the
    sentences that cite it."""

    NumberRole = Qt.ItemDataRole.UserRole + 1
    DocumentRole = Qt.ItemDataRole.UserRole + 2
    PageRole = Qt.ItemDataRole.UserRole + 3
    SnippetRole = Qt.ItemDataRole.UserRole + 4
    CheckRole = Qt.ItemDataRole.UserRole + 5  # the mark (✓, ~, ✗ …); '' before the check
    StatusRole = Qt.ItemDataRole.UserRole + 6

    def data(self, index: Index, role: int = DISPLAY) -> Any:
        card: Card | None = self._row(index)
        if card is None:
            return None
        mark = STATUS_MARK.get(card.status, "") if card.status else ""
        if role == DISPLAY:
            number = f"[{card.number}] " if card.number else ""
            return f"{number}{card.name}, {card.location} {mark}".rstrip()
        if role == Qt.ItemDataRole.ToolTipRole:
            return card.snippet
        values = {
            self.NumberRole: card.number,
            self.DocumentRole: card.name,
            self.PageRole: card.page,
            self.SnippetRole: card.snippet,
            self.CheckRole: mark,
            self.StatusRole: card.status,
        }
        return values.get(role)

    def set_cards(self, cards: Iterable[Card]) -> None:
        self._replace(cards)

    def cards(self) -> list[Card]:
        return list(self._rows)
