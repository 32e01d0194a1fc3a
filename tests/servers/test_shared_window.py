"""The window with the organisation's shared collections (real PostgreSQL + pgvector, a role
that may only read, the real default models, real widgets offscreen).

A settings file naming the shared store lists the shared collection under its heading beside
the user's own; a question on it is answered with citations from it; the viewer shows the
cited page, and says so when the file is not reachable from this computer; every write is
disabled or refused with a sentence. A server that does not answer or refuses leaves the window
and the user's own collections working, says so, and Try again lists the collection once the
server lets Folio in.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QToolBar

from desktop.item_models import CollectionsModel
from desktop.main_window import MainWindow
from desktop.shared_collections import HEADING_SHOWN, refusal
from engine import Answer, Library
from engine.reembed import ReembedNeeded
from engine.sample import SAMPLE_QUESTION
from tests.servers.conftest import PgServer, free_port
from tests.servers.test_shared_list import READER, TEAM, reader_role, share_sample

OWN = "My notes"
SHOTS = Path(__file__).resolve().parents[1] / "screenshots"


def org_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, values: dict[str, object]
) -> None:
    path = tmp_path / "org" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values), "utf-8")
    monkeypatch.setenv("FOLIO_SYSTEM_SETTINGS", str(path))


def own_collection(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "own"
    folder.mkdir()
    (folder / "garden.md").write_text("# Garden\n\nThe tomatoes are watered at dawn.", "utf-8")
    with library.create(OWN) as own:
        assert len(own.index([folder]).indexed) == 1


def listed(window: MainWindow) -> list[tuple[str, bool]]:
    """The collection list as shown: (text, can be chosen)."""
    model = window.pane.model
    rows = (model.index(i) for i in range(model.rowCount()))
    return [(ix.data(), bool(model.flags(ix) & Qt.ItemFlag.ItemIsSelectable)) for ix in rows]


def choose(qtbot, window: MainWindow, name: str, documents: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """Choose collection ``name`` in the list and wait for its ``documents`` to show."""
    model = window.pane.model
    window.collections.setCurrentIndex(model.index(model.row_of(name)))
    qtbot.waitUntil(lambda: docs(window) == documents, timeout=30_000)


def docs(window: MainWindow) -> dict[str, str]:
    return window.documents_tab.model.statuses()


def toolbar(window: MainWindow, tips: bool = False) -> dict[str, object]:
    """The toolbar's actions: enabled or not (or their tooltips) by their text."""
    bar = window.findChild(QToolBar, "main-toolbar")
    return {a.text(): a.toolTip() if tips else a.isEnabled() for a in bar.actions() if a.text()}


def test_shared_collection_is_listed_asked_cited_and_never_written(
    qtbot, tmp_path: Path, pg: PgServer, library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    src = share_sample(pg, library, tmp_path)
    dsn = reader_role(pg, TEAM)
    own_collection(library, tmp_path)
    org_settings(tmp_path, monkeypatch, {"shared_store": dsn, "shared_collections": [TEAM]})

    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: (TEAM, True) in listed(window), timeout=30_000)
    assert listed(window) == [(OWN, True), (HEADING_SHOWN, False), (TEAM, True)]
    model = window.pane.model
    shared = [model.index(r).data(CollectionsModel.SharedRole) for r in range(model.rowCount())]
    assert shared == [False, False, True]  # the shared entry alone is read-only
    assert not window.shared.panel.isVisible()  # nothing to say: the server answered
    assert window.current_collection() == OWN
    assert all(toolbar(window).values())
    own_tips = toolbar(window, tips=True)

    # Chosen: its documents, from the server; the toolbar's writes are disabled.
    choose(qtbot, window, TEAM, {p.name: "indexed" for p in src.iterdir()})
    qtbot.waitUntil(lambda: not toolbar(window)["Add folder…"], timeout=5_000)
    bar = toolbar(window)
    assert [bar[a] for a in ("Add folder…", "Remove folder…", "Rename…", "Delete…")] == [False] * 4
    assert bar["New collection…"] and bar["Models and settings…"]
    assert toolbar(window, tips=True)["Delete…"] == refusal(TEAM, "delete")
    SHOTS.mkdir(exist_ok=True)
    window.grab().save(str(SHOTS / "shared-collections.png"))

    # A question: answered from the shared collection, citing its passage.
    window.chat.question.setText(SAMPLE_QUESTION)
    with qtbot.waitSignal(window.chat.answer_finished, timeout=180_000) as blocker:
        window.chat.ask_button.click()
    answer: Answer = blocker.args[0]
    assert answer.included and answer.included[0].hit.name == "Working hours.md"
    assert "10 am to 4 pm" in answer.text
    cited = min(answer.citations, key=lambda c: c.number)
    assert (cited.collection, Path(cited.path).name) == (TEAM, "Working hours.md")
    qtbot.waitUntil(lambda: window.chats.model.rowCount() == 1, timeout=10_000)

    # The viewer: the file is reachable from here, so it is shown as for an own collection.
    viewer = window.viewer
    with qtbot.waitSignal(viewer.shown, timeout=30_000):
        window.chat.open_card(-1, 0)
    assert "10 am to 4 pm" in viewer.selected_text()
    assert viewer.message.text() == "" and viewer.open_button.isEnabled()
    # The share is not reachable from this computer: the page as indexed, and why.
    shutil.move(src, tmp_path / "elsewhere")
    with qtbot.waitSignal(viewer.shown, timeout=30_000):
        window.chat.open_card(-1, 0)
    assert "10 am to 4 pm" in viewer.selected_text()
    assert viewer.message.text().startswith(
        "“Working hours.md” is kept on the organisation's server or a shared folder"
    )
    assert not viewer.open_button.isEnabled()

    # Every write is refused with a sentence, and nothing is written or created.
    drop = QMimeData()
    drop.setUrls([QUrl.fromLocalFile(str(tmp_path / "own"))])
    event = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        drop,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
    assert window.status_label.text() == refusal(TEAM, "add")
    assert window.indexing.idle() and not window.indexing_status.progress.isVisible()
    actions = window.collection_actions
    for ask, action in (
        (actions.ask_remove_folder, "remove"),
        (actions.ask_rename_collection, "rename"),
        (actions.ask_delete_collection, "delete"),
    ):
        window.status_label.setText("")
        ask()  # refused before any dialog opens
        assert window.status_label.text() == refusal(TEAM, action)
    window.indexing.offer_reembed(ReembedNeeded(TEAM, "old-model", "new-model", 10, 1.0))
    assert window.status_label.text() == refusal(TEAM, "reembed")
    assert not window.indexing_status.reembed_button.isVisible()
    # The engine refuses too, for any other way in.
    op = actions.rename_collection(TEAM, "Renamed")
    qtbot.waitUntil(lambda: op.error is not None, timeout=10_000)
    assert str(op.error).startswith(f"'{TEAM}' is shared by your organisation")
    assert library.names() == [OWN]
    with library.open(TEAM) as team:
        assert team.shared and len(team.documents()) == 5

    # The own collection is as it was.
    choose(qtbot, window, OWN, {"garden.md": "indexed"})
    qtbot.waitUntil(lambda: toolbar(window)["Add folder…"], timeout=5_000)
    assert all(toolbar(window).values()) and toolbar(window, tips=True) == own_tips

    # An own collection made with the shared one's name: the user's own keeps the name.
    actions.create_collection(TEAM.lower())
    taken = f"{TEAM} (not available)"
    qtbot.waitUntil(lambda: (taken, False) in listed(window), timeout=30_000)
    assert listed(window) == [
        (OWN, True),
        (TEAM.lower(), True),
        (HEADING_SHOWN, False),
        (taken, False),
    ]
    assert window.current_collection() == TEAM.lower()
    assert "rename yours to see it" in window.shared.message.text()
    assert not window.shared.is_shared(TEAM.lower()) and all(toolbar(window).values())
    window.close()


