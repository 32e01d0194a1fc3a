"""Crash safety by fault injection: SIGKILL mid-write, disk full and permission denied at each
write site, damaged index files at start.

Faults are real where the platform allows it without privileges: SQLite's own "database or disk
is full" (PRAGMA max_page_count caps the file) and "attempt to write a readonly database" (a
read-only connection / PRAGMA query_only), a real SIGKILL of a writing process, a real size
limit (RLIMIT_FSIZE) on hnswlib's writer. Python-level writes get an injected OSError.
(The SIGKILL during indexing is tests/engine/test_crash_resume.py.)
"""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import EngineConfig, Library
from engine.errors import StorageError
from engine.history import ChatStore
from engine.index.ann import VectorIndex
from engine.messages import problems
from tests.trust.conftest import python_env, write_docs


def consistent(coll_path: Path, embedder) -> tuple[set[str], int]:  # type: ignore[no-untyped-def]
    """Open the collection afresh and check every invariant; returns (indexed paths, chunks)."""
    lib = Library(EngineConfig(home=coll_path.parents[1], parse_workers=1), embedder=embedder)
    from engine.library import Collection

    with Collection(lib, coll_path) as coll:
        db = coll.store.db
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for d in coll.documents():
            n = db.execute("SELECT count(*) FROM chunks WHERE doc_id=?", (d.id,)).fetchone()[0]
            assert n == d.n_chunks, d.path  # a document is whole or absent
        ids = coll.store.chunk_ids()
        fts = db.execute("SELECT count(*) FROM chunks_fts").fetchone()[0]
        assert fts == len(ids)
        assert coll.ann().labels == ids  # no vector without a chunk, no chunk without one
        indexed = {d.path for d in coll.documents() if d.status == "indexed"}
        return indexed, len(ids)


def many_docs(folder: Path, n: int) -> Path:
    return write_docs(
        folder,
        {
            f"note{i:02d}.md": f"# Note {i}\n\n"
            + " ".join(f"Item {i}-{j} is stored on shelf {j * 7 % 13}." for j in range(25))
            for i in range(n)
        },
    )


# -- 2a. SIGKILL during chat-history writes ----------------------------------------------------

WRITER = """
import sys
from pathlib import Path
from engine.history import ChatStore
store = ChatStore(Path(sys.argv[1]))
sid = int(sys.argv[2]) if len(sys.argv) > 2 else store.create_session(["Office"])
i = 0
while True:
    store.add_turn(sid, f"question {i}", "answer " + "x" * (i % 500), None, {"n": i})
    print(sid, i, flush=True)  # reported saved only once add_turn returned
    i += 1
"""


def test_sigkill_during_chat_history_writes_loses_no_reported_turn(tmp_path: Path) -> None:
    home = tmp_path / "home"
    reported: list[int] = []
    sid = ""
    for round_ in range(3):  # three kills, each at a different point of a write
        args = [sys.executable, "-c", WRITER, str(home)] + ([sid] if sid else [])
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, env=python_env(), text=True)
        assert proc.stdout is not None
        target = len(reported) + 40 + 17 * round_
        for line in proc.stdout:
            sid, n = line.split()
            reported.append(int(n))
            if len(reported) >= target:
                break
        os.kill(proc.pid, signal.SIGKILL)
        # Lines the writer printed between our last read and the kill: saved and reported too.
        rest, _ = proc.communicate()
        reported.extend(int(line.split()[1]) for line in rest.splitlines() if line.strip())
        assert proc.returncode == -signal.SIGKILL

    store = ChatStore(home)
    try:
        turns = store.turns(int(sid))
        questions = [t.question for t in turns]
        # Every turn reported saved is there, whole; at most the one in flight per kill is extra.
        for n in set(reported):
            assert f"question {n}" in questions
        assert len(turns) - len(reported) in (0, 1, 2, 3)
        for t in turns:
            n = int(t.question.split()[1])
            assert t.answer == "answer " + "x" * (n % 500) and t.result == {"n": n}
        assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # The app goes on: the next write works.
        store.add_turn(int(sid), "after the crash", "fine", None, {})
    finally:
        store.close()


# -- 2b. disk full / permission denied at each write site ---------------------------------------


def _disk_full(db: sqlite3.Connection, headroom: int) -> None:
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count={pages + headroom}")


