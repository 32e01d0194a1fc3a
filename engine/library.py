"""Library (all collections under one home folder) and Collection (one indexed set of files)."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from .config import EngineConfig
from .embed.base import Embedder
from .errors import (
    CollectionError,
    EmbeddingModelMismatch,
    FolioError,
    IndexCorrupted,
    StorageError,
)
from .evaluate import EvalQuestion, EvalReport, evaluate
from .index.ann import VectorIndex
from .index.indexer import Indexer, IndexSettings
from .index.store import INDEX_FORMAT, DocRow, Store, storage_errors
from .paths import collections_dir
from .progress import CancelToken, ProgressCallback
from .retrieve import EXHAUSTIVE_THRESHOLD, Retriever, SearchOptions
from .route import DocumentIndex
from .types import DocumentGroup, Hit, IndexReport, Progress

_STORE = "store.sqlite3"
_VECTORS = "vectors.hnsw"
_SIDECAR = "collection.json"  # the settings, kept outside SQLite to rebuild a damaged store
_REBUILT = "rebuilt_notice"  # meta key: set when the store was rebuilt, until re-indexed
log = logging.getLogger("folio.library")


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    path: Path
    documents: int
    chunks: int
    failed: int
    embed_model: str
    embed_fingerprint: str


def _lock(f: IO[str]) -> None:
    """An exclusive lock on an open file, or BlockingIOError when another process holds it."""
    if sys.platform == "win32":
        import msvcrt

        f.seek(0)
        try:
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError as e:
            raise BlockingIOError(str(e)) from e
    else:
        import fcntl

        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def _unlock(f: IO[str]) -> None:
    if sys.platform == "win32":
        import msvcrt

        f.seek(0)
        msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(f.fileno(), fcntl.LOCK_UN)


class Library:
    """Entry point of the engine: creates, lists and opens collections; owns the embedder."""

    def __init__(self, config: EngineConfig | None = None, embedder: Embedder | None = None):
        self.config = config or EngineConfig()
        self.home = Path(self.config.home)
        self.home.mkdir(parents=True, exist_ok=True)
        collections_dir(self.home).mkdir(exist_ok=True)
        self._embedder = embedder
        self._extra_embedders: dict[str, Embedder] = {}
        self._embedder_lock = threading.Lock()
        self._open_lock = threading.Lock()
        self._checked: set[Path] = set()  # collection folders whose database was checked

    # -- embedder -----------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        """The embedding model, loaded on first use (seconds: keep it off the GUI thread)."""
        with self._embedder_lock:
            if self._embedder is None:
                from .embed import load_embedder

                self._embedder = load_embedder(self.config.embed_model)
            return self._embedder

    def embedder_at(self, model_dir: Path) -> Embedder:
        """A collection's own (fine-tuned) embedding model, loaded once and kept."""
        key = str(Path(model_dir).resolve())
        with self._embedder_lock:
            if key not in self._extra_embedders:
                from .embed import load_embedder

                self._extra_embedders[key] = load_embedder(Path(key))
            return self._extra_embedders[key]

    # -- collections --------------------------------------------------------------------

    def _dirs(self) -> list[Path]:
        root = collections_dir(self.home)
        return sorted(p for p in root.iterdir() if (p / _STORE).exists())

    def _open_store(self, d: Path, deep: bool = True) -> tuple[Store, str]:
        """Open a collection's database, rebuilding it from collection.json when it is damaged:
        one that cannot be opened is caught on every open, ``PRAGMA quick_check`` runs on the
        first ``deep`` open in this Library (listing stays cheap). Returns the store and a
        notice for the user ('' when nothing was repaired)."""
        notice = ""
        with self._open_lock:
            if d not in self._checked:
                problem = _damage(d, deep)
                if problem:
                    try:
                        notice = _rebuild_store(d, problem)
                    except OSError as exc:
                        raise StorageError(
                            f"The collection database in '{d}' is damaged ({problem}) and "
                            f"could not be rebuilt ({exc.strerror or exc}). Free some disk "
                            "space or check the folder's permissions, then start Folio again."
                        ) from exc
                if deep or problem:
                    self._checked.add(d)
        store = Store(d / _STORE)
        store.on_settings_changed = lambda: _write_sidecar(d, store)
        if not (d / _SIDECAR).exists():  # a collection from before the settings file
            _write_sidecar(d, store)
        return store, notice

    def _named_dirs(self) -> list[tuple[Path, str]]:
        """(folder, name) of every collection. One collection that cannot be opened (even after
        a rebuild) is listed under its saved or folder name, never stops the listing."""
        out = []
        for d in self._dirs():
            try:
                store, _notice = self._open_store(d, deep=False)
                try:
                    name = store.get_meta("name")
                finally:
                    store.close()
            except (FolioError, sqlite3.Error, OSError) as exc:
                log.warning("collection %s cannot be opened: %s", d, exc)
                name = str((_read_sidecar(d) or {}).get("name") or "")
            out.append((d, name or d.name))
        return out

    def names(self) -> list[str]:
        return [name for _d, name in self._named_dirs()]

    def _find(self, name: str) -> Path | None:
        for d, known in self._named_dirs():
            if known.casefold() == name.casefold():
                return d
        return None

    def create(self, name: str) -> Collection:
        name = name.strip()
        if not name or len(name) > 100 or any(c in name for c in "\0\n\r"):
            raise CollectionError("A collection needs a name of 1 to 100 characters.")
        if self._find(name) is not None:
            raise CollectionError(f"A collection named '{name}' exists already.")
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "collection"
        root = collections_dir(self.home)
        d = root / slug
        n = 2
        while d.exists():
            d = root / f"{slug}-{n}"
            n += 1
        d.mkdir()
        store, _notice = self._open_store(d)
        try:
            store.set_meta("name", name)
            store.set_meta("created_at", str(time.time()))
        finally:
            store.close()
        return Collection(self, d)

    def open(self, name: str) -> Collection:
        d = self._find(name)
        if d is None:
            known = ", ".join(self.names()) or "none yet"
            raise CollectionError(f"There is no collection named '{name}' (collections: {known}).")
        return Collection(self, d)

    def get_or_create(self, name: str) -> Collection:
        return self.open(name) if self._find(name) else self.create(name)

    def rename(self, old: str, new: str) -> None:
        new = new.strip()
        if not new:
            raise CollectionError("A collection needs a name.")
        target = self._find(new)
        d = self._find(old)
        if d is None:
            raise CollectionError(f"There is no collection named '{old}'.")
        if target is not None and target != d:
            raise CollectionError(f"A collection named '{new}' exists already.")
        store, _notice = self._open_store(d)
        try:
            store.set_meta("name", new)
        finally:
            store.close()

    def delete(self, name: str) -> None:
        d = self._find(name)
        if d is None:
            raise CollectionError(f"There is no collection named '{name}'.")
        # Rename first so a crash mid-delete never leaves a half collection that still lists.
        trash = d.with_name(f".deleted-{d.name}-{os.getpid()}-{int(time.time())}")
        os.replace(d, trash)
        shutil.rmtree(trash, ignore_errors=True)

    def infos(self) -> list[CollectionInfo]:
        out = []
        for d in self._dirs():
            try:
                c = Collection(self, d)
            except FolioError as exc:  # listed by names(); one bad collection stops nothing
                log.warning("collection %s cannot be opened: %s", d, exc)
                continue
            try:
                out.append(c.info())
            finally:
                c.close()
        return out


