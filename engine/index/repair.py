"""collection.json (a collection's settings kept outside SQLite) and rebuilding a damaged
collection database from it."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import IndexCorrupted
from .ann import VectorIndex
from .scan import probe
from .store import Store, storage_errors

STORE = "store.sqlite3"
VECTORS = "vectors.hnsw"
SIDECAR = "collection.json"  # the settings, kept outside SQLite to rebuild a damaged store
REBUILT = "rebuilt_notice"  # meta key: set when the store was rebuilt, until re-indexed
log = logging.getLogger("folio.library")


def read_sidecar(d: Path) -> dict[str, object] | None:
    try:
        data = json.loads((d / SIDECAR).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_sidecar(d: Path, store: Store) -> None:
    """Mirror the collection's settings (name, folders, embedding model) to collection.json,
    atomically. Best effort: the database stays the source of truth, so a failure is logged."""
    tmp = d / f"{SIDECAR}.{os.getpid()}-{threading.get_ident()}.tmp"
    try:
        data: dict[str, object] = {k: store.get_meta(k) for k in Store.SETTINGS_KEYS}
        data["roots"] = store.roots()
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, d / SIDECAR)
    except (OSError, sqlite3.Error) as exc:
        log.warning("could not save %s: %s", d / SIDECAR, exc)
        try:
            tmp.unlink()
        except OSError:
            pass


def damage(d: Path, deep: bool) -> str:
    """Why a collection's database cannot be used ('' when it is sound)."""
    try:
        store = Store(d / STORE)
    except IndexCorrupted as exc:
        return str(exc)
    try:
        with storage_errors():  # locked or unreadable is not damage: that error stands
            result = store.check_integrity() if deep else "ok"
            if result != "ok":
                return f"integrity check failed: {result}"
            if not store.get_meta("name") and (read_sidecar(d) or {}).get("name"):
                return "the database has lost the collection's settings (empty or replaced)"
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        store.close()
    return ""


