"""Qt item models over plain snapshots that the engine hands back; each is paired with one view.

The models hold rows that were read off the GUI thread and only display them: they never call
the engine. A view shows a model; whoever reads the engine (the window, the sidebar) hands the
model a fresh snapshot.

- ``CollectionsModel``: the collection names, own and shared (the window's collections list)
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
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QApplication, QStyle

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


OWN, HEADING, SHARED, UNREACHABLE = "own", "heading", "shared", "unreachable"


@dataclass(frozen=True)
class CollectionRow:
    """One row of the collections list: an own collection, the shared heading, a shared
    collection (read-only) or a shared one that cannot be chosen now (greyed, with why)."""

    name: str  # the collection's name ("" for the heading)
    kind: str = OWN  # OWN, HEADING, SHARED or UNREACHABLE
    text: str = ""  # what the list shows, when not the name
    tip: str = ""  # the tooltip (why it cannot be chosen); the name when empty
    spoken: str = ""  # what a screen reader says about it, beside its text


class CollectionsModel(_ListModel):
    """The user's collections by name, in the library's order, then the organisation's shared
    collections under their heading.

    This is the one place that knows what the collections list shows; a kind of collection
    that needs another look or other actions gets a role here. Only own and shared
    collections can be chosen; ``SharedRole`` is True for a shared (read-only) entry.
    """

    NameRole = Qt.ItemDataRole.UserRole + 1  # None for rows that cannot be chosen
    SharedRole = Qt.ItemDataRole.UserRole + 2  # shared by the organisation: read-only

    def data(self, index: Index, role: int = DISPLAY) -> Any:
        row: CollectionRow | None = self._row(index)
        if row is None:
            return None
        choosable = row.kind in (OWN, SHARED)
        values = {
            DISPLAY: row.text or row.name,
            self.NameRole: row.name if choosable else None,
            self.SharedRole: row.kind in (SHARED, UNREACHABLE),
            Qt.ItemDataRole.ToolTipRole: row.tip or row.name or None,
            Qt.ItemDataRole.AccessibleTextRole: row.spoken if row.kind == HEADING else None,
            Qt.ItemDataRole.AccessibleDescriptionRole: row.spoken if row.kind != HEADING else None,
        }
        if role == Qt.ItemDataRole.FontRole and row.kind == HEADING:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.DecorationRole and row.kind in (SHARED, UNREACHABLE):
            # On a server, not on this computer.
            return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_DriveNetIcon)
        return values.get(role)

    def flags(self, index: Index) -> Qt.ItemFlag:
        row: CollectionRow | None = self._row(index)
        if row is None or row.kind not in (OWN, SHARED):
            return Qt.ItemFlag.NoItemFlags  # the heading, a shared one not reachable: greyed
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def set_names(self, names: Sequence[str], shared: Sequence[CollectionRow] = ()) -> None:
        """Show the own collections ``names``, then ``shared`` (the heading and its entries)."""
        self._replace(self.rows_for(names, shared))

    @staticmethod
    def rows_for(names: Sequence[str], shared: Sequence[CollectionRow] = ()) -> list[CollectionRow]:
        return [CollectionRow(n) for n in names] + list(shared)

    def rows(self) -> list[CollectionRow]:
        return list(self._rows)

    def append(self, name: str) -> None:
        """Show one collection before the library lists it (a first drop is being indexed)."""
        if name in self.names():
            return
        at = len([r for r in self._rows if r.kind == OWN])  # after the own ones
        self.beginInsertRows(QModelIndex(), at, at)
        self._rows.insert(at, CollectionRow(name))
        self.endInsertRows()

    def names(self) -> list[str]:
        """The collections that can be chosen, own then shared."""
        return [r.name for r in self._rows if r.kind in (OWN, SHARED)]

    def row_of(self, name: str | None) -> int:
        """The row of the collection ``name`` that can be chosen; -1 when there is none."""
        for i, r in enumerate(self._rows):
            if r.name == name and r.kind in (OWN, SHARED):
                return i
        return -1

    def first_choosable(self) -> int:
        return next((i for i, r in enumerate(self._rows) if r.kind in (OWN, SHARED)), -1)


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
