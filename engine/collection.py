"""Collection: one indexed set of files, opened from a Library."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .embed.base import Embedder
from .errors import CollectionError, EmbeddingModelMismatch, FolioError, IndexCorrupted
from .evaluate import EvalQuestion, EvalReport, evaluate
from .index.ann import VectorIndex
from .index.base import CollectionStore, VectorSearch
from .index.indexer import Indexer, IndexSettings
from .index.lock import writer_lock
from .index.repair import REBUILT, VECTORS, Consistency, check_consistency
from .index.store import INDEX_FORMAT, DocRow, Store, storage_errors
from .ingest.context import embedding_text
from .ingest.profile import document_label
from .progress import CancelToken, ProgressCallback
from .retrieve import EXHAUSTIVE_THRESHOLD, Retriever, SearchOptions
from .route import DocumentIndex
from .types import Box, DocumentGroup, FileOutcome, Hit, IndexReport, Progress

if TYPE_CHECKING:
    from .library import Library

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


class Collection:
    """One collection. Open it, use it from one thread at a time, close it."""

    shared = False  # True for the organisation's shared collections (read-only here)

    def __init__(self, library: Library, path: Path) -> None:
        self.library = library
        self.path = path
        store, repaired = library._open_store(path)
        # The collection's storage: SQLite + hnswlib here, PostgreSQL in SharedCollection.
        self.store: CollectionStore = store
        # What was repaired while this collection was open, for the app to tell the user.
        self.repairs: list[str] = [repaired] if repaired else []
        self._ann: VectorSearch | None = None
        self._ann_version: tuple[int, float] | None = None  # documents_version() it matches
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
    def id(self) -> str:
        """The collection's stable id: kept through renames, never reused (chats use it)."""
        return self.store.get_meta("id")

    @property
    def embed_model(self) -> str:
        return self.store.get_meta("embed_model")

    @property
    def embed_fingerprint(self) -> str:
        return self.store.get_meta("embed_fingerprint")

    @property
    def rebuilt_notice(self) -> str:
        """Set when the database was damaged and rebuilt, until its folders are indexed again."""
        return self.store.get_meta(REBUILT)

    def info(self) -> CollectionInfo:
        documents, failed, chunks = self.store.counts()
        return CollectionInfo(
            name=self.name,
            path=self.path,
            documents=documents,
            chunks=chunks,
            failed=failed,
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

    def _local_store(self) -> Store:
        """The SQLite store (what only a collection on this computer has)."""
        assert isinstance(self.store, Store)
        return self.store

    def ann(self) -> VectorSearch:
        """The vector index, loaded and reconciled with SQLite on first use, and brought in
        line again whenever the documents changed since (a collection kept open, such as the
        chat's, sees what the window's indexer or another process indexed meanwhile)."""
        version = self.store.documents_version()
        if self._ann is not None and version != self._ann_version:
            self._ann.reconcile(self.store)
            self._ann.compact(self.store)  # deleted vectors would pile up in memory otherwise
        self._ann_version = version
        if self._ann is None:
            emb = self._checked_embedder()
            ann = VectorIndex(self.path / VECTORS, emb.dim)
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
    def _writer_lock(
        self, progress: ProgressCallback | None = None, cancel: CancelToken | None = None
    ) -> Iterator[None]:
        """One writer at a time across programs: wait while another Folio window or command
        updates this collection, and say so (a "waiting" progress report, and the log)."""
        name = self.name

        def waiting(who: str) -> None:
            message = (
                f"Waiting for {who}, which is updating collection '{name}'; Folio goes on as "
                "soon as it has finished."
            )
            log.info("%s", message)
            if progress is not None:
                progress(Progress("waiting", 0, 0, current=message))

        cfg = self.library.config
        with writer_lock(self.path, cfg.program, waiting, cancel, cfg.lock_wait_seconds):
            yield

    def index(
        self,
        paths: list[Path] | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> IndexReport:
        """Add ``paths`` to the collection (or re-scan its folders) and index what changed."""
        with storage_errors():
            emb = self._checked_embedder()
        with self._writer_lock(progress, cancel), storage_errors():
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
                probe_seconds=cfg.probe_seconds,
                ocr=cfg.ocr,
                ocr_dpi=cfg.ocr_dpi,
                ocr_threads=cfg.ocr_threads,
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
            if not paths and not report.cancelled:
                self._drop_outside(report, ann)
                if self.store.keyword_mismatch():
                    log.warning("keyword index of %s rebuilt: it did not match", self.name)
                    self.store.rebuild_keywords()
            if not paths and not report.cancelled and self.rebuilt_notice:
                self.store.set_meta(REBUILT, "")  # its folders are indexed again
            if outdated and not report.cancelled:
                self.store.set_meta("index_format", str(INDEX_FORMAT))
            return report

    def _drop_outside(self, report: IndexReport, ann: VectorSearch) -> None:
        """Documents under none of the collection's folders (left by an older Folio that
        stopped between forgetting a folder and deleting its documents) leave the index."""
        roots = [r.rstrip(os.sep) for r in self.store.roots()]
        stray = [
            d
            for d in self.store.documents()
            if not any(d.path == r or d.path.startswith(r + os.sep) for r in roots)
        ]
        if not stray:
            return
        dropped: list[int] = []
        self.store.begin()
        try:
            for d in stray:
                dropped += self.store.delete_doc(d.id)
            self.store.commit()
        except BaseException:
            self.store.rollback()
            raise
        ann.remove(dropped)
        ann.save()
        report.removed += [FileOutcome(d.path, "removed") for d in stray]

    @property
    def index_outdated(self) -> bool:
        """True when the collection holds documents indexed by an older Folio (without context
        headers and document profiles): the next ``index`` reads them all again."""
        if self.store.get_meta("index_format") == str(INDEX_FORMAT):
            return False
        return self.store.documents_version()[0] > 0

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
        """Stop following a folder or file: its documents leave the collection. One
        transaction, so a crash never leaves documents of a folder the collection no longer
        follows."""
        p = os.path.abspath(path)
        with self._writer_lock(cancel=cancel), storage_errors():
            ann = self.ann()
            gone = [
                d
                for d in self.store.documents()
                if d.path == p or d.path.startswith(p.rstrip(os.sep) + os.sep)
            ]
            dropped: list[int] = []
            self.store.begin()
            try:
                self.store.remove_root(p)
                for d in gone:
                    dropped += self.store.delete_doc(d.id)
                self.store.commit()
            except BaseException:
                self.store.rollback()
                raise
            ann.remove(dropped)
            if ann.dirty:
                ann.save()
            return len(gone)

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
        with self._writer_lock(progress, cancel), storage_errors():
            # The same texts indexing embeds: each passage with its context header, and each
            # document's label (the routing vector).
            db = self._local_store().db
            rows = db.execute("SELECT id, context, text FROM chunks ORDER BY id").fetchall()
            ids = [r[0] for r in rows]
            docs = db.execute(
                "SELECT id, path, profile FROM documents WHERE status='indexed' ORDER BY id"
            ).fetchall()
            done = 0

            def step(n: int) -> None:  # between batches: stop when asked, report progress
                nonlocal done
                cancel.raise_if_cancelled()
                done += n
                if progress is not None:
                    progress(Progress("re-embedding", done, len(rows), chunks_embedded=done))

            vecs = emb.embed(
                [embedding_text(r[1], r[2]) for r in rows],
                self.library.config.embed_batch,
                step,
                streams=self.library.config.embed_streams,
            )
            labels = emb.embed(
                [document_label(d[1], d[2]) for d in docs], self.library.config.embed_batch
            )
            self.store.begin()
            try:
                for cid, v in zip(ids, vecs, strict=True):
                    db.execute("UPDATE chunks SET vector=? WHERE id=?", (v.tobytes(), cid))
                for d, v in zip(docs, labels, strict=True):
                    db.execute("UPDATE documents SET vector=? WHERE id=?", (v.tobytes(), d[0]))
                self.store.set_meta("embed_model", emb.name)
                self.store.set_meta("embed_fingerprint", emb.fingerprint)
                self.store.set_meta("embed_dim", str(emb.dim))
                self.store.set_meta("embed_path", own)
                self.store.commit()
            except BaseException:
                self.store.rollback()
                raise
            ann = VectorIndex(self.path / VECTORS, emb.dim)
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
            for page, _start, _end, text in self.store.page_chunks(doc_id, None):
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
        """The text of one page/section of a document, as indexed (for the source viewer).
        When the file cannot be reached now (or read any more), the page is put together from
        the passages the index holds, at their own offsets, so a citation still shows."""
        from .ingest import read_file

        row = self.store.doc_by_path(os.path.abspath(path))
        if row is None:
            raise CollectionError(f"{Path(path).name} is not a document of '{self.name}'.")
        # A page read by OCR is shown as indexed: reading the scan again takes seconds.
        if not row.unavailable and not self.store.page_boxes(row.id, page):
            try:
                doc = read_file(Path(path))
            except (FolioError, OSError):
                doc = None
            if doc is not None:
                for section in doc.sections:
                    if section.page == page:
                        return section.text
        indexed = self._indexed_section(row.id, page)
        if indexed is None:
            raise CollectionError(f"{Path(path).name} has no page or section {page} any more.")
        return indexed

    def page_boxes(self, path: str | Path, page: int) -> list[Box]:
        """The word boxes of a page read by OCR, for highlights ([] for other pages)."""
        row = self.store.doc_by_path(os.path.abspath(path))
        return [] if row is None else self.store.page_boxes(row.id, page)

    def _indexed_section(self, doc_id: int, page: int) -> str | None:
        """A page rebuilt from its stored passages: each at its start offset, gaps (text that
        no passage covers, such as blank lines) as spaces."""
        rows = self.store.page_chunks(doc_id, page)
        if not rows:
            return None
        buf = [" "] * max(int(r[2]) for r in rows)
        for _page, start, _end, text in rows:
            buf[int(start) : int(start) + len(text)] = list(text)
        return "".join(buf)

    # -- health -------------------------------------------------------------------------

    def check(self) -> Consistency:
        """Documents whose file is gone, documents outside the collection's folders, and
        passages, vectors or keyword entries without their counterpart (reads only)."""
        emb_dim = int(self.store.get_meta("embed_dim") or 0) or self.embedder.dim
        with storage_errors():
            return check_consistency(self._local_store(), VectorIndex(self.path / VECTORS, emb_dim))

    def verify(self) -> dict[str, int | str]:
        """Compare SQLite and the vector file; report and repair differences."""
        result = self._local_store().check_integrity()
        if result != "ok":
            log.warning("collection %s integrity check: %s", self.name, result)
            raise IndexCorrupted(
                f"The database of collection '{self.name}' is damaged. Folio rebuilds it from "
                "your documents the next time it starts; nothing of yours is lost."
            )
        ann = self.ann()
        return {"chunks": self.store.chunk_count(), "vectors": len(ann)}