@pytest.mark.parametrize("fault", ["ENOSPC", "EACCES"])
def test_store_write_fault_during_indexing(fault: str, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    first = write_docs(
        tmp_path / "first", {"a.md": "# A\n\nThe canteen opens at eight.", "b.txt": "Bikes."}
    )
    second = many_docs(tmp_path / "second", 16)
    lib = Library(EngineConfig(home=tmp_path / "home", parse_workers=1), embedder=embedder)
    coll = lib.create("Office")
    saved = coll.index([first])
    assert len(saved.indexed) == 2
    before, _ = consistent(coll.path, embedder)

    if fault == "ENOSPC":
        _disk_full(coll.store.db, headroom=14)  # one batch of 8 (~10 pages) fits, not two
        expect = "disk is full"
    else:
        coll.store.db.close()  # the file became read-only for Folio
        uri = f"file:{coll.path / 'store.sqlite3'}?mode=ro"
        coll.store.db = sqlite3.connect(uri, uri=True, isolation_level=None)
        coll.store.db.row_factory = sqlite3.Row
        expect = "it is read-only"
    with pytest.raises(StorageError) as err:
        coll.index([second])
    message = str(err.value)
    assert expect in message and "Everything saved before is kept" in message
    assert "Traceback" not in message
    assert problems(message) == []
    coll.close()

    # Afterwards: consistent, nothing reported saved is lost.
    after, _ = consistent(coll.path, embedder)
    assert before <= after
    if fault == "ENOSPC":  # the disk filled mid-run: the batches before it are kept
        assert 2 < len(after) < 2 + 16, len(after)
    # With space (or permission) back, the next run completes what was missing.
    with lib.open("Office") as again:
        report = again.index([second])
        assert not report.failed
        assert len(report.unchanged) == len(after) - 2  # committed work is not redone
    final, _ = consistent(coll.path, embedder)
    assert len(final) == 2 + 16
    with lib.open("Office") as again:
        assert again.name == "Office" and len(again.roots()) == 2


class _Hnsw:
    """A real hnswlib index whose save_index behaves as hnswlib does when a write fails: it
    reports nothing, leaving a truncated file (disk full) or no file (no permission)."""

    def __init__(self, real: object, fault: str) -> None:
        self._real, self._fault = real, fault

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)

    def save_index(self, path: str) -> None:
        if self._fault == "ENOSPC":
            self._real.save_index(path)  # type: ignore[attr-defined]
            size = os.path.getsize(path)
            with open(path, "r+b") as f:
                f.truncate(size // 2)


@pytest.mark.parametrize("fault", ["ENOSPC", "EACCES"])
def test_vector_file_save_fault_keeps_the_old_file(fault: str, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    first = write_docs(tmp_path / "first", {"a.md": "# A\n\nThe canteen opens at eight."})
    second = many_docs(tmp_path / "second", 3)
    lib = Library(EngineConfig(home=tmp_path / "home", parse_workers=1), embedder=embedder)
    coll = lib.create("Office")
    coll.index([first])
    vectors = coll.path / "vectors.hnsw"
    good = vectors.read_bytes()
    ann = coll.ann()
    ann._index = _Hnsw(ann._index, fault)  # type: ignore[assignment]
    with pytest.raises(StorageError, match="could not save the search index file"):
        coll.index([second])
    coll.close()
    # The previous complete file is untouched and still verifies; no temporary files linger.
    assert vectors.read_bytes() == good
    assert sorted(p.name for p in coll.path.iterdir() if p.name.endswith(".tmp")) == []
    indexed, _ = consistent(coll.path, embedder)  # reopening brings the vectors in line
    assert len(indexed) == 4


def test_real_hnswlib_short_write_is_caught(tmp_path: Path) -> None:
    """hnswlib itself under a real file-size limit: save() must refuse the truncated file."""
    code = textwrap.dedent(
        f"""
        import resource, signal, numpy as np
        from pathlib import Path
        from engine.errors import StorageError
        from engine.index.ann import VectorIndex
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        rng = np.random.default_rng(0)
        ann = VectorIndex(Path({str(tmp_path / "v.hnsw")!r}), 384)
        ann.add(list(range(100)), rng.random((100, 384), dtype=np.float32))
        ann.save()
        ann.add(list(range(100, 600)), rng.random((500, 384), dtype=np.float32))
        resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, resource.RLIM_INFINITY))
        try:
            ann.save()
        except StorageError as exc:
            print("refused:", exc)
        else:
            print("saved")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=python_env(), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("refused:"), out.stdout
    old = VectorIndex(tmp_path / "v.hnsw", 384)
    assert old.load() and len(old) == 100  # the earlier save is intact and verifies


@pytest.mark.parametrize("fault", ["ENOSPC", "EACCES"])
def test_chat_history_write_fault(fault: str, tmp_path: Path) -> None:
    store = ChatStore(tmp_path / "home")
    sid = store.create_session(["Office"])
    saved = [store.add_turn(sid, f"q{i}", "a" * 2000, None, {"i": i}) for i in range(3)]
    if fault == "ENOSPC":
        _disk_full(store._db, headroom=2)
        expect = "disk is full"
    else:
        store._db.execute("PRAGMA query_only=ON")
        expect = "it is read-only"
    with pytest.raises(StorageError) as err:
        for i in range(3, 200):
            saved.append(store.add_turn(sid, f"q{i}", "a" * 2000, None, {"i": i}))
    assert expect in str(err.value) and "could not save the chat history" in str(err.value)
    assert problems(str(err.value)) == []
    store.close()
    again = ChatStore(tmp_path / "home")
    ids = [t.id for t in again.turns(sid)]
    assert ids == saved  # every reported turn, and nothing half-written
    assert again._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    again.close()


def test_answer_survives_a_full_history(tmp_path: Path, embedder, smol) -> None:  # type: ignore[no-untyped-def]
    """Asking goes on when the history cannot be written: the answer is shown with the reason."""
    from engine.chat import AskOptions, ChatSession

    folder = write_docs(tmp_path / "docs", {"a.md": "# Leave\n\nStaff get 25 days of leave."})
    lib = Library(EngineConfig(home=tmp_path / "home", parse_workers=1), embedder=embedder)
    coll = lib.create("Office")
    coll.index([folder])
    store = ChatStore(lib.home)
    store._db.execute("PRAGMA query_only=ON")
    answer = ChatSession([coll], smol, store).ask(
        "How many days of leave?", AskOptions(k=2, max_answer_tokens=8)
    )
    assert answer.text.strip()
    assert any("could not save the chat history" in n for n in answer.notices)
    store.close()
    coll.close()


@pytest.mark.parametrize(
    "exc",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        PermissionError(errno.EACCES, "Permission denied"),
    ],
)
def test_settings_save_fault(
    exc: OSError, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from desktop.settings import Settings, load_settings, save_settings, settings_path
    from desktop.settings_dialog import SettingsDialog
    from desktop.tasks import Executor

    lib = Library(EngineConfig(home=tmp_path / "home"), embedder=object())  # type: ignore[arg-type]
    save_settings(lib.home, Settings(k=4))
    before = settings_path(lib.home).read_bytes()
    executor = Executor("test-settings")
    dialog = SettingsDialog(lib, load_settings(lib.home), executor)
    qtbot.addWidget(dialog)
    dialog.k.setValue(11)

    real_write = Path.write_text

    def failing(self: Path, *args: object, **kwargs: object) -> int:
        if self.name.endswith(".tmp"):
            real_write(self, "{", encoding="utf-8")  # a partial write, then the error
            raise exc
        return real_write(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", failing)
    dialog.accept_and_apply()
    monkeypatch.undo()
    note = dialog.model_note.text()
    assert note.startswith("The settings could not be saved because ")
    assert ("disk is full" if exc.errno == errno.ENOSPC else "read-only") in note
    assert problems(note) == []
    assert dialog.result() == 0  # still open: the user can retry
    assert settings_path(lib.home).read_bytes() == before  # the old settings are intact
    assert load_settings(lib.home).k == 4
    assert not list(lib.home.glob("*.tmp"))
    executor.shutdown()


# -- 2c. damaged index files found at start -----------------------------------------------------


@pytest.fixture
def built(tmp_path: Path, embedder) -> Iterator[tuple[Library, Path, Path]]:  # type: ignore[no-untyped-def]
    folder = write_docs(
        tmp_path / "docs",
        {
            "a.md": "# Canteen\n\nThe canteen opens at eight.",
            "b.md": "# Parking\n\nPermits come from the facilities office.",
        },
    )
    lib = Library(EngineConfig(home=tmp_path / "home", parse_workers=1), embedder=embedder)
    with lib.create("Office Docs") as coll:
        coll.index([folder])
        path = coll.path
    yield lib, path, folder


def _settings(lib: Library) -> tuple[object, ...]:
    with lib.open("Office Docs") as coll:
        return coll.name, tuple(coll.roots()), coll.embed_model, coll.embed_fingerprint


@pytest.mark.parametrize("damage", ["garbage", "truncated", "truncated-with-valid-checksum"])
def test_damaged_vector_file_is_detected_and_rebuilt(
    damage: str, built: tuple[Library, Path, Path], embedder
) -> None:  # type: ignore[no-untyped-def]
    lib, path, _folder = built
    settings = _settings(lib)
    vectors = path / "vectors.hnsw"
    data = vectors.read_bytes()
    if damage == "garbage":
        vectors.write_bytes(os.urandom(len(data)))
    else:
        vectors.write_bytes(data[: len(data) // 2])
        if damage == "truncated-with-valid-checksum":  # what a save on a full disk used to leave
            digest = hashlib.sha256(vectors.read_bytes()).hexdigest()
            (path / "vectors.hnsw.sha256").write_text(digest, "ascii")
    with lib.open("Office Docs") as coll:
        ann = VectorIndex(vectors, coll.library.embedder.dim)
        assert not ann.load()  # detected, never handed to hnswlib as if whole
        hit = coll.search("when does the canteen open", k=1)[0]  # rebuilt on first use
        assert hit.path.endswith("a.md")
        assert coll.repairs == [  # and reported, for the app to tell the user
            "The search index of collection 'Office Docs' was damaged and has been rebuilt "
            "from its database; nothing was lost."
        ]
    assert _settings(lib) == settings
    consistent(path, embedder)


def _damage_database(path: Path, damage: str) -> None:
    db = path / "store.sqlite3"
    for extra in ("-wal", "-shm"):
        Path(str(db) + extra).unlink(missing_ok=True)
    raw = db.read_bytes()
    if damage == "garbage":
        db.write_bytes(os.urandom(len(raw)))
    elif damage == "header":
        db.write_bytes(os.urandom(100) + raw[100:])  # the header and schema pointer are gone
    elif damage == "truncated":
        db.write_bytes(raw[: len(raw) // 2])
    elif damage == "page":  # opens and reads fine; only PRAGMA quick_check finds it
        db.write_bytes(raw[:-4096] + b"\xa5" * 4096)
    else:  # "empty": what a crash mid-copy or a full disk can leave
        db.write_bytes(b"")


@pytest.mark.parametrize("damage", ["garbage", "header", "truncated", "page", "empty"])
def test_damaged_database_is_rebuilt_with_its_settings(
    damage: str, built: tuple[Library, Path, Path], embedder
) -> None:  # type: ignore[no-untyped-def]
    lib, path, folder = built
    with lib.create("Other") as other:
        other.index([write_docs(folder.parent / "other", {"c.md": "# Bikes\n\nRacks by gate 2."})])
    settings = _settings(lib)
    assert settings[2] and settings[3]  # indexed: the embedding model is recorded
    _damage_database(path, damage)

    # The next start: every collection lists, the damaged one under its own name.
    start = Library(EngineConfig(home=lib.home, parse_workers=1), embedder=embedder)
    assert start.names() == ["Office Docs", "Other"]
    assert [i.name for i in start.infos()] == ["Office Docs", "Other"]
    assert _settings(start) == settings  # name, folders and embedding model kept
    with start.open("Office Docs") as coll:
        assert coll.rebuilt_notice == (
            "Collection 'Office Docs' was damaged and has been rebuilt from its folders; "
            "its documents are being indexed again."
        )
        assert coll.documents() == []
        # The damaged file is kept aside; the stale vector file (old chunk ids) is gone.
        assert [p.name.split("-")[0] for p in path.glob("store.sqlite3.damaged-*")] == [
            "store.sqlite3.damaged"
        ]
        assert not (path / "vectors.hnsw").exists()
        report = coll.index()  # re-scan its folders
        assert sorted(Path(f.path).name for f in report.indexed) == ["a.md", "b.md"]
        assert coll.rebuilt_notice == ""  # told once, cleared when the documents are back
        hit = coll.search("when does the canteen open", k=1)[0]
        assert hit.path.endswith("a.md")
    with start.open("Other") as other:  # the healthy collection was not touched
        assert len(other.documents()) == 1 and not other.rebuilt_notice
    indexed, _ = consistent(path, embedder)
    assert {Path(p).name for p in indexed} == {"a.md", "b.md"}


def test_damaged_database_without_settings_file(
    built: tuple[Library, Path, Path], embedder
) -> None:  # type: ignore[no-untyped-def]
    lib, path, folder = built
    (path / "collection.json").unlink()  # a collection made before the settings file existed
    _damage_database(path, "garbage")
    start = Library(EngineConfig(home=lib.home, parse_workers=1), embedder=embedder)
    assert start.names() == [path.name]  # the folder's name stands in
    with start.open(path.name) as coll:
        assert coll.roots() == []
        assert "could not be recovered" in coll.rebuilt_notice
        assert "add its folders again" in coll.rebuilt_notice
        coll.index([folder])
        assert len(coll.documents()) == 2 and coll.rebuilt_notice


def test_settings_file_follows_the_collection(
    built: tuple[Library, Path, Path], embedder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import json

    lib, path, folder = built
    side = path / "collection.json"

    def saved() -> dict[str, object]:
        return json.loads(side.read_text("utf-8"))

    assert saved()["name"] == "Office Docs" and saved()["roots"] == [str(folder)]
    assert saved()["embed_fingerprint"] == embedder.fingerprint
    assert saved()["embed_model"] == embedder.name and float(str(saved()["created_at"])) > 0
    lib.rename("Office Docs", "Team Docs")
    assert saved()["name"] == "Team Docs"
    extra = write_docs(tmp_path / "extra", {"d.md": "# D\n\nDesks are booked online."})
    with lib.open("Team Docs") as coll:
        coll.index([extra])
        assert saved()["roots"] == sorted([str(folder), str(extra)])
        coll.remove_root(folder)
        assert saved()["roots"] == [str(extra)]
    assert not list(path.glob("*.tmp"))
    side.unlink()  # an older collection: the file is written when it is next opened
    Library(EngineConfig(home=lib.home), embedder=embedder).open("Team Docs").close()
    assert saved()["name"] == "Team Docs" and saved()["roots"] == [str(extra)]


def test_app_starts_with_a_damaged_collection_and_reindexes_it(
    qtbot, built: tuple[Library, Path, Path], embedder
) -> None:  # type: ignore[no-untyped-def]
    from desktop.main_window import MainWindow

    lib, path, folder = built
    with lib.create("Other") as other:
        other.index([write_docs(folder.parent / "other", {"c.md": "# Bikes\n\nRacks by gate 2."})])
        (other.path / "vectors.hnsw").write_bytes(b"\0" * 500)  # and a damaged vector file
    _damage_database(path, "garbage")
    window = MainWindow(Library(EngineConfig(home=lib.home, parse_workers=1), embedder=embedder))
    qtbot.addWidget(window)
    window.show()

    def listed() -> None:
        names = window.pane.model.names()
        assert names == ["Office Docs", "Other"]

    qtbot.waitUntil(listed, timeout=20_000)
    qtbot.waitUntil(window.indexing_status.notice_label.isVisible, timeout=20_000)
    assert "Collection 'Office Docs' was damaged and has been rebuilt" in (
        window.indexing_status.notice_label.text()
    )
    qtbot.waitUntil(  # the vector file of 'Other' is rebuilt by its start-up re-scan
        lambda: (
            "The search index of collection 'Other' was damaged"
            in window.indexing_status.notice_label.text()
        ),
        timeout=30_000,
    )

    def reindexed() -> None:
        rows = window.documents_tab.model.statuses()
        assert rows == {"a.md": "indexed", "b.md": "indexed"}

    assert window.current_collection() == "Office Docs"
    qtbot.waitUntil(reindexed, timeout=30_000)
    qtbot.waitUntil(lambda: not window.indexing.running, timeout=20_000)
    with window.library.open("Office Docs") as coll:
        assert coll.rebuilt_notice == ""
    window.close()
