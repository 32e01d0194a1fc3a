"""Shared collections in a real PostgreSQL + pgvector server (see conftest.pg_server).

The same folder indexed into the local SQLite + hnswlib store and into PostgreSQL must give the
same collection and the same search results; a re-index of an unchanged folder embeds nothing;
a killed indexer leaves a consistent collection that the next run completes without embedding
again what was committed; a role that may only read can search and cannot write.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from engine import Library
from engine.errors import CollectionError, StorageError
from tests.conftest import corpus_path
from tests.servers.conftest import PgServer


def chapters(tmp_path: Path, n: int) -> Path:
    """The ``n`` shortest chapters of the Rust book from the corpus, copied to a folder."""
    book = corpus_path("mixed", "rust-book-markdown", "src")
    src = tmp_path / "chapters"
    src.mkdir()
    for p in sorted(book.glob("*.md"), key=lambda p: (p.stat().st_size, p.name))[:n]:
        shutil.copy2(p, src / p.name)
    return src


def headings(folder: Path) -> list[str]:
    """Questions taken from the documents themselves: each file's first heading."""
    out = []
    for p in sorted(folder.glob("*.md")):
        for line in p.read_text("utf-8").splitlines():
            if line.startswith("#"):
                out.append(line.lstrip("# ").strip())
                break
    return [q for q in out if q]


def spans(hits: list) -> list[tuple[str, int, int, int]]:  # type: ignore[type-arg]
    return [(Path(h.path).name, h.page, h.start, h.end) for h in hits]


def test_shared_collection_equals_local_one(tmp_path: Path, pg: PgServer) -> None:
    from engine import EngineConfig
    from engine.embed import load_embedder

    # Float32 vectors: the two stores are compared score for score, and bfloat16 batches
    # (where the CPU has them) differ by a few 1e-4 with how the passages were batched.
    exact = load_embedder(precision="float32")
    library = Library(EngineConfig(home=tmp_path / "home", parse_workers=1), embedder=exact)
    src = chapters(tmp_path, 25)
    local = library.create("local")
    local_report = local.index([src])
    shared = library.open_shared(pg.dsn, "test equal", create=True)
    shared_report = shared.index([src])
    assert not shared_report.failed
    assert len(shared_report.indexed) == len(local_report.indexed) == 25

    # The same documents, cut into the same passages.
    def docs(c) -> list[tuple[str, str, int]]:  # type: ignore[no-untyped-def]
        return sorted((Path(d.path).name, d.sha256, d.n_chunks) for d in c.documents())

    assert docs(shared) == docs(local)
    assert shared.info().chunks == local.info().chunks > 25
    assert shared.embed_fingerprint == local.embed_fingerprint == library.embedder.fingerprint

    # Search: the same passages in the same order (top 5) for every question; the exhaustive
    # scan: the same documents with the same scores and the same best passages.
    questions = headings(src)
    assert len(questions) >= 20
    for q in questions:
        assert spans(shared.search(q, k=5)) == spans(local.search(q, k=5)), q
        mine = shared.search_all(q)
        theirs = local.search_all(q)
        assert [Path(g.path).name for g in mine] == [Path(g.path).name for g in theirs], q
        for a, b in zip(mine, theirs, strict=True):
            assert a.score == pytest.approx(b.score, abs=1e-4)
            assert spans(list(a.hits)) == spans(list(b.hits))

    # Re-index of the unchanged folder: nothing read again, nothing embedded.
    again = shared.index()
    assert again.chunks_embedded == 0
    assert len(again.unchanged) == 25 and not again.indexed

    # A passage's text, page and offsets come back for the citation viewer.
    hit = shared.search(questions[0], k=1)[0]
    assert hit.text in shared.section_text(hit.path, hit.page)
    shared.close()
    local.close()


def test_read_only_role_searches_and_cannot_write(
    tmp_path: Path, pg: PgServer, library: Library
) -> None:
    src = chapters(tmp_path, 4)
    indexer = library.open_shared(pg.dsn, "test staff", create=True)
    indexer.index([src])
    question = headings(src)[0]
    expected = spans(indexer.search(question, k=3))
    schema = indexer.pg.schema
    indexer.close()
    with psycopg.connect(pg.dsn, autocommit=True) as con:
        con.execute("CREATE ROLE folio_test_staff LOGIN PASSWORD 'staff-pw'")
        con.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO folio_test_staff')
        con.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO folio_test_staff')
    staff_dsn = pg.role("folio_test_staff", "staff-pw")

    # Opened as the desktops do: it searches like the indexer's view of it.
    desk = library.open_shared(staff_dsn, "test staff", read_only=True)
    assert spans(desk.search(question, k=3)) == expected
    assert desk.search_all(question)
    with pytest.raises(StorageError, match="can only be read from this computer"):
        desk.index([tmp_path])
    desk.close()

    # Even without Folio's read-only switch, the role itself cannot change anything.
    plain = library.open_shared(staff_dsn, "test staff")
    with pytest.raises(StorageError, match="can only be read from this computer"):
        plain.store.set_meta("name", "changed")
    with pytest.raises(StorageError, match="can only be read"):
        plain.remove_root(src)
    plain.close()
    with psycopg.connect(staff_dsn, autocommit=True) as con:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute(f'DELETE FROM "{schema}".chunks')
        assert con.execute(f'SELECT count(*) FROM "{schema}".chunks').fetchone()[0] > 0

    # A collection that is not on the server is named as such, not a crash.
    with pytest.raises(CollectionError, match="no shared collection named"):
        library.open_shared(staff_dsn, "test missing", read_only=True)


