"""The Documents tab on its own (real Library, real executors, offscreen): a collection whose
documents cannot be read says why, as a sentence for the status line."""

from __future__ import annotations

from desktop.documents_tab import DocumentsTab
from desktop.tasks import Executor
from engine import Library


def test_documents_that_cannot_be_read_say_why(qtbot, library: Library) -> None:  # type: ignore[no-untyped-def]
    library.create("Mine").close()
    index_executor, read_executor = Executor("test-index"), Executor("test-read")
    # The chosen collection is gone by the time its documents are read (as a shared
    # collection is when its server stops answering).
    tab = DocumentsTab(library, lambda: "Gone", lambda _name: set(), index_executor, read_executor)
    qtbot.addWidget(tab)
    try:
        with qtbot.waitSignal(tab.status, timeout=10_000) as said:
            tab.refresh()
        assert said.args == ["There is no collection named 'Gone' (collections: Mine)."]
        assert tab.model.rowCount() == 0
    finally:
        index_executor.shutdown()
        read_executor.shutdown()