class Collection:
    """One collection. Open it, use it from one thread at a time, close it."""

    def __init__(self, library: Library, path: Path) -> None:
        self.library = library
        self.path = path
        self.store, repaired = library._open_store(path)
        # What was repaired while this collection was open, for the app to tell the user.
        self.repairs: list[str] = [repaired] if repaired else []
        self._ann: VectorIndex | None = None
        self._doc_index: tuple[tuple[int, float], DocumentIndex] | None = None

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()

    @property
    def name(self) -> str:
        return self.store.get_meta("name") or self.path.name

    @property
    def embed_model(self) -> str:
        return self.store.get_meta("embed_model")

    @property
    def embed_fingerprint(self) -> str:
        return self.store.get_meta("embed_fingerprint")

    @property
    def rebuilt_notice(self) -> str:
        """Set when the database was damaged and rebuilt, until its folders are indexed again."""
        return self.store.get_meta(_REBUILT)

    def info(self) -> CollectionInfo:
        row = self.store.db.execute(
            "SELECT count(*), coalesce(sum(status='failed'), 0) FROM documents"
        ).fetchone()
        return CollectionInfo(
            name=self.name,
            path=self.path,
            documents=int(row[0]) - int(row[1]),
            chunks=self.store.chunk_count(),
            failed=int(row[1]),
            embed_model=self.embed_model,
            embed_fingerprint=self.embed_fingerprint,
        )

    def documents(self) -> list[DocRow]:
        return self.store.documents()

    def roots(self) -> list[str]:
        return self.store.roots()

    # -- the embedding model guard ------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        """The collection's own tuned embedding model when it has one, else the library's.
        A tuned model folder that has gone missing falls back to the library's model, which
        the fingerprint check below then refuses with instructions."""
        own = self.store.get_meta("embed_path")
        if own and Path(own).is_dir():
            return self.library.embedder_at(Path(own))
        return self.library.embedder

    def _checked_embedder(self) -> Embedder:
        emb = self.embedder
        fp = self.embed_fingerprint
        if fp and fp != emb.fingerprint:
            raise EmbeddingModelMismatch(
                f"Collection '{self.name}' was built with the embedding model "
                f"'{self.embed_model}' ({fp}), but Folio is now using '{emb.name}' "
                f"({emb.fingerprint}). Re-embed it with the current model "
                f'(`folio reembed --collection "{self.name}"`), or switch back to '
                f"'{self.embed_model}'."
            )
        if not fp:
            self.store.set_meta("embed_model", emb.name)
            self.store.set_meta("embed_fingerprint", emb.fingerprint)
            self.store.set_meta("embed_dim", str(emb.dim))
        return emb

    def ann(self) -> VectorIndex:
        """The vector index, loaded and reconciled with SQLite on first use."""
        if self._ann is None:
            emb = self._checked_embedder()
            ann = VectorIndex(self.path / _VECTORS, emb.dim)
            if not ann.load():
                if ann.path.exists():  # there was a file, and it was damaged or incomplete
                    self.repairs.append(
                        f"The search index of collection '{self.name}' was damaged and has "
                        "been rebuilt from its database; nothing was lost."
                    )
                    log.warning("%s", self.repairs[-1])
                ann.rebuild(self.store)
            else:
                ann.reconcile(self.store)
            self._ann = ann
        return self._ann

    # -- indexing -----------------------------------------------------------------------

    @contextmanager
    def _writer_lock(self) -> Iterator[None]:
        lock_path = self.path / ".lock"
        with open(lock_path, "a+") as f:
            try:
                _lock(f)
            except BlockingIOError as e:
                raise FolioError(
                    f"Collection '{self.name}' is being indexed by another Folio window or "
                    "command; try again when it has finished."
                ) from e
            try:
                yield
            finally:
                _unlock(f)

    def index(
        self,
        paths: list[Path] | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> IndexReport:
        """Add ``paths`` to the collection (or re-scan its folders) and index what changed."""
        with storage_errors():
            emb = self._checked_embedder()
        with self._writer_lock(), storage_errors():
            if paths:
                for p in paths:
                    self.store.add_root(os.path.abspath(p))
            # A collection indexed by an older Folio is read again from its files, whole, so
            # that no document is left in the old format.
            outdated = self.index_outdated
            roots = [Path(p) for p in (self.store.roots() if outdated or not paths else paths)]
            ann = self.ann()
            # Another process may have written since we loaded: bring the ANN in line first.
            ann.reconcile(self.store)
            cfg = self.library.config
            settings = IndexSettings(
                chunk_tokens=min(cfg.chunk_tokens, emb.max_tokens - 2),
                chunk_overlap=cfg.chunk_overlap,
                parse_workers=cfg.parse_workers,
                parse_helpers=cfg.parse_helpers,
                file_time_limit=cfg.file_time_limit,
                file_mem_limit=cfg.file_mem_limit,
                embed_batch=cfg.embed_batch,
                embed_streams=cfg.embed_streams,
                # The header fills what the passage leaves of the model's window (at least 24).
                header_tokens=max(24, emb.max_tokens - 2 - min(cfg.chunk_tokens, emb.max_tokens))
                if cfg.context_headers
                else 0,
            )
            if not outdated and not self.store.get_meta("index_format"):
                # A new collection: everything it will hold is in the current format.
                self.store.set_meta("index_format", str(INDEX_FORMAT))
            report = Indexer(self.store, ann, emb, settings).run(
                roots, progress, cancel, reread=outdated
            )
            if not paths and not report.cancelled and self.rebuilt_notice:
                self.store.set_meta(_REBUILT, "")  # its folders are indexed again
            if outdated and not report.cancelled:
                self.store.set_meta("index_format", str(INDEX_FORMAT))
            return report

    @property
    def index_outdated(self) -> bool:
        """True when the collection holds documents indexed by an older Folio (without context
        headers and document profiles): the next ``index`` reads them all again."""
        if self.store.get_meta("index_format") == str(INDEX_FORMAT):
            return False
        row = self.store.db.execute("SELECT 1 FROM documents LIMIT 1").fetchone()
        return row is not None

    @property
    def outdated_notice(self) -> str:
        if not self.index_outdated:
            return ""
        return (
            f"Collection '{self.name}' was indexed by an earlier version of Folio. Its documents "
            "are read again so that search knows each passage's document, section and table; "
            "until then search works as before."
        )

    def remove_root(self, path: Path, cancel: CancelToken | None = None) -> int:
        """Stop following a folder or file: its documents leave the collection."""
        p = os.path.abspath(path)
        with self._writer_lock(), storage_errors():
            ann = self.ann()
            self.store.remove_root(p)
            n = 0
            for d in self.store.documents():
                if d.path == p or d.path.startswith(p.rstrip(os.sep) + os.sep):
                    self.store.begin()
                    try:
                        dropped = self.store.delete_doc(d.id)
                        self.store.commit()
                    except BaseException:
                        self.store.rollback()
                        raise
                    ann.remove(dropped)
                    n += 1
            if ann.dirty:
                ann.save()
            return n

    def reembed(
        self,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        model_dir: Path | None = None,
    ) -> int:
        """Re-embed every chunk with the library's current embedding model, or with
        ``model_dir`` (a model tuned for this collection, which it then keeps using)."""
        emb = self.library.embedder_at(model_dir) if model_dir else self.library.embedder
        own = str(Path(model_dir).resolve()) if model_dir else ""
        cancel = cancel or CancelToken()
        with self._writer_lock(), storage_errors():
            rows = self.store.db.execute("SELECT id, text FROM chunks ORDER BY id").fetchall()
            ids = [r[0] for r in rows]
            done = 0

            def step(n: int) -> None:  # between batches: stop when asked, report progress
                nonlocal done
                cancel.raise_if_cancelled()
                done += n
                if progress is not None:
                    progress(Progress("re-embedding", done, len(rows), chunks_embedded=done))

            vecs = emb.embed(
                [r[1] for r in rows],
                self.library.config.embed_batch,
                step,
                streams=self.library.config.embed_streams,
            )
            self.store.begin()
            try:
                for cid, v in zip(ids, vecs, strict=True):
                    self.store.db.execute(
                        "UPDATE chunks SET vector=? WHERE id=?", (v.tobytes(), cid)
                    )
                self.store.set_meta("embed_model", emb.name)
                self.store.set_meta("embed_fingerprint", emb.fingerprint)
                self.store.set_meta("embed_dim", str(emb.dim))
                self.store.set_meta("embed_path", own)
                self.store.commit()
            except BaseException:
                self.store.rollback()
                raise
            ann = VectorIndex(self.path / _VECTORS, emb.dim)
            ann.rebuild(self.store)
            ann.save()
            self._ann = ann
            return len(ids)

    # -- retrieval ----------------------------------------------------------------------

    def retriever(self) -> Retriever:
        emb = self._checked_embedder()
        return Retriever(self.store, self.ann(), emb, self.name, self._document_index(emb.dim))

    def _document_index(self, dim: int) -> DocumentIndex:
        """The routing index of the collection's documents, rebuilt when they change."""
        version = self.store.documents_version()
        if self._doc_index is None or self._doc_index[0] != version:
            self._doc_index = (version, DocumentIndex.build(self.store.doc_profiles(), dim))
        return self._doc_index[1]

    def search(self, query: str, k: int = 5, documents: frozenset[int] | None = None) -> list[Hit]:
        return self.retriever().search(query, SearchOptions(k=k, documents=documents))

    def search_all(
        self, query: str, threshold: float = EXHAUSTIVE_THRESHOLD
    ) -> list[DocumentGroup]:
        return self.retriever().search_all(query, threshold)

    def evaluate(
        self,
        questions: list[EvalQuestion],
        k: int = 5,
        progress: Callable[[int, int], None] | None = None,
        options: SearchOptions | None = None,
    ) -> EvalReport:
        """Retrieval quality on ``questions`` (``folio eval``; see evaluate.py)."""
        retriever = self.retriever()

        def page_texts(doc_id: int) -> dict[int, str]:
            pages: dict[int, str] = {}
            rows = self.store.db.execute(
                "SELECT page, text FROM chunks WHERE doc_id=? ORDER BY ord", (doc_id,)
            )
            for page, text in rows:
                pages[page] = pages.get(page, "") + "\n" + text
            return pages

        docs = [(d.id, d.path) for d in self.documents() if d.status == "indexed"]
        return evaluate(
            questions,
            docs,
            page_texts,
            lambda q, n: retriever.search(q, replace(options or SearchOptions(), k=n)),
            k=k,
            progress=progress,
        )

    def texts(self) -> list[str]:
        """The full text of every indexed document, read again from the files (for CPT)."""
        from .tune.data import load_texts

        paths = [Path(d.path) for d in self.documents() if d.status == "indexed"]
        texts, _errors = load_texts(paths)
        return texts

    # -- opening sources ----------------------------------------------------------------

    def owns(self, path: str | Path) -> bool:
        """True when ``path`` is a document of this collection (the viewer opens only those)."""
        return self.store.doc_by_path(os.path.abspath(path)) is not None

    def section_text(self, path: str | Path, page: int) -> str:
        """The text of one page/section of a document, as indexed (for the source viewer)."""
        from .ingest import read_file

        if not self.owns(path):
            raise CollectionError(f"{Path(path).name} is not a document of '{self.name}'.")
        doc = read_file(Path(path))
        for section in doc.sections:
            if section.page == page:
                return section.text
        raise CollectionError(f"{Path(path).name} has no page or section {page} any more.")

    # -- health -------------------------------------------------------------------------

    def verify(self) -> dict[str, int | str]:
        """Compare SQLite and the vector file; report and repair differences."""
        result = self.store.check_integrity()
        if result != "ok":
            raise IndexCorrupted(f"Collection '{self.name}' database check failed: {result}")
        ann = self.ann()
        return {"chunks": self.store.chunk_count(), "vectors": len(ann)}