def test_unreachable_server_is_a_sentence(library: Library) -> None:
    with pytest.raises(StorageError, match="could not reach the collection server"):
        library.open_shared("postgresql://nobody@127.0.0.1:1/none", "test x", read_only=True)


@pytest.mark.slow
def test_sigkill_of_the_indexer_then_resume(tmp_path: Path, pg: PgServer, library: Library) -> None:
    src = chapters(tmp_path, 40)
    name = "test killed"
    cmd = [sys.executable, "-m", "engine.cli", "--home", str(tmp_path / "home"), "index"]
    cmd += [str(src), "--collection", name, "--store", pg.dsn]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    schema = "folio_test_killed"
    committed = 0
    deadline = time.monotonic() + 300
    with psycopg.connect(pg.dsn, autocommit=True) as con:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                committed = con.execute(
                    f"SELECT count(*) FROM \"{schema}\".documents WHERE status='indexed'"
                ).fetchone()[0]
            except psycopg.errors.UndefinedTable:
                committed = 0
            if committed >= 5:
                break
            time.sleep(0.05)
    assert proc.poll() is None, "indexing finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert committed >= 5

    # Consistent: no passage without its document, every document with all its passages.
    coll = library.open_shared(pg.dsn, name)
    check = coll.check()
    assert check.chunks_without_document == 0 and not check.wrong_chunk_count
    before = {d.path for d in coll.documents() if d.status == "indexed"}
    assert len(before) >= committed
    coll.close()

    # Resumed: what was committed is not embedded again, and the rest is indexed.
    again = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    coll = library.open_shared(pg.dsn, name)
    done = {d.path for d in coll.documents() if d.status == "indexed"}
    assert len(done) == 40
    report = json.loads(again.stdout)
    assert report["unchanged"] == len(before)
    assert {f["path"] for f in report["indexed"]} == done - before
    check = coll.check()
    assert check.ok
    status = [*cmd[:5], "status", "--collection", name, "--store", pg.dsn, "--check"]
    checked = subprocess.run(status, capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr[-2000:]
    assert "Consistent" in checked.stdout
    # A third run finds everything unchanged and embeds nothing.
    third = coll.index()
    assert third.chunks_embedded == 0 and len(third.unchanged) == 40
    coll.close()


def test_local_collections_load_nothing_of_postgresql(tmp_path: Path) -> None:
    code = (
        "import sys; from engine import Library, EngineConfig; import engine.cli;"
        f" lib = Library(EngineConfig(home={str(tmp_path)!r})); lib.create('a').close();"
        " assert 'psycopg' not in sys.modules, 'psycopg loaded'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_settings_file_points_the_command_at_the_shared_collection(
    tmp_path: Path, pg: PgServer, library: Library
) -> None:
    src = chapters(tmp_path, 4)
    question = headings(src)[0]
    with library.open_shared(pg.dsn, "test settings", create=True) as indexer:
        indexer.index([src])
        expected = spans(indexer.search(question, k=3))
    settings = tmp_path / "org-settings.json"
    settings.write_text(
        json.dumps({"shared_store": pg.dsn, "shared_collections": ["Test Settings"]}), "utf-8"
    )
    env = {**os.environ, "FOLIO_SYSTEM_SETTINGS": str(settings)}
    cmd = [sys.executable, "-m", "engine.cli", "--home", str(tmp_path / "home"), "search"]
    cmd += [question, "--collection", "test settings", "--k", "3", "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    hits = json.loads(done.stdout)["hits"]
    got = [(Path(h["document"]).name, h["page"], h["start"], h["end"]) for h in hits]
    assert got == expected
    # Without the file the name is a local collection's, and there is none.
    env["FOLIO_SYSTEM_SETTINGS"] = str(tmp_path / "none.json")
    missing = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert missing.returncode != 0
    assert "no collection named" in missing.stderr + missing.stdout