def test_server_down_leaves_own_collections_working(
    qtbot, tmp_path: Path, pg: PgServer, library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    own_collection(library, tmp_path)
    port = free_port()  # nothing listens there
    dsn = f"postgresql://{READER}@127.0.0.1:{port}/postgres"
    org_settings(tmp_path, monkeypatch, {"shared_store": dsn, "shared_collections": [TEAM]})

    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    sentence = (
        f"The organisation's server at 127.0.0.1:{port} did not answer; your own "
        "collections work as usual."
    )
    qtbot.waitUntil(lambda: window.shared.message.text() == sentence, timeout=30_000)
    assert window.shared.panel.isVisible() and window.shared.retry_button.isVisible()
    qtbot.waitUntil(lambda: len(listed(window)) == 3, timeout=10_000)
    assert listed(window) == [
        (OWN, True),
        (HEADING_SHOWN, False),
        (f"{TEAM} (not reachable)", False),
    ]
    assert window.pane.model.index(2).data(Qt.ItemDataRole.ToolTipRole) == sentence
    SHOTS.mkdir(exist_ok=True)
    window.grab().save(str(SHOTS / "shared-collections-not-reachable.png"))
    assert window.current_collection() == OWN
    qtbot.waitUntil(lambda: docs(window) == {"garden.md": "indexed"}, timeout=30_000)
    window.query.setText("When are the tomatoes watered?")
    window.documents_tab.search()
    qtbot.waitUntil(lambda: window.results.count() > 0, timeout=30_000)
    assert window.results.item(0).text().startswith("garden.md, page 1:")
    window.close()


def test_refused_then_try_again_lists_it(
    qtbot, tmp_path: Path, pg: PgServer, library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    share_sample(pg, library, tmp_path)
    dsn = pg.role(READER, "reader-pw")  # IT has not made the role yet
    org_settings(tmp_path, monkeypatch, {"shared_store": dsn})  # every collection it may read

    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: "refused" in window.shared.message.text(), timeout=30_000)
    assert window.shared.message.text().startswith(
        f"The organisation's server at 127.0.0.1:{pg.port} refused Folio's connection; your "
        "own collections work as usual."
    )
    assert window.pane.model.rowCount() == 0 and window.welcome.isVisible()

    reader_role(pg, TEAM)
    window.shared.retry_button.click()
    qtbot.waitUntil(
        lambda: listed(window) == [(HEADING_SHOWN, False), (TEAM, True)], timeout=30_000
    )
    assert not window.shared.panel.isVisible()
    assert window.current_collection() == TEAM
    qtbot.waitUntil(lambda: len(docs(window)) == 5, timeout=30_000)
    window.close()
