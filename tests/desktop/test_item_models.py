"""The Qt item models behind the window's lists, on real Qt (offscreen): rows, roles, and the
signals a view relies on to redraw (reset for a new snapshot, inserted rows for additions)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QListView, QTreeView

from desktop.item_models import (
    GREY,
    HEADING,
    PENDING,
    SHARED,
    UNAVAILABLE,
    UNREACHABLE,
    ChatsModel,
    CollectionRow,
    CollectionsModel,
    DocumentRow,
    DocumentsModel,
    SourcesModel,
)
from desktop.transcript import Card
from engine.history import SessionInfo

TIP = Qt.ItemDataRole.ToolTipRole


class Spy:
    """Records the structure signals of a model, in order."""

    def __init__(self, model: Any) -> None:
        self.events: list[tuple[Any, ...]] = []
        model.modelReset.connect(lambda: self.events.append(("reset",)))
        model.rowsInserted.connect(
            lambda _p, first, last: self.events.append(("inserted", first, last))
        )
        model.dataChanged.connect(lambda *_a: self.events.append(("changed",)))


def test_collections_model_lists_names_and_adds_one_before_the_library_does(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = CollectionsModel()
    spy = Spy(model)
    view = QListView()
    qtbot.addWidget(view)
    view.setModel(model)
    assert model.rowCount() == 0 and model.data(model.index(0)) is None

    model.set_names(["HR", "IT"])
    assert spy.events == [("reset",)]
    assert [model.index(r).data() for r in range(model.rowCount())] == ["HR", "IT"]
    assert model.index(1).data(CollectionsModel.NameRole) == "IT"
    assert model.row_of("IT") == 1 and model.row_of("Legal") == -1 and model.row_of(None) == -1
    # A list has no children: a valid parent has no rows under it.
    assert model.rowCount(model.index(0)) == 0

    model.append("Legal")
    model.append("Legal")  # listed once
    assert spy.events == [("reset",), ("inserted", 2, 2)]
    assert model.names() == ["HR", "IT", "Legal"]
    view.setCurrentIndex(model.index(model.row_of("Legal")))
    assert view.currentIndex().data() == "Legal"


def test_documents_model_shows_status_tip_grey_and_pending_rows(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = DocumentsModel()
    spy = Spy(model)
    view = QTreeView()
    qtbot.addWidget(view)
    view.setModel(model)
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(2)] == [
        "Document",
        "Status",
    ]
    assert model.headerData(2, Qt.Orientation.Horizontal) is None

    model.set_rows(
        [
            DocumentRow("a.md", "indexed", "/docs/a.md"),
            DocumentRow("b.pdf", "failed: empty file", "/docs/b.pdf"),
            DocumentRow("c.md", UNAVAILABLE, "/usb/c.md\nThe drive is not connected."),
        ]
    )
    assert spy.events == [("reset",)]
    assert model.rowCount() == 3 and model.columnCount() == 2
    assert model.statuses() == {
        "a.md": "indexed",
        "b.pdf": "failed: empty file",
        "c.md": UNAVAILABLE,
    }
    assert model.index(1, 1).data() == "failed: empty file"
    assert model.index(1, 0).data(DocumentsModel.StatusRole) == "failed: empty file"
    assert model.index(0, 1).data(TIP) == "/docs/a.md"
    # Only a document whose file cannot be reached is greyed, in both columns.
    assert model.index(0, 0).data(Qt.ItemDataRole.ForegroundRole) is None
    for col in (0, 1):
        brush = model.index(2, col).data(Qt.ItemDataRole.ForegroundRole)
        assert brush.color().name() == GREY.name()
    assert model.index(5, 0).data() is None  # no such row: nothing, no error

    # Files about to be indexed: the ones not listed yet, sorted, at the end.
    model.add_pending({"z.md", "a.md", "d.md"})
    assert spy.events == [("reset",), ("inserted", 3, 4)]
    assert [model.index(r, 0).data() for r in range(3, 5)] == ["d.md", "z.md"]
    assert model.index(3, 1).data() == PENDING and model.index(3, 0).data(TIP) is None
    model.add_pending({"a.md"})  # nothing new: no signal
    assert len(spy.events) == 2

    model.clear()
    assert model.rowCount() == 0 and spy.events[-1] == ("reset",)


def test_chats_model_shows_title_and_questions_and_keeps_the_id(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = ChatsModel()
    spy = Spy(model)
    view = QListView()
    qtbot.addWidget(view)
    view.setModel(model)
    model.set_sessions(
        [
            SessionInfo(7, "Where is the canteen?", ("Office",), 1.0, 2.0, 3),
            SessionInfo(4, "Parking", ("Office",), 0.5, 0.6, 1),
        ]
    )
    assert spy.events == [("reset",)]
    assert [model.index(r).data() for r in range(2)] == ["Where is the canteen? (3)", "Parking (1)"]
    assert model.index(0).data(ChatsModel.IdRole) == 7
    assert model.session_id(1) == 4 and model.session_id(2) is None
    assert model.data(QModelIndex()) is None
    model.set_sessions([])
    assert model.rowCount() == 0


def _card(number: int, name: str, page: int, status: str = "") -> Card:
    return Card(
        number, name, f"/docs/{name}", page, 0, 10, f"page {page}", "HR",
        "Staff get 25 days of leave.", "Staff get 25 days…", status=status,
    )  # fmt: skip


def test_sources_model_gives_document_page_snippet_and_check(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = SourcesModel()
    spy = Spy(model)
    view = QListView()
    qtbot.addWidget(view)
    view.setModel(model)
    model.set_cards([_card(1, "leave.pdf", 3, "supported"), _card(2, "policy.md", 1)])
    assert spy.events == [("reset",)]
    first, second = model.index(0), model.index(1)
    assert first.data() == "[1] leave.pdf, page 3 ✓"
    assert first.data(SourcesModel.DocumentRole) == "leave.pdf"
    assert first.data(SourcesModel.PageRole) == 3
    assert first.data(SourcesModel.NumberRole) == 1
    assert first.data(SourcesModel.SnippetRole) == "Staff get 25 days…"
    assert first.data(TIP) == "Staff get 25 days…"
    assert first.data(SourcesModel.CheckRole) == "✓"
    assert first.data(SourcesModel.StatusRole) == "supported"
    # Not checked yet (the answer is still being written): no mark.
    assert second.data() == "[2] policy.md, page 1"
    assert second.data(SourcesModel.CheckRole) == ""
    # A list of every document has no numbers.
    model.set_cards([_card(0, "leave.pdf", 2)])
    assert model.index(0).data() == "leave.pdf, page 2"
    assert [c.name for c in model.cards()] == ["leave.pdf"]


def test_collections_model_shows_shared_entries_read_only_and_unreachable_ones_disabled(
    qtbot,
) -> None:  # type: ignore[no-untyped-def]
    model = CollectionsModel()
    view = QListView()
    qtbot.addWidget(view)
    view.setModel(model)
    heading = CollectionRow("", HEADING, "Shared\nread-only", "Shared · read-only", "Shared")
    team = CollectionRow("Team", SHARED, "", "On the server.", "Shared")
    away = CollectionRow("Away", UNREACHABLE, "Away (not reachable)", "The server did not answer.")
    model.set_names(["Mine"], [heading, team, away])

    shown = [model.index(r).data() for r in range(model.rowCount())]
    assert shown == ["Mine", "Shared\nread-only", "Team", "Away (not reachable)"]
    shared = [model.index(r).data(CollectionsModel.SharedRole) for r in range(4)]
    assert shared == [False, False, True, True]
    choosable = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
    flags = [model.flags(model.index(r)) for r in range(4)]
    assert flags == [choosable, Qt.ItemFlag.NoItemFlags, choosable, Qt.ItemFlag.NoItemFlags]
    # Only collections that can be chosen have a name to choose by.
    names = [model.index(r).data(CollectionsModel.NameRole) for r in range(4)]
    assert names == ["Mine", None, "Team", None]
    assert model.names() == ["Mine", "Team"]
    assert model.row_of("Away") == -1 and model.row_of("Team") == 2
    assert model.index(3).data(TIP) == "The server did not answer."
    assert model.index(1).data(Qt.ItemDataRole.FontRole).bold()
    assert model.index(1).data(Qt.ItemDataRole.AccessibleTextRole) == "Shared"
    assert model.index(2).data(Qt.ItemDataRole.DecorationRole) is not None  # the server icon
    assert model.index(0).data(Qt.ItemDataRole.DecorationRole) is None

    # A first drop on an own collection is listed with the own ones, above the heading.
    model.append("Dropped")
    assert model.names() == ["Mine", "Dropped", "Team"]
    assert model.index(2).data() == "Shared\nread-only"
    # Neither the heading nor an unreachable entry can be chosen by clicking it.
    view.show()
    view.setCurrentIndex(model.index(model.row_of("Team")))
    for row in (2, 4):  # the heading, "Away"
        centre = view.visualRect(model.index(row)).center()
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
        assert view.currentIndex().data(CollectionsModel.NameRole) == "Team"
    qtbot.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(model.index(1)).center()
    )
    assert view.currentIndex().data(CollectionsModel.NameRole) == "Dropped"
