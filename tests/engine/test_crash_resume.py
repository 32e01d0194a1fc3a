"""A `folio index` killed with SIGKILL mid-run resumes to the same state as a clean run."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import EngineConfig, Library
from tests.conftest import corpus_path


def folio(home: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "--home", str(home), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def state(home: Path, embedder) -> tuple[object, ...]:  # type: ignore[no-untyped-def]
    """Everything that defines an index, independent of ids and timestamps."""
    lib = Library(EngineConfig(home=home), embedder=embedder)
    with lib.open("book") as coll:
        docs = sorted((d.path, d.sha256, d.status, d.n_chunks) for d in coll.documents())
        chunks = sorted(
            tuple(r)
            for r in coll.store.db.execute(
                'SELECT d.path, c.page, c.start, c."end", c.text FROM chunks c '
                "JOIN documents d ON d.id = c.doc_id"
            )
        )
        ids = coll.store.chunk_ids()
        labels = coll.ann().labels
        fts = coll.store.db.execute("SELECT count(*) FROM chunks_fts").fetchone()[0]
        # No vector without a chunk, no chunk without a vector, keywords for every chunk.
        assert labels == ids
        assert fts == len(ids)
        return tuple(docs), tuple(chunks)


@pytest.mark.slow
def test_sigkill_mid_index_then_resume(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    book = corpus_path("mixed", "rust-book-markdown", "src")
    # The 30 shortest chapters: enough for many commits, small enough to embed three times.
    src = tmp_path / "chapters"
    src.mkdir()
    for p in sorted(book.glob("*.md"), key=lambda p: p.stat().st_size)[:30]:
        shutil.copy2(p, src / p.name)
    killed_home = tmp_path / "killed"
    proc = folio(killed_home, "index", str(src), "--collection", "book")
    db = killed_home / "collections" / "book" / "store.sqlite3"
    # Wait until some documents are committed, then kill without warning.
    deadline = time.monotonic() + 300
    committed = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=1) as con:
                    committed = con.execute(
                        "SELECT count(*) FROM documents WHERE status='indexed'"
                    ).fetchone()[0]
            except sqlite3.Error:
                committed = 0
        if committed >= 5:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "indexing finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()  # reap it and close its pipes
    assert committed >= 5

    # Restart: it resumes (what was committed is not embedded again) and completes.
    resumed = folio(killed_home, "index", str(src), "--collection", "book", "--json")
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err.decode()
    import json

    report = json.loads(out)
    assert report["unchanged"] >= 5

    clean_home = tmp_path / "clean"
    clean = folio(clean_home, "index", str(src), "--collection", "book")
    _, err = clean.communicate(timeout=600)
    assert clean.returncode == 0, err.decode()

    assert state(killed_home, embedder) == state(clean_home, embedder)
