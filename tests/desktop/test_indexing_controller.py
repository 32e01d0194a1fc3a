"""The indexing controller on its own, without a window: real models, real SQLite and hnswlib,
its work on real executors, and what it says through its signals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desktop.indexing import IndexingController
from desktop.loadbar import time_left
from desktop.tasks import Executor
from engine import Library
from engine.reembed import ReembedNeeded


def test_controller_indexes_a_folder_one_run_at_a_time_and_says_what_happened(
    qtbot, library: Library, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "canteen.md").write_text("# Canteen\n\nThe canteen opens at eight.", "utf-8")
    (folder / "broken.pdf").write_bytes(b"\x00\x01\x02\xff broken" * 100)
    index_executor, read_executor = Executor("test-index"), Executor("test-read")
    indexing = IndexingController(library, index_executor, read_executor)
    events: list[Any] = []
    statuses: list[str] = []
    indexing.started.connect(lambda: events.append("started"))
    indexing.pending.connect(
        lambda name: events.append(("pending", name, sorted(indexing.pending_files(name))))
    )
    indexing.stopped.connect(lambda: events.append("stopped"))
    indexing.failures.connect(
        lambda rows: events.append(("failures", [Path(p).name for p, _reason in rows]))
    )
    indexing.changed.connect(lambda: events.append("changed"))
    indexing.status.connect(statuses.append)
    reports: list[Any] = []
    indexing.indexed.connect(reports.append)
    try:
        indexing.queue_index("Office", [folder])
        assert indexing.running and statuses == ["Indexing Office…"]
        indexing.queue_index("Office")  # a re-scan waits its turn ...
        indexing.queue_index("Office")  # ... and is queued once
        assert indexing.queue == [("Office", None)] and not indexing.idle()

        qtbot.waitUntil(lambda: events.count("changed") == 2, timeout=120_000)
        qtbot.waitUntil(indexing.idle, timeout=10_000)
        first = events[: events.index("changed") + 1]
        assert first == [
            "started",
            ("pending", "Office", ["broken.pdf", "canteen.md"]),
            "stopped",
            ("failures", ["broken.pdf"]),
            "changed",
        ]
        assert "Up to date: 1 indexed, 0 unchanged, 1 could not be read." in statuses
        assert [Path(o.path).name for o in reports[0].indexed] == ["canteen.md"]
        assert [Path(f.path).name for f in reports[0].failed] == ["broken.pdf"]
        assert len(reports) == 2
        # The second run (the re-scan) started after the first had ended.
        assert events.count("started") == 2 and events.count("stopped") == 2
        assert indexing.pending_files("Office") == set()  # nothing left pending
        assert not indexing.running
        with library.open("Office") as coll:
            hits = coll.search("When does the canteen open?")
        assert hits and hits[0].name == "canteen.md"
    finally:
        indexing.stop()
        index_executor.shutdown()
        read_executor.shutdown()


def test_cancel_forgets_the_waiting_runs(qtbot, library: Library, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(3):
        (folder / f"note{i}.md").write_text(f"# Note {i}\n\nRoom {i} is on floor {i}.", "utf-8")
    index_executor, read_executor = Executor("test-index"), Executor("test-read")
    indexing = IndexingController(library, index_executor, read_executor)
    started: list[int] = []
    indexing.started.connect(lambda: started.append(1))
    try:
        indexing.queue_index("Notes", [folder])
        indexing.queue_index("Other", [folder])
        indexing.cancel()
        assert indexing.queue == []
        qtbot.waitUntil(indexing.idle, timeout=120_000)
        assert started == [1]  # "Other" never started
        assert library.names() == ["Notes"]
    finally:
        indexing.stop()
        index_executor.shutdown()
        read_executor.shutdown()


def test_time_left_is_said_as_people_say_it() -> None:
    assert time_left(42.0) == "about 42 s"
    assert time_left(200.0) == "about 3 minutes"


def test_a_refused_collection_is_neither_indexed_nor_offered_re_embedding(
    qtbot, library: Library, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "note.md").write_text("# Note\n\nThe lift is on the left.", "utf-8")
    asked: list[tuple[str | None, str]] = []

    def refuses(name: str | None, action: str) -> bool:  # a shared collection, read-only
        asked.append((name, action))
        return name == "Shared"

    index_executor, read_executor = Executor("test-index"), Executor("test-read")
    indexing = IndexingController(library, index_executor, read_executor, refuses)
    offered: list[str] = []
    indexing.reembed_offered.connect(offered.append)
    try:
        indexing.queue_index("Shared", [folder])
        assert not indexing.running and indexing.queue == []
        indexing.offer_reembed(ReembedNeeded("Shared", "old-model", "new-model", 10, 1.0))
        assert offered == []
        assert asked == [("Shared", "add"), ("Shared", "reembed")]
        # Another collection is indexed as usual.
        indexing.queue_index("Mine", [folder])
        assert indexing.running
        qtbot.waitUntil(indexing.idle, timeout=120_000)
        assert library.names() == ["Mine"]
    finally:
        indexing.stop()
        index_executor.shutdown()
        read_executor.shutdown()
