"""The organisation's shared collections beside a desktop's own, in a real PostgreSQL +
pgvector server (see conftest.pg_server), read with a role that may only read.

The Library lists what the settings file names (or everything the role may read), opens each
one read-only under its plain name, says in a sentence why one cannot be opened (a server that
does not answer or refuses, a name it does not hold, an own collection of the same name), and
lists them once the server answers again.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from engine import Library
from engine.errors import CollectionError, StorageError
from engine.reembed import explain as explain_mismatch
from engine.sample import SAMPLE_QUESTION, copy_sample
from engine.shared_list import SharedSource
from tests.servers.conftest import PgServer, free_port

TEAM = "Test Team"  # the pg fixture drops every folio_test_* schema and role after each test
READER = "folio_test_reader"


def share_sample(pg: PgServer, library: Library, tmp_path: Path, name: str = TEAM) -> Path:
    """Index Folio's sample documents into shared collection ``name`` as the server's indexer
    does; returns the folder indexed."""
    src = copy_sample(tmp_path / "server-share")
    with library.open_shared(pg.dsn, name, create=True) as indexer:
        report = indexer.index([src])
    assert len(report.indexed) == 5 and not report.failed
    return src


def reader_role(pg: PgServer, *names: str, create: bool = True) -> str:
    """The address of a role that may only read the collections ``names`` (made now)."""
    from engine.index.pgstore import schema_of

    with psycopg.connect(pg.dsn, autocommit=True) as con:
        if create:
            con.execute(f"CREATE ROLE {READER} LOGIN PASSWORD 'reader-pw'")
        for name in names:
            con.execute(f'GRANT USAGE ON SCHEMA "{schema_of(name)}" TO {READER}')
            con.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema_of(name)}" TO {READER}')
    return pg.role(READER, "reader-pw")


def test_lists_what_the_role_may_read_and_opens_it_read_only(
    tmp_path: Path, pg: PgServer, library: Library
) -> None:
    share_sample(pg, library, tmp_path)
    share_sample(pg, library, tmp_path / "b", name="Test Board")  # not granted to the reader
    dsn = reader_role(pg, TEAM)
    library.create("My notes").close()
    library.use_shared(SharedSource(dsn))  # no names: everything the role may read

    listing = library.shared_listing()
    assert listing.message == ""
    assert [(e.name, e.available) for e in listing.entries] == [(TEAM, True)]
    assert library.names() == ["My notes"]  # the own collections are listed as before
    assert library.is_shared(TEAM) and not library.is_shared("My notes")
    assert not library.is_shared("Test Board")

    with library.open(TEAM) as team:
        assert team.shared and team.pg.read_only
        assert team.name == TEAM
        hits = team.search(SAMPLE_QUESTION, k=3)
        assert Path(hits[0].path).name == "Working hours.md"
        assert library.id_of(TEAM) == team.id
        with pytest.raises(StorageError, match="can only be read from this computer"):
            team.index([tmp_path])
        # A search model that differs is IT's to fix on the server, never re-embedded here.
        with pytest.raises(CollectionError, match="Ask IT to index it again on the"):
            explain_mismatch(team)
    for refused in (lambda: library.rename(TEAM, "Mine now"), lambda: library.delete(TEAM)):
        with pytest.raises(CollectionError, match=f"^'{TEAM}' is shared by your organisation"):
            refused()
    with library.open("My notes") as own:
        assert not own.shared


def test_names_from_the_settings_missing_ones_and_a_clash(
    tmp_path: Path, pg: PgServer, library: Library
) -> None:
    share_sample(pg, library, tmp_path)
    share_sample(pg, library, tmp_path / "b", name="Test Clash")
    dsn = reader_role(pg, TEAM, "Test Clash")
    library.create("test clash").close()  # an own collection of the same name wins
    library.use_shared(SharedSource(dsn, ("test team", "Test Gone", "Test Clash")))

    entries = {e.name: e for e in library.shared_listing().entries}
    assert list(entries) == [TEAM, "Test Gone", "Test Clash"]  # the server's spelling
    assert entries[TEAM].available
    assert not entries["Test Gone"].available
    assert entries["Test Gone"].message == (
        f"The organisation's server at 127.0.0.1:{pg.port} has no shared collection named "
        "'Test Gone' that this computer may read; ask IT."
    )
    assert not entries["Test Clash"].available
    assert "rename yours" in entries["Test Clash"].message
    with library.open("Test Clash") as own:
        assert not own.shared


def test_a_server_that_does_not_answer_or_refuses_then_answers(
    tmp_path: Path, pg: PgServer, library: Library
) -> None:
    share_sample(pg, library, tmp_path)
    port = free_port()
    library.use_shared(SharedSource(f"postgresql://{READER}@127.0.0.1:{port}/postgres", (TEAM,)))
    down = library.shared_listing()
    assert down.message == (
        f"The organisation's server at 127.0.0.1:{port} did not answer; your own "
        "collections work as usual."
    )
    assert [(e.name, e.available, e.message) for e in down.entries] == [(TEAM, False, down.message)]

    # The role does not exist yet: the server answers and refuses.
    dsn = pg.role(READER, "reader-pw")
    library.use_shared(SharedSource(dsn, (TEAM,)))
    refused = library.shared_listing()
    assert refused.message.startswith(
        f"The organisation's server at 127.0.0.1:{pg.port} refused Folio's connection"
    )
    assert not refused.available

    # IT makes the role: asking again lists it, and it opens.
    reader_role(pg, TEAM)
    assert library.shared_listing().available == [TEAM]
    with library.open(TEAM) as team:
        assert Path(team.search(SAMPLE_QUESTION, k=1)[0].path).name == "Working hours.md"


def test_a_dropped_connection_is_made_again(tmp_path: Path, pg: PgServer, library: Library) -> None:
    share_sample(pg, library, tmp_path)
    dsn = reader_role(pg, TEAM)
    library.use_shared(SharedSource(dsn, (TEAM,)))
    with library.open(TEAM) as team:
        first = [h.chunk_id for h in team.search(SAMPLE_QUESTION, k=3)]
        # The server ends the desktop's connection (a restart, a network drop).
        with psycopg.connect(pg.dsn, autocommit=True) as con:
            con.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (READER,),
            )
        assert [h.chunk_id for h in team.search(SAMPLE_QUESTION, k=3)] == first
