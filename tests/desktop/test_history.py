"""Chat history survives a restart; a reopened chat continues; answers export as Markdown."""

from __future__ import annotations

from pathlib import Path

from desktop.main_window import MainWindow
from desktop.settings import Settings
from desktop.transcript import STATUS_MARK
from engine import ChatStore, Library
from tests.desktop.test_chat_panel import marks_in


def test_history_survives_restart_and_exports(qtbot, library: Library, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "canteen.md").write_text(
        "# Canteen\n\nThe canteen opens at eight and closes at three."
    )
    coll = library.create("Office")
    coll.index([folder])
    coll.close()
    short = Settings(max_answer_tokens=48, temperature=0.0, preset="answer")  # written

    first = MainWindow(library)
    qtbot.addWidget(first)
    first.apply_settings(short)
    first.show()
    qtbot.waitUntil(lambda: first.current_collection() == "Office", timeout=10_000)
    with qtbot.waitSignal(first.chat.answer_finished, timeout=120_000) as blocker:
        first.chat.ask("When does the canteen open?")
    answer_text = blocker.args[0].text
    checked = sorted(blocker.args[0].sentences, key=lambda s: s.start)
    qtbot.waitUntil(lambda: first.chats.model.rowCount() == 1, timeout=10_000)
    first.close()

    second = MainWindow(library)  # a restart: new window, same home folder
    qtbot.addWidget(second)
    second.apply_settings(short)
    second.show()
    qtbot.waitUntil(lambda: second.chats.model.rowCount() == 1, timeout=10_000)
    item = second.chats.model.index(0)
    assert item.data().startswith("When does the canteen open?")
    with qtbot.waitSignal(second.chat.chat_opened, timeout=10_000):
        second.chats.history.clicked.emit(item)
    shown = second.chat.answer.toPlainText()
    assert "When does the canteen open?" in shown
    assert answer_text.split()[0] in shown
    # Each sentence keeps its check mark when the chat is reopened.
    marks = [m for m, _ in marks_in(second.chat.answer.document())]
    assert checked and marks == [STATUS_MARK[s.status] for s in checked]

    out = tmp_path / "answer.md"
    assert second.chat.export.save(out)
    md = out.read_text("utf-8")
    assert "## When does the canteen open?" in md and answer_text.splitlines()[0] in md

    # The next question continues the reopened chat.
    with qtbot.waitSignal(second.chat.answer_finished, timeout=120_000) as blocker:
        second.chat.ask("And when does it close?")
    follow = blocker.args[0]
    store = ChatStore(library.home)
    sessions = store.sessions("Office")
    store.close()
    assert len(sessions) == 1 and sessions[0].turns == 2
    assert follow.session_id == sessions[0].id
    assert (
        follow.plan is not None and follow.plan.history_verbatim + follow.plan.history_compact == 1
    )
    second.close()
