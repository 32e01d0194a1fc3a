"""Library (all collections under one home folder) and Collection (one indexed set of files)."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .config import EngineConfig
from .embed.base import Embedder
from .errors import CollectionError, EmbeddingModelMismatch, FolioError, IndexCorrupted
from .index.ann import VectorIndex
from .index.indexer import Indexer, IndexSettings
from .index.store import DocRow, Store
from .paths import collections_dir
from .progress import CancelToken, ProgressCallback
from .retrieve import EXHAUSTIVE_THRESHOLD, Retriever, SearchOptions
from .types import DocumentGroup, Hit, IndexReport

_STORE = "store.sqlite3"
_VECTORS = "vectors.hnsw"


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    path: Path
    documents: int
    chunks: int
    failed: int
    embed_model: str
    embed_fingerprint: str


class Library:
    """Entry point of the engine: creates, lists and opens collections; owns the embedder."""

    def __init__(self, config: EngineConfig | None = None, embedder: Embedder | None = None):
        self.config = config or EngineConfig()
        self.home = Path(self.config.home)
        self.home.mkdir(parents=True, exist_ok=True)
        collections_dir(self.home).mkdir(exist_ok=True)
        self._embedder = embedder
        self._embedder_lock = threading.Lock()

    # -- embedder -----------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        """The embedding model, loaded on first use (seconds: keep it off the GUI thread)."""
        with self._embedder_lock:
            if self._embedder is None:
                from .embed import load_embedder

                self._embedder = load_embedder(self.config.embed_model)
            return self._embedder

    # -- collections --------------------------------------------------------------------

    def _dirs(self) -> list[Path]:
        root = collections_dir(self.home)
        return sorted(p for p in root.iterdir() if (p / _STORE).exists())

    def names(self) -> list[str]:
        out = []
        for d in self._dirs():
            store = Store(d / _STORE)
            try:
                out.append(store.get_meta("name") or d.name)
            finally:
                store.close()
        return out

    def _find(self, name: str) -> Path | None:
        for d in self._dirs():
            store = Store(d / _STORE)
            try:
                if (store.get_meta("name") or d.name).casefold() == name.casefold():
                    return d
            finally:
                store.close()
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
        store = Store(d / _STORE)
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
        store = Store(d / _STORE)
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
            c = Collection(self, d)
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
        self.store = Store(path / _STORE)
        self._ann: VectorIndex | None = None

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

    def _checked_embedder(self) -> Embedder:
        emb = self.library.embedder
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
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as e:
                raise FolioError(
                    f"Collection '{self.name}' is being indexed by another Folio window or "
                    "command; try again when it has finished."
                ) from e
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    def index(
        self,
        paths: list[Path] | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> IndexReport:
        """Add ``paths`` to the collection (or re-scan its folders) and index what changed."""
        emb = self._checked_embedder()
        with self._writer_lock():
            if paths:
                for p in paths:
                    self.store.add_root(os.path.abspath(p))
            roots = [Path(p) for p in (paths or self.store.roots())]
            ann = self.ann()
            # Another process may have written since we loaded: bring the ANN in line first.
            ann.reconcile(self.store)
            cfg = self.library.config
            settings = IndexSettings(
                chunk_tokens=min(cfg.chunk_tokens, emb.max_tokens - 2),
                chunk_overlap=cfg.chunk_overlap,
                parse_workers=cfg.parse_workers,
                file_time_limit=cfg.file_time_limit,
                file_mem_limit=cfg.file_mem_limit,
                embed_batch=cfg.embed_batch,
                embed_streams=cfg.embed_streams,
            )
            return Indexer(self.store, ann, emb, settings).run(roots, progress, cancel)

    def remove_root(self, path: Path, cancel: CancelToken | None = None) -> int:
        """Stop following a folder or file: its documents leave the collection."""
        p = os.path.abspath(path)
        with self._writer_lock():
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
        self, progress: ProgressCallback | None = None, cancel: CancelToken | None = None
    ) -> int:
        """Re-embed every chunk with the library's current embedding model."""
        emb = self.library.embedder
        cancel = cancel or CancelToken()
        with self._writer_lock():
            rows = self.store.db.execute("SELECT id, text FROM chunks ORDER BY id").fetchall()
            ids = [r[0] for r in rows]
            vecs = emb.embed(
                [r[1] for r in rows],
                self.library.config.embed_batch,
                lambda _n: cancel.raise_if_cancelled(),
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
        return Retriever(self.store, self.ann(), self._checked_embedder(), self.name)

    def search(self, query: str, k: int = 5, documents: frozenset[int] | None = None) -> list[Hit]:
        return self.retriever().search(query, SearchOptions(k=k, documents=documents))

    def search_all(
        self, query: str, threshold: float = EXHAUSTIVE_THRESHOLD
    ) -> list[DocumentGroup]:
        return self.retriever().search_all(query, threshold)

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