# -- collection.json and rebuilding a damaged database ------------------------------------


def _read_sidecar(d: Path) -> dict[str, object] | None:
    try:
        data = json.loads((d / _SIDECAR).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_sidecar(d: Path, store: Store) -> None:
    """Mirror the collection's settings (name, folders, embedding model) to collection.json,
    atomically. Best effort: the database stays the source of truth, so a failure is logged."""
    tmp = d / f"{_SIDECAR}.{os.getpid()}-{threading.get_ident()}.tmp"
    try:
        data: dict[str, object] = {k: store.get_meta(k) for k in Store.SETTINGS_KEYS}
        data["roots"] = store.roots()
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, d / _SIDECAR)
    except (OSError, sqlite3.Error) as exc:
        log.warning("could not save %s: %s", d / _SIDECAR, exc)
        try:
            tmp.unlink()
        except OSError:
            pass


def _damage(d: Path, deep: bool) -> str:
    """Why a collection's database cannot be used ('' when it is sound)."""
    try:
        store = Store(d / _STORE)
    except IndexCorrupted as exc:
        return str(exc)
    try:
        with storage_errors():  # locked or unreadable is not damage: that error stands
            result = store.check_integrity() if deep else "ok"
            if result != "ok":
                return f"integrity check failed: {result}"
            if not store.get_meta("name") and (_read_sidecar(d) or {}).get("name"):
                return "the database has lost the collection's settings (empty or replaced)"
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        store.close()
    return ""


