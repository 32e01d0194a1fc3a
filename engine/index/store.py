"""SQLite storage of one collection: documents, chunks (with their vectors), FTS5 keywords.

SQLite is the source of truth. Each chunk row holds its own vector, so the hnswlib file is a
cache that can always be brought back in line (see ann.py); every document is written in one
transaction together with its chunks, keywords and vectors, so a crash leaves either all of a
document or none of it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexCorrupted, StorageError
from ..ingest.context import embedding_text
from ..ingest.numbers import joined_numbers
from ..messages import storage_cause, what_to_do
from ..types import Box, ChunkSpan
from .base import DocumentRows

# Ordered migrations; PRAGMA user_version records how many have run.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE roots (path TEXT PRIMARY KEY, added_at REAL NOT NULL);
    CREATE TABLE documents (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,          -- indexed | failed
        reason TEXT NOT NULL DEFAULT '',
        warnings TEXT NOT NULL DEFAULT '[]',
        n_pages INTEGER NOT NULL DEFAULT 0,
        n_chunks INTEGER NOT NULL DEFAULT 0,
        indexed_at REAL NOT NULL
    );
    CREATE INDEX documents_sha ON documents(sha256);
    CREATE TABLE chunks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,   -- never reused: it is the hnswlib label
        doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        ord INTEGER NOT NULL,
        page INTEGER NOT NULL,
        start INTEGER NOT NULL,
        "end" INTEGER NOT NULL,
        n_tokens INTEGER NOT NULL,
        text TEXT NOT NULL,
        vector BLOB NOT NULL
    );
    CREATE INDEX chunks_doc ON chunks(doc_id, ord);
    CREATE VIRTUAL TABLE chunks_fts USING fts5(
        text, content='chunks', content_rowid='id', tokenize='porter unicode61'
    );
    CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
        INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
    END;
    CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN
        INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END;
    """,
    # 2: each chunk's context header (document, section, table) and extra keywords (figures
    # without their thousands separators) are keyword-indexed beside its text; each document
    # keeps its profile (title, organisation, form, period) and a vector of it for routing.
    """
    ALTER TABLE chunks ADD COLUMN context TEXT NOT NULL DEFAULT '';
    ALTER TABLE chunks ADD COLUMN keywords TEXT NOT NULL DEFAULT '';
    ALTER TABLE documents ADD COLUMN profile TEXT NOT NULL DEFAULT '';
    ALTER TABLE documents ADD COLUMN vector BLOB;
    DROP TRIGGER chunks_ai;
    DROP TRIGGER chunks_ad;
    DROP TABLE chunks_fts;
    CREATE VIRTUAL TABLE chunks_fts USING fts5(
        context, text, keywords, content='chunks', content_rowid='id',
        tokenize='porter unicode61'
    );
    CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
        INSERT INTO chunks_fts(rowid, context, text, keywords)
        VALUES (new.id, new.context, new.text, new.keywords);
    END;
    CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN
        INSERT INTO chunks_fts(chunks_fts, rowid, context, text, keywords)
        VALUES ('delete', old.id, old.context, old.text, old.keywords);
    END;
    INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild');
    """,
    # 3: a document whose file cannot be reached now (a drive that is not connected, a folder
    # Folio may not open) is kept, searchable, with the reason here ('' = reachable).
    """
    ALTER TABLE documents ADD COLUMN unavailable TEXT NOT NULL DEFAULT '';
    """,
    # 4: the passages of one page found by an index seek (the second stage reads every passage
    # of its candidate pages; without this it scanned the whole table).
    """
    CREATE INDEX IF NOT EXISTS chunks_page ON chunks(doc_id, page);
    """,
    # 5: pages read by OCR (a scan, a picture): each passage says so, and the page keeps the
    # box of each of its words (JSON [[start, end, x0, y0, x1, y1], ...]) for highlights.
    """
    ALTER TABLE chunks ADD COLUMN ocr INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE ocr_pages (
        doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        page INTEGER NOT NULL,
        boxes TEXT NOT NULL DEFAULT '[]',
        PRIMARY KEY (doc_id, page)
    );
    """,
]

# How passages are cut and described (context headers, document profiles). A collection
# indexed with an older format is read again from its files, with progress, when next indexed.
INDEX_FORMAT = 2


@dataclass(frozen=True)
class DocRow:
    id: int
    path: str
    size: int
    mtime_ns: int
    sha256: str
    kind: str
    status: str
    reason: str
    warnings: tuple[str, ...]
    n_pages: int
    n_chunks: int
    profile: str = ""
    # Why the file cannot be reached now ('' when it can): the document stays searchable.
    unavailable: str = ""


