"""Folder watching with real watchdog events on a temp folder, feeding the real indexer."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from engine import Library
from engine.watch import FolderWatcher


def wait_for(cond, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return False


def test_changes_on_disk_are_indexed_without_user_action(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "watched"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nThe canteen opens at eight.", "utf-8")
    coll = library.create("Watched")
    coll.index([folder])
    runs: list[set[Path]] = []
    lock = threading.Lock()

    def on_change(paths: set[Path]) -> None:
        with lock, library.open("Watched") as c:  # its own connection on the watch thread
            c.index()  # re-scan the collection's folders, incrementally
            runs.append(paths)

    watcher = FolderWatcher(on_change, debounce=0.5)
    assert watcher.set_roots([Path(r) for r in coll.roots()]) == []
    watcher.start()
    try:

        def names() -> dict[str, str]:
            with lock, library.open("Watched") as c:
                return {Path(d.path).name: d.status for d in c.documents()}

        (folder / "b.md").write_text("# B\n\nThe library closes at six.", "utf-8")  # create
        assert wait_for(lambda: "b.md" in names())
        sub = folder / "sub"
        sub.mkdir()
        (sub / "c.txt").write_text("Bicycles go in the shed behind the gym.", "utf-8")
        assert wait_for(lambda: "c.txt" in names())  # inside a new subfolder
        (folder / "b.md").write_text("# B\n\nThe library now closes at nine.", "utf-8")  # modify

        def searched() -> bool:
            with lock, library.open("Watched") as c:
                return any("nine" in h.text for h in c.search("library closes"))

        assert wait_for(searched)
        (folder / "b.md").rename(folder / "b2.md")  # rename
        assert wait_for(lambda: "b2.md" in names() and "b.md" not in names())
        (folder / "a.md").unlink()  # delete
        assert wait_for(lambda: "a.md" not in names())
        # Editors' temporary files do not trigger anything.
        time.sleep(1.5)  # let late events of the steps above settle first
        before = len(runs)
        (folder / "~$draft.docx").write_bytes(b"x")
        time.sleep(1.5)
        assert len(runs) == before
    finally:
        watcher.stop()
        coll.close()


def test_missing_root_is_reported(tmp_path: Path) -> None:
    watcher = FolderWatcher(lambda _p: None)
    problems = watcher.set_roots([tmp_path / "gone"])
    assert problems and "not found" in problems[0]
    watcher.stop()