def _rebuild_store(d: Path, problem: str) -> str:
    """Move a damaged database aside and start a fresh one with the collection's settings from
    collection.json; the stale vector file goes too. Returns the notice for the user."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = d / f"{_STORE}.damaged-{stamp}"
    n = 2
    while aside.exists():
        aside = d / f"{_STORE}.damaged-{stamp}-{n}"
        n += 1
    for suffix in ("", "-wal", "-shm"):
        src = d / (_STORE + suffix)
        if src.exists():
            os.replace(src, aside.with_name(aside.name + suffix))
    # Chunk ids start again at 1: vectors under the old ids would be wrong, not just missing.
    for name in (_VECTORS, _VECTORS + ".sha256", _VECTORS + ".tmp", _VECTORS + ".sha256.tmp"):
        (d / name).unlink(missing_ok=True)
    saved = _read_sidecar(d)
    name = str((saved or {}).get("name") or d.name)
    if saved is not None:
        notice = (
            f"Collection '{name}' was damaged and has been rebuilt from its folders; "
            "its documents are being indexed again."
        )
    else:
        notice = (
            f"Collection '{name}' was damaged and has been rebuilt, but its settings could not "
            f"be recovered ({_SIDECAR} is missing): add its folders again to index them."
        )
    store = Store(d / _STORE)
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
        store.set_meta(_REBUILT, notice)
        store.commit()
    except BaseException:
        store.rollback()
        raise
    finally:
        store.close()
    log.warning("%s (%s; the damaged database is kept as %s)", notice, problem, aside.name)
    return notice