@dataclass(frozen=True)
class ChunkRow:
    id: int
    doc_id: int
    path: str
    page: int
    start: int
    end: int
    text: str
    context: str = ""
    unavailable: str = ""
    ocr: bool = False


def _doc(row: sqlite3.Row) -> DocRow:
    return DocRow(
        id=row["id"],
        path=row["path"],
        size=row["size"],
        mtime_ns=row["mtime_ns"],
        sha256=row["sha256"],
        kind=row["kind"],
        status=row["status"],
        reason=row["reason"],
        warnings=tuple(json.loads(row["warnings"] or "[]")),
        n_pages=row["n_pages"],
        n_chunks=row["n_chunks"],
        profile=row["profile"],
        unavailable=row["unavailable"],
    )


class Store(DocumentRows):
    """One collection's SQLite database. Not shared between threads."""

    # Meta keys that are the collection's settings; with the roots they are mirrored by the
    # library to collection.json (through ``on_settings_changed``, once committed).
    SETTINGS_KEYS = (
        "id",
        "name",
        "created_at",
        "embed_model",
        "embed_fingerprint",
        "embed_dim",
        "embed_path",
    )

    def __init__(self, path: Path) -> None:
        self.path = path
        self.on_settings_changed: Callable[[], None] | None = None
        self._settings_pending = False
        try:
            self.db = sqlite3.connect(str(path), timeout=30.0, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.OperationalError as e:  # disk full, no permission: not damage
            cause = storage_cause(e)
            raise StorageError(
                f"Folio could not open the collection database in {path.parent} because "
                f"{cause}. Nothing was changed; {what_to_do(cause)}."
            ) from e
        except sqlite3.DatabaseError as e:
            if hasattr(self, "db"):
                self.db.close()
            raise IndexCorrupted(
                f"The collection database in {path.parent} is damaged. Folio can rebuild it "
                "from your documents."
            ) from e

    def close(self) -> None:
        self.db.close()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        for i, script in enumerate(MIGRATIONS[version:], start=version + 1):
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for statement in _statements(script):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version={i}")
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    # -- transactions -------------------------------------------------------------------

    def begin(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.db.execute("COMMIT")
        if self._settings_pending:
            self._settings_changed()

    def rollback(self) -> None:
        self._settings_pending = False
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    def _settings_changed(self) -> None:
        self._settings_pending = self.db.in_transaction  # told after the commit
        if not self._settings_pending and self.on_settings_changed is not None:
            self.on_settings_changed()

    # -- meta and roots -----------------------------------------------------------------

    def get_meta(self, key: str, default: str = "") -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return str(row[0]) if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )
        if key in self.SETTINGS_KEYS:
            self._settings_changed()

    def roots(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT path FROM roots ORDER BY path")]

    def add_root(self, path: str) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO roots(path, added_at) VALUES(?, ?)", (path, time.time())
        )
        self._settings_changed()

    def remove_root(self, path: str) -> None:
        self.db.execute("DELETE FROM roots WHERE path=?", (path,))
        self._settings_changed()

    # -- documents ----------------------------------------------------------------------

    def documents(self) -> list[DocRow]:
        return [_doc(r) for r in self.db.execute("SELECT * FROM documents ORDER BY path")]

    def doc_by_path(self, path: str) -> DocRow | None:
        row = self.db.execute("SELECT * FROM documents WHERE path=?", (path,)).fetchone()
        return _doc(row) if row else None

    def docs_by_sha(self, sha: str) -> list[DocRow]:
        rows = self.db.execute(
            "SELECT * FROM documents WHERE sha256=? AND status='indexed'", (sha,)
        )
        return [_doc(r) for r in rows]

    def doc(self, doc_id: int) -> DocRow | None:
        row = self.db.execute("SELECT * FROM documents WHERE id=?", (doc_id,)).fetchone()
        return _doc(row) if row else None

    def touch_doc(self, doc_id: int, size: int, mtime_ns: int) -> None:
        self.db.execute(
            "UPDATE documents SET size=?, mtime_ns=?, unavailable='' WHERE id=?",
            (size, mtime_ns, doc_id),
        )

    def move_doc(self, doc_id: int, new_path: str, size: int, mtime_ns: int) -> None:
        self.db.execute(
            "UPDATE documents SET path=?, size=?, mtime_ns=?, unavailable='' WHERE id=?",
            (new_path, size, mtime_ns, doc_id),
        )

    def mark_unavailable(self, doc_ids: Iterable[int], reason: str) -> None:
        """Keep these documents, marked as not reachable now (with the reason)."""
        self.db.executemany(
            "UPDATE documents SET unavailable=? WHERE id=?", [(reason, i) for i in doc_ids]
        )

    def mark_available(self, doc_ids: Iterable[int]) -> None:
        self.db.executemany(
            "UPDATE documents SET unavailable='' WHERE id=?", [(i,) for i in doc_ids]
        )

    def delete_doc(self, doc_id: int) -> list[int]:
        """Delete a document and its chunks; returns the chunk ids (to drop from the ANN)."""
        ids = [r[0] for r in self.db.execute("SELECT id FROM chunks WHERE doc_id=?", (doc_id,))]
        self.db.execute("DELETE FROM chunks WHERE doc_id=?", (doc_id,))
        self.db.execute("DELETE FROM documents WHERE id=?", (doc_id,))
        return ids

    def _execute(self, sql: str, args: Sequence[Any]) -> Any:
        return self.db.execute(sql, args)

    def _insert(self, sql: str, args: Sequence[Any]) -> int:
        return int(self.db.execute(sql, args).lastrowid or 0)

    def put_indexed(
        self,
        path: str,
        size: int,
        mtime_ns: int,
        sha: str,
        kind: str,
        n_pages: int,
        warnings: Sequence[str],
        chunks: Sequence[ChunkSpan],
        vectors: np.ndarray,
        contexts: Sequence[str] = (),
        profile: str = "",
        doc_vector: np.ndarray | None = None,
        ocr_pages: Mapping[int, Sequence[Box]] | None = None,
    ) -> tuple[int, list[int], list[int]]:
        """Insert a document with its chunks and vectors (replacing an older version of it).

        ``contexts`` are the chunks' context headers (same order; none for old callers),
        ``profile`` the document's profile (JSON) and ``doc_vector`` the vector of its label;
        ``ocr_pages`` the pages read by OCR with the boxes of their words.
        Returns (doc_id, new chunk ids, chunk ids of the replaced version).
        """
        doc_id, dropped = self._put_document(
            path, size, mtime_ns, sha, kind, n_pages, warnings, len(chunks), profile, doc_vector
        )
        ids: list[int] = []
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        ocr = ocr_pages or {}
        for i, c in enumerate(chunks):
            context = contexts[i] if i < len(contexts) else ""
            cur = self.db.execute(
                'INSERT INTO chunks(doc_id, ord, page, start, "end", n_tokens, text, vector,'
                " context, keywords, ocr) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    doc_id,
                    i,
                    c.page,
                    c.start,
                    c.end,
                    c.n_tokens,
                    c.text,
                    vecs[i].tobytes(),
                    context,
                    " ".join(joined_numbers(c.text)),
                    int(c.page in ocr),
                ),
            )
            ids.append(int(cur.lastrowid or 0))
        self.db.executemany(
            "INSERT INTO ocr_pages(doc_id, page, boxes) VALUES(?, ?, ?)",
            [
                (doc_id, page, json.dumps([list(b) for b in boxes], separators=(",", ":")))
                for page, boxes in sorted(ocr.items())
            ],
        )
        return doc_id, ids, dropped

    def copy_doc(
        self, src: DocRow, new_path: str, size: int, mtime_ns: int
    ) -> tuple[int, list[int]]:
        """Another copy of an indexed document: chunks and vectors reused, not re-embedded."""
        cur = self.db.execute(
            "INSERT INTO documents(path, size, mtime_ns, sha256, kind, status, warnings, n_pages,"
            " n_chunks, indexed_at, profile, vector) SELECT ?, ?, ?, sha256, kind, status,"
            " warnings, n_pages, n_chunks, ?, profile, vector FROM documents WHERE id=?",
            (new_path, size, mtime_ns, time.time(), src.id),
        )
        doc_id = int(cur.lastrowid or 0)
        ids: list[int] = []
        rows = self.db.execute(
            'SELECT ord, page, start, "end", n_tokens, text, vector, context, keywords, ocr'
            " FROM chunks WHERE doc_id=? ORDER BY ord",
            (src.id,),
        ).fetchall()
        for r in rows:
            cur = self.db.execute(
                'INSERT INTO chunks(doc_id, ord, page, start, "end", n_tokens, text, vector,'
                " context, keywords, ocr) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (doc_id, *tuple(r)),
            )
            ids.append(int(cur.lastrowid or 0))
        self.db.execute(
            "INSERT INTO ocr_pages(doc_id, page, boxes) SELECT ?, page, boxes FROM ocr_pages"
            " WHERE doc_id=?",
            (doc_id, src.id),
        )
        return doc_id, ids

    # -- chunks -------------------------------------------------------------------------

    def chunk_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM chunks").fetchone()[0])

    def chunk_ids(self) -> set[int]:
        return {r[0] for r in self.db.execute("SELECT id FROM chunks")}

    def vectors(
        self, ids: Iterable[int] | None = None, dim: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """(ids, matrix) of stored vectors, for all chunks or the given ids."""
        if ids is None:
            rows: Iterator[sqlite3.Row] = self.db.execute("SELECT id, vector FROM chunks")
            got = list(rows)
        else:
            got = []
            id_list = list(ids)
            for i in range(0, len(id_list), 500):
                part = id_list[i : i + 500]
                q = f"SELECT id, vector FROM chunks WHERE id IN ({','.join('?' * len(part))})"
                got.extend(self.db.execute(q, part))
        if not got:
            return np.zeros(0, dtype=np.int64), np.zeros((0, dim), dtype=np.float32)
        labels = np.fromiter((r[0] for r in got), dtype=np.int64, count=len(got))
        mat = np.frombuffer(b"".join(r[1] for r in got), dtype=np.float32)
        return labels, mat.reshape(len(got), -1)

    def doc_texts_and_vectors(self, doc_id: int) -> list[tuple[str, np.ndarray]]:
        """(embedded text, vector) of each chunk of a document: the text the vector was
        computed from, its context header included."""
        rows = self.db.execute(
            "SELECT context, text, vector FROM chunks WHERE doc_id = ?", (doc_id,)
        )
        return [(embedding_text(r[0], r[1]), np.frombuffer(r[2], dtype=np.float32)) for r in rows]

    def doc_profiles(self) -> list[tuple[int, str, str, bytes | None]]:
        """(id, path, profile JSON, label vector) of every indexed document."""
        rows = self.db.execute(
            "SELECT id, path, profile, vector FROM documents WHERE status='indexed'"
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def doc_profiles_and_paths(self) -> list[tuple[str, str]]:
        """(path, profile JSON) of every indexed document."""
        rows = self.db.execute("SELECT path, profile FROM documents WHERE status='indexed'")
        return [(r[0], r[1]) for r in rows]

    def documents_version(self) -> tuple[int, float]:
        """Changes whenever a document is added, replaced or removed (for caches)."""
        row = self.db.execute(
            "SELECT count(*), coalesce(max(indexed_at), 0) + coalesce(sum(id), 0) FROM documents"
        ).fetchone()
        return int(row[0]), float(row[1])

    def doc_chunk_ids(self, doc_ids: Iterable[int]) -> list[int]:
        out: list[int] = []
        ids = list(doc_ids)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            q = f"SELECT id FROM chunks WHERE doc_id IN ({','.join('?' * len(part))})"
            out.extend(r[0] for r in self.db.execute(q, part))
        return out

    def chunks(self, ids: Sequence[int]) -> dict[int, ChunkRow]:
        out: dict[int, ChunkRow] = {}
        for i in range(0, len(ids), 500):
            part = list(ids[i : i + 500])
            q = (
                'SELECT c.id, c.doc_id, d.path, c.page, c.start, c."end", c.text, c.context,'
                " d.unavailable, c.ocr FROM chunks c JOIN documents d ON d.id = c.doc_id"
                f" WHERE c.id IN ({','.join('?' * len(part))})"
            )
            for r in self.db.execute(q, part):
                out[r[0]] = ChunkRow(
                    r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], bool(r[9])
                )
        return out

    def counts(self) -> tuple[int, int, int]:
        """(indexed documents, failed documents, passages)."""
        row = self.db.execute(
            "SELECT count(*), coalesce(sum(status='failed'), 0) FROM documents"
        ).fetchone()
        return int(row[0]) - int(row[1]), int(row[1]), self.chunk_count()

    def similarities(self, query: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, cosine similarity to ``query``) of every passage: the exhaustive scan."""
        ids, mat = self.vectors(None, dim)
        sims = mat @ query if len(ids) else np.zeros(0, dtype=np.float32)
        return ids, sims

    def page_passages(
        self, pages: Sequence[tuple[int, int]]
    ) -> list[tuple[int, int, str, str, bytes, int]]:
        """(doc_id, page, text, context, vector bytes, start) of every passage of the given
        (doc_id, page) pages, in document order."""
        if not pages:
            return []
        values = ",".join("(?, ?)" for _ in pages)
        args: list[int] = [x for p in pages for x in p]
        # A join on a VALUES list seeks each page in the chunks_page index (a row-value IN over
        # the same list scans the table).
        rows = self.db.execute(
            "SELECT c.doc_id, c.page, c.text, c.context, c.vector, c.start"
            f" FROM (VALUES {values}) AS v JOIN chunks AS c"
            " ON c.doc_id = v.column1 AND c.page = v.column2 ORDER BY c.doc_id, c.page, c.ord",
            args,
        ).fetchall()
        return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]

    def page_chunks(self, doc_id: int, page: int | None) -> list[tuple[int, int, int, str]]:
        """(page, start, end, text) of a document's passages (one page, or all), in order."""
        if page is None:
            rows = self.db.execute(
                'SELECT page, start, "end", text FROM chunks WHERE doc_id=? ORDER BY ord',
                (doc_id,),
            )
        else:
            rows = self.db.execute(
                'SELECT page, start, "end", text FROM chunks WHERE doc_id=? AND page=?'
                " ORDER BY start",
                (doc_id, page),
            )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def page_boxes(self, doc_id: int, page: int) -> list[Box]:
        """The word boxes of a page read by OCR ([] for a page with a text layer)."""
        row = self.db.execute(
            "SELECT boxes FROM ocr_pages WHERE doc_id=? AND page=?", (doc_id, page)
        ).fetchone()
        if row is None:
            return []
        try:
            return [
                (int(b[0]), int(b[1]), float(b[2]), float(b[3]), float(b[4]), float(b[5]))
                for b in json.loads(row[0])
            ]
        except (ValueError, TypeError, IndexError):
            return []

    def keyword_search(self, match: str, limit: int | None) -> list[tuple[int, float]]:
        """(chunk id, bm25) best first for an FTS5 MATCH expression."""
        q = (
            "SELECT rowid, bm25(chunks_fts) AS s FROM chunks_fts"
            " WHERE chunks_fts MATCH ? ORDER BY s"
        )
        if limit is not None:
            q += f" LIMIT {int(limit)}"
        try:
            return [(r[0], float(r[1])) for r in self.db.execute(q, (match,))]
        except sqlite3.OperationalError:
            return []

    def search_terms(
        self, terms: Sequence[str], mode: str, limit: int | None
    ) -> list[tuple[int, float]]:
        """(chunk id, bm25) best first for passages holding any ("OR") or all ("AND") of
        the terms."""
        return self.keyword_search(fts_expression(terms, mode), limit)

    def term_count(self, term: str) -> int:
        """How many passages hold ``term``."""
        return self.keyword_count(fts_expression([term]))

    def keyword_count(self, match: str) -> int:
        try:
            row = self.db.execute(
                "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", (match,)
            ).fetchone()
        except sqlite3.OperationalError:
            return 0
        return int(row[0])

    def keyword_mismatch(self) -> int:
        """Passages missing from the keyword index plus keyword entries without a passage."""
        row = self.db.execute(
            "SELECT (SELECT count(*) FROM chunks_fts_docsize WHERE id NOT IN"
            " (SELECT id FROM chunks)) + (SELECT count(*) FROM chunks WHERE id NOT IN"
            " (SELECT id FROM chunks_fts_docsize))"
        ).fetchone()
        return int(row[0])

    def rebuild_keywords(self) -> None:
        """Rebuild the keyword index from the passages (FTS5 'rebuild')."""
        self.db.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild')")

    def check_integrity(self) -> str:
        row = self.db.execute("PRAGMA quick_check").fetchone()
        return str(row[0]) if row else "no answer"


def fts_expression(terms: Sequence[str], mode: str = "OR") -> str:
    # Each term is quoted, so FTS5 operators or punctuation in a query cannot break the syntax.
    return f" {mode} ".join('"' + t.replace('"', '""') + '"' for t in terms)


@contextmanager
def storage_errors(what: str = "the collection's database") -> Iterator[None]:
    """Turn SQLite write failures (disk full, read-only file) into a StorageError for people."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        cause = storage_cause(exc)
        raise StorageError(
            f"Folio could not write to {what} because {cause}. Everything saved before is "
            f"kept; {what_to_do(cause)}."
        ) from exc


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (triggers keep their inner semicolons)."""
    out: list[str] = []
    buf = ""
    for line in script.strip().splitlines():
        buf += line + "\n"
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