def rebuild_store(d: Path, problem: str) -> str:
    """Move a damaged database aside and start a fresh one with the collection's settings from
    collection.json; the stale vector file goes too. Returns the notice for the user."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = d / f"{STORE}.damaged-{stamp}"
    n = 2
    while aside.exists():
        aside = d / f"{STORE}.damaged-{stamp}-{n}"
        n += 1
    for suffix in ("", "-wal", "-shm"):
        src = d / (STORE + suffix)
        if src.exists():
            os.replace(src, aside.with_name(aside.name + suffix))
    # Chunk ids start again at 1: vectors under the old ids would be wrong, not just missing.
    for name in (VECTORS, VECTORS + ".sha256", VECTORS + ".tmp", VECTORS + ".sha256.tmp"):
        (d / name).unlink(missing_ok=True)
    saved = read_sidecar(d)
    name = str((saved or {}).get("name") or d.name)
    if saved is not None:
        notice = (
            f"Collection '{name}' was damaged and has been rebuilt from its folders; "
            "its documents are being indexed again."
        )
    else:
        notice = (
            f"Collection '{name}' was damaged and has been rebuilt, but its settings could not "
            f"be recovered ({SIDECAR} is missing): add its folders again to index them."
        )
    store = Store(d / STORE)
    try:
        store.begin()
        for key in Store.SETTINGS_KEYS:
            value = (saved or {}).get(key)
            if value:
                store.set_meta(key, str(value))
        store.set_meta("name", name)
        roots = (saved or {}).get("roots")
        for root in roots if isinstance(roots, list) else []:
            store.add_root(str(root))
        store.set_meta(REBUILT, notice)
        store.commit()
    except BaseException:
        store.rollback()
        raise
    finally:
        store.close()
    log.warning("%s (%s; the damaged database is kept as %s)", notice, problem, aside.name)
    return notice


# -- the consistency check (folio status --check) ------------------------------------------


@dataclass
class Consistency:
    """What ``folio status --check`` found. Every list holds document paths; counts are rows.
    ``ok`` when nothing is wrong (documents kept while their folder is not reachable are not
    a fault: they are listed apart)."""

    documents: int = 0
    chunks: int = 0
    files_gone: list[str] = field(default_factory=list)  # indexed, yet the file is not there
    outside_folders: list[str] = field(default_factory=list)  # under none of its folders
    wrong_chunk_count: list[str] = field(default_factory=list)
    chunks_without_document: int = 0
    vectors_without_chunk: int = 0
    chunks_without_vector: int = 0
    keywords_without_chunk: int = 0
    chunks_without_keywords: int = 0
    vector_file: str = "ok"  # ok | missing | damaged
    not_reachable: list[str] = field(default_factory=list)  # kept, marked unavailable

    @property
    def ok(self) -> bool:
        return not (
            self.files_gone
            or self.outside_folders
            or self.wrong_chunk_count
            or self.chunks_without_document
            or self.vectors_without_chunk
            or self.chunks_without_vector
            or self.keywords_without_chunk
            or self.chunks_without_keywords
            or (self.vector_file == "damaged")
        )

    def to_json(self) -> dict[str, object]:
        return {"ok": self.ok, **asdict(self)}

    def lines(self) -> list[str]:
        """The findings as sentences for people ([] when all is well)."""
        out = []
        for path in self.files_gone:
            out.append(f"{path}: indexed, but the file is no longer there.")
        for path in self.outside_folders:
            out.append(f"{path}: indexed, but it is in none of the collection's folders.")
        for path in self.wrong_chunk_count:
            out.append(f"{path}: some of its passages are missing from the index.")
        counts = [
            (self.chunks_without_document, "passage(s) belong to no document"),
            (self.vectors_without_chunk, "vector(s) in the search index have no passage"),
            (self.chunks_without_vector, "passage(s) are missing from the search index"),
            (self.keywords_without_chunk, "keyword entries have no passage"),
            (self.chunks_without_keywords, "passage(s) are missing from keyword search"),
        ]
        out += [f"{n} {what}." for n, what in counts if n]
        if self.vector_file == "damaged":
            out.append("The search index file is damaged (it is rebuilt when next opened).")
        return out


def check_consistency(store: Store, vectors: VectorIndex) -> Consistency:
    """Compare the collection's database with its files on disk, its vector file and its
    keyword index. Reads only; nothing is changed."""
    db = store.db
    report = Consistency()
    roots = store.roots()
    away = {r for r in roots if probe(Path(r), 2.0)}
    docs = store.documents()
    report.documents = len(docs)
    report.chunks = store.chunk_count()
    counts = dict(db.execute("SELECT doc_id, count(*) FROM chunks GROUP BY doc_id").fetchall())
    for d in docs:
        under = [r for r in roots if d.path == r or d.path.startswith(r.rstrip(os.sep) + os.sep)]
        if not under:
            report.outside_folders.append(d.path)
        elif d.unavailable or any(r in away for r in under):
            report.not_reachable.append(d.path)
        elif d.status == "indexed" and not os.path.exists(d.path):
            report.files_gone.append(d.path)
        if d.status == "indexed" and counts.get(d.id, 0) != d.n_chunks:
            report.wrong_chunk_count.append(d.path)
    report.chunks_without_document = int(
        db.execute(
            "SELECT count(*) FROM chunks WHERE doc_id NOT IN (SELECT id FROM documents)"
        ).fetchone()[0]
    )
    # The keyword index keeps one size row per passage it holds (FTS5 external content).
    report.keywords_without_chunk = int(
        db.execute(
            "SELECT count(*) FROM chunks_fts_docsize WHERE id NOT IN (SELECT id FROM chunks)"
        ).fetchone()[0]
    )
    report.chunks_without_keywords = int(
        db.execute(
            "SELECT count(*) FROM chunks WHERE id NOT IN (SELECT id FROM chunks_fts_docsize)"
        ).fetchone()[0]
    )
    labels = vectors.stored_labels()
    chunk_ids = store.chunk_ids()
    if labels is None:
        report.vector_file = "damaged" if vectors.path.exists() else "missing"
        labels = set()
    report.vectors_without_chunk = len(labels - chunk_ids)
    if report.vector_file != "missing":
        report.chunks_without_vector = len(chunk_ids - labels)
    return report
