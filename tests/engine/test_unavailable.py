"""Folders that come and go (USB sticks, network drives): their documents are kept, marked
unavailable, still searchable, and checked again when the folder is back, with nothing
re-embedded. Only removing the folder deletes them. Real folders, real MiniLM, real SQLite."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from engine import EngineConfig, Library
from engine.cli import main
from engine.index.scan import FILE_NOT_ALLOWED, NOT_ALLOWED, NOT_CONNECTED, probe
from engine.watch import FolderWatcher

DOCS = {
    "bees.txt": "Honey bees live in colonies ruled by a single queen. Worker bees gather "
    "nectar and turn it into honey inside the hive.",
    "trains.md": "# Railways\n\nSteam locomotives pulled the first passenger trains.",
    "sub/canteen.md": "# Canteen\n\nThe staff canteen opens at eight and closes at three.",
}


def make_folder(root: Path) -> Path:
    for name, text in DOCS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, "utf-8")
    return root


def test_renamed_away_root_keeps_its_documents_and_returns_without_reembedding(
    library: Library, tmp_path: Path
) -> None:
    folder = make_folder(tmp_path / "usb")
    coll = library.create("Stick")
    first = coll.index([folder])
    assert len(first.indexed) == 3
    chunks = coll.store.chunk_ids()
    paths = {d.path for d in coll.documents()}

    # The drive is "unplugged": the folder is no longer there.
    folder.rename(tmp_path / "elsewhere")
    gone = coll.index()
    assert gone.removed == [] and gone.failed == []
    assert [(o.path, o.reason) for o in gone.unavailable] == [(str(folder), NOT_CONNECTED)]
    docs = coll.documents()
    assert {d.path for d in docs} == paths  # nothing deleted
    assert {d.unavailable for d in docs} == {NOT_CONNECTED}
    assert coll.store.chunk_ids() == chunks and coll.ann().labels == chunks
    # Still found and citable, and the hit says the file is not reachable now.
    hit = coll.search("who rules a bee colony", k=1)[0]
    assert hit.path == str(folder / "bees.txt")
    assert hit.unavailable == NOT_CONNECTED
    # No document row was made for the missing folder itself.
    assert coll.store.doc_by_path(str(folder)) is None

    # A second look while it is still away changes nothing.
    again = coll.index()
    assert again.removed == [] and again.chunks_embedded == 0

    # Plugged in again: checked, nothing re-embedded, no longer marked.
    (tmp_path / "elsewhere").rename(folder)
    back = coll.index()
    assert back.chunks_embedded == 0 and back.indexed == [] and back.unavailable == []
    assert len(back.unchanged) == 3
    assert {d.unavailable for d in coll.documents()} == {""}
    assert coll.store.chunk_ids() == chunks
    assert coll.search("who rules a bee colony", k=1)[0].unavailable == ""
    coll.close()


def test_present_but_empty_folder_means_its_files_were_deleted(
    library: Library, tmp_path: Path
) -> None:
    folder = make_folder(tmp_path / "share")
    coll = library.create("Share")
    coll.index([folder])
    for name in DOCS:
        (folder / name).unlink()
    report = coll.index()
    assert sorted(o.path for o in report.removed) == sorted(str(folder / n) for n in DOCS)
    assert report.unavailable == [] and coll.documents() == []
    coll.close()


def test_a_share_that_does_not_answer_is_kept_not_deleted(embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A root file that hangs when opened (a FIFO without a writer: a real blocking open, as on
    a dead network share) counts as not answering after the probe time."""
    lib = Library(
        EngineConfig(home=tmp_path / "home", parse_workers=1, probe_seconds=0.5),
        embedder=embedder,
    )
    note = tmp_path / "remote" / "minutes.txt"
    note.parent.mkdir()
    note.write_text("The board meets on the first Monday of each month in room 4.", "utf-8")
    coll = lib.create("Remote")
    coll.index([note])
    chunks = coll.store.chunk_ids()
    note.unlink()
    os.mkfifo(note)
    try:
        started = time.monotonic()
        report = coll.index()
        assert time.monotonic() - started < 10
        # Looking again while the first look is still stuck starts no second thread.
        stuck = threading.active_count()
        assert "did not answer" in probe(note, 0.2)
        assert threading.active_count() == stuck
        assert [o.path for o in report.unavailable] == [str(note)]
        assert "did not answer" in report.unavailable[0].reason
        assert report.removed == [] and coll.store.chunk_ids() == chunks
        assert "did not answer" in coll.documents()[0].unavailable
    finally:
        # Let the blocked probe thread finish: open the FIFO's other end, then remove it.
        fd = os.open(note, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        note.unlink()
        coll.close()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder; no permission to lose")
def test_unreadable_subfolder_keeps_its_documents(library: Library, tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "docs")
    coll = library.create("Perm")
    coll.index([folder])
    os.chmod(folder / "sub", 0)
    try:
        report = coll.index()
        assert [(o.path, o.reason) for o in report.unavailable] == [
            (str(folder / "sub"), NOT_ALLOWED)
        ]
        assert report.removed == []
        kept = coll.store.doc_by_path(str(folder / "sub" / "canteen.md"))
        assert kept is not None and kept.unavailable == NOT_ALLOWED
    finally:
        os.chmod(folder / "sub", 0o755)
    assert coll.index().chunks_embedded == 0
    coll.close()


def test_only_remove_folder_deletes_the_documents(
    library: Library, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder(tmp_path / "usb")
    other = tmp_path / "kept"
    other.mkdir()
    (other / "policy.md").write_text("# Policy\n\nVisitors sign in at reception.", "utf-8")
    coll = library.create("Stick")
    coll.index([folder, other])
    coll.close()
    folder.rename(tmp_path / "elsewhere")
    home = str(library.home)
    assert main(["--home", home, "index", "--collection", "Stick"]) == 0
    assert f"not reachable now: {folder}: {NOT_CONNECTED}" in capsys.readouterr().out
    assert main(["--home", home, "status", "--collection", "Stick"]) == 0
    said = capsys.readouterr().out
    assert "3 documents are kept but their files cannot be reached now:" in said
    assert f"{folder / 'bees.txt'}: {NOT_CONNECTED}" in said
    assert main(["--home", home, "collections", "remove-folder", "Stick", str(tmp_path)]) == 2
    assert "is not a folder of 'Stick'" in capsys.readouterr().err
    assert main(["--home", home, "collections", "remove-folder", "Stick", str(folder)]) == 0
    assert "3 document(s) left the collection" in capsys.readouterr().out
    with library.open("Stick") as coll:
        assert [d.path for d in coll.documents()] == [str(other / "policy.md")]
        assert coll.roots() == [str(other)]
        assert coll.ann().labels == coll.store.chunk_ids()


def test_watcher_notices_a_folder_coming_back(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "usb")
    folder.rename(tmp_path / "elsewhere")
    seen: list[set[Path]] = []
    event = threading.Event()

    def on_change(paths: set[Path]) -> None:
        seen.append(paths)
        event.set()

    watcher = FolderWatcher(on_change, debounce=0.2, recheck=0.3)
    problems = watcher.set_roots([folder])
    assert problems and "not reachable now" in problems[0]
    watcher.start()
    try:
        assert not event.wait(1.0)  # still away: nothing to report
        assert probe(folder) == NOT_CONNECTED
        (tmp_path / "elsewhere").rename(folder)
        assert event.wait(10.0)
        assert seen[0] == {folder}
    finally:
        watcher.stop()


def test_a_cited_page_still_shows_while_its_file_cannot_be_reached(
    library: Library, tmp_path: Path
) -> None:
    folder = tmp_path / "usb"
    folder.mkdir()
    text = "\n\n".join(
        f"Paragraph {i}: the caretaker checks the boiler pressure on floor {i} every morning."
        for i in range(60)
    )
    (folder / "boiler.md").write_text("# Boiler\n\n" + text, "utf-8")
    coll = library.create("Stick")
    coll.index([folder])
    hit = coll.search("boiler pressure floor 42", k=1)[0]
    present = coll.section_text(hit.path, hit.page)
    assert present[hit.start : hit.end] == hit.text
    folder.rename(tmp_path / "elsewhere")
    coll.index()
    away = coll.section_text(hit.path, hit.page)  # the file is not there: from the index
    assert away[hit.start : hit.end] == hit.text
    assert "floor 42" in away and len(away) >= hit.end
    coll.close()


def test_an_indexed_file_that_may_not_be_read_now_is_kept(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Readable before, not now (its permissions changed, or the share dropped mid-scan): the
    document is kept and marked, not replaced by a failure. As root (which ignores
    permissions) the error is injected where the operating system would raise it."""
    import engine.index.indexer as indexer

    folder = make_folder(tmp_path / "docs")
    bees = folder / "bees.txt"
    coll = library.create("Perm")
    coll.index([folder])
    chunks = coll.store.chunk_ids()
    os.utime(bees, ns=(1, 1))  # changed metadata: Folio must read it again to know
    real = indexer.sha256_file

    def sha(path: str) -> str:
        if path == str(bees):
            raise PermissionError(13, "Permission denied", path)
        return real(path)

    monkeypatch.setattr(indexer, "sha256_file", sha)
    report = coll.index()
    assert report.failed == [] and report.removed == []
    assert [(o.path, o.reason) for o in report.unavailable] == [(str(bees), FILE_NOT_ALLOWED)]
    kept = coll.store.doc_by_path(str(bees))
    assert kept is not None and kept.status == "indexed" and kept.unavailable == FILE_NOT_ALLOWED
    assert coll.store.chunk_ids() == chunks
    monkeypatch.undo()
    back = coll.index()
    assert back.chunks_embedded == 0 and back.unavailable == []
    assert coll.store.doc_by_path(str(bees)).unavailable == ""  # type: ignore[union-attr]
    coll.close()
