"""Incremental, resumable indexing of a collection's files.

One run: walk the folders; skip files whose size and modification time are unchanged (no read
at all); hash the others; a known hash at a new path is a move (the document keeps its
embeddings) or a copy (its chunks and vectors are duplicated); everything else is parsed and
chunked in worker processes while this process embeds and writes. Each batch of finished
documents is written in one SQLite transaction with its vectors, so a kill at any moment loses
at most the batch in flight, and the next run picks up where this one stopped.
"""

from __future__ import annotations

import hashlib
import os
import queue
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import reasons
from ..embed.base import Embedder
from ..errors import Cancelled, FolioError, StorageError
from ..ingest.context import embedding_text
from ..ingest.image import PICTURE_WITHOUT_OCR
from ..ingest.pdf import SCANNED_PAGES_WARNING, SCANNED_WITHOUT_OCR
from ..ingest.pool import PageProgress, ParsePool, ParseResult, ParseTask
from ..ingest.profile import document_label
from ..messages import problems
from ..progress import CancelToken, ProgressCallback, Throttle, eta
from ..types import IMAGE_SUFFIXES, FileOutcome, IndexReport, Progress
from .base import CollectionStore, VectorSearch
from .scan import FILE_NOT_ALLOWED, PROBE_SECONDS, VANISHED, FileEntry, ScanProblem, walk
from .store import DocRow


@dataclass(frozen=True)
class IndexSettings:
    chunk_tokens: int = 200
    chunk_overlap: int = 32
    parse_workers: int = 1
    # Reader processes that work only while the embedder waits for parsed files.
    parse_helpers: int = 1
    file_time_limit: float = 120.0
    file_mem_limit: int = 3 * 1024**3
    embed_batch: int = 16
    # Chunks gathered before an embedding round: large enough to batch chunks of similar
    # length together, small enough that a kill loses little work.
    embed_buffer: int = 512
    # ...or this many finished files, so small files are committed often.
    flush_files: int = 8
    # Batches embedded side by side, each on one thread.
    embed_streams: int = 2
    checkpoint_seconds: float = 60.0
    # Tokens of context header (document, section, table) embedded with each passage; 0 = no
    # headers. The header and a full passage together fit the embedding model's window.
    header_tokens: int = 54
    # Seconds a collection's folder may take to answer before it counts as not reachable now.
    probe_seconds: float = PROBE_SECONDS
    # Read scanned pages and pictures by text recognition (OCR), at this resolution.
    ocr: bool = True
    ocr_dpi: int = 200
    ocr_threads: int = 0


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


@dataclass
class _Pending:
    entry: FileEntry
    sha: str
    result: ParseResult


_REMEMBER = 20_000


def _label(p: _Pending) -> str:
    """The text that stands for a whole document in the document index."""
    return document_label(str(p.entry.path), p.result.profile)


def _scanned_without_ocr(doc: DocRow) -> bool:
    """A document whose scanned pages (or picture) were left unread because OCR was off or
    missing when it was indexed: with OCR on, it is read again."""
    if doc.status == "failed":
        return (
            doc.reason in SCANNED_WITHOUT_OCR
            or doc.reason in PICTURE_WITHOUT_OCR
            or (doc.reason == reasons.BINARY and Path(doc.path).suffix.lower() in IMAGE_SUFFIXES)
        )
    return any(SCANNED_PAGES_WARNING in w for w in doc.warnings)


def _failed_in_older_words(doc: DocRow) -> bool:
    """A failure recorded by an older Folio (its reason is not a sentence by today's rules):
    read the file again once. Readers have improved since (AES-encrypted PDFs need no extra
    package any more), and the reason shown becomes today's."""
    return doc.status == "failed" and bool(doc.reason) and bool(problems(doc.reason))


class Indexer:
    def __init__(
        self, store: CollectionStore, ann: VectorSearch, embedder: Embedder, settings: IndexSettings
    ) -> None:
        self.store = store
        self.ann = ann
        self.embedder = embedder
        self.settings = settings
        # Vectors by chunk text, for this run (most recent last; at most _REMEMBER, ~30 MB).
        self._known: OrderedDict[str, np.ndarray] = OrderedDict()

    def run(
        self,
        roots: list[Path],
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        reread: bool = False,
    ) -> IndexReport:
        """Index what changed under ``roots``; with ``reread``, read every file again (an
        older index format), keeping the vectors of passages whose text is unchanged."""
        started = time.monotonic()
        cancel = cancel or CancelToken()
        report = IndexReport()
        notify = Throttle(progress)
        root_strs = [os.path.abspath(r) for r in roots]

        notify(Progress("scanning", 0, 0), force=True)
        existing = [d for d in self.store.documents() if _under(d.path, root_strs)]
        by_path = {d.path: d for d in existing}
        entries: list[FileEntry] = []
        # Folders and files that cannot be reached now (a drive not connected, no permission,
        # a share that does not answer): what the collection holds there is kept, marked.
        unreachable: dict[str, str] = {}
        for item in walk([Path(r) for r in root_strs], self.settings.probe_seconds):
            if isinstance(item, ScanProblem):
                known = by_path.get(item.path)
                if item.folder:
                    unreachable[item.path] = item.reason
                elif known is not None and known.status == "indexed" and item.reason != VANISHED:
                    unreachable[item.path] = FILE_NOT_ALLOWED
                else:
                    report.failed.append(FileOutcome(item.path, "failed", item.reason))
            else:
                entries.append(item)
        held = self._hold(existing, unreachable, report)
        total = len(entries) + len(report.failed)
        # The smallest file first: its chunks reach the embedder soonest, so the model starts
        # working while the larger files are still being read.
        if entries:
            smallest = min(range(len(entries)), key=lambda i: entries[i].size)
            entries.insert(0, entries.pop(smallest))
        done = len(report.failed)
        for f in report.failed:
            self._record_failure(f.path, 0, 0, "", "", f.reason)

        seen = {e.path for e in entries} | {f.path for f in report.failed} | held
        # Documents whose file is gone: candidates for a move, else removed at the end. Copies
        # with the same content are each their own candidate (a list per hash).
        missing: dict[str, list[DocRow]] = {}
        for d in existing:
            if d.path not in seen and d.status == "indexed":
                missing.setdefault(d.sha256, []).append(d)
        # Documents marked unavailable by an earlier run whose file is back, unchanged.
        back: list[int] = []

        pool: ParsePool | None = None
        expected = 0
        pending: list[_Pending] = []
        queued: dict[int, tuple[FileEntry, str]] = {}
        # Identical files within one run: parse the first, copy its chunks to the others.
        first_of_sha: dict[str, str] = {}
        twins_later: list[tuple[FileEntry, str]] = []
        last_checkpoint = time.monotonic()
        parse_started = time.monotonic()
        finished = False  # False while an error is on its way out

        def tell(stage: str, current: str = "", force: bool = False, detail: str = "") -> None:
            notify(
                Progress(
                    stage,
                    done,
                    total,
                    report.chunks_embedded,
                    current,
                    eta(done, total, parse_started),
                    detail,
                ),
                force=force,
            )

        try:
            # 1. Decide what each file needs, cheapest test first.
            for entry in entries:
                if cancel.cancelled:
                    raise Cancelled()
                doc = by_path.get(entry.path)
                again = doc is not None and (
                    _failed_in_older_words(doc) or (self.settings.ocr and _scanned_without_ocr(doc))
                )
                if (
                    not reread
                    and not again
                    and doc is not None
                    and doc.size == entry.size
                    and doc.mtime_ns == entry.mtime_ns
                ):
                    report.unchanged.append(FileOutcome(entry.path, "unchanged"))
                    if doc.unavailable:
                        back.append(doc.id)
                    done += 1
                    continue
                try:
                    sha = sha256_file(entry.path)
                except FileNotFoundError:
                    self._fail(report, entry, "", reasons.VANISHED)
                    done += 1
                    continue
                except OSError as e:
                    if doc is not None and doc.status == "indexed":
                        # Readable before, not now: kept and marked, never replaced by a
                        # failure (a permission change or a share dropping mid-scan).
                        self._hold([doc], {doc.path: FILE_NOT_ALLOWED}, report)
                    elif isinstance(e, PermissionError):
                        self._fail(report, entry, "", reasons.NO_PERMISSION)
                    else:
                        self._fail(report, entry, "", reasons.DISK_PROBLEM)
                    done += 1
                    continue
                if not reread and not again and doc is not None and doc.sha256 == sha:
                    self.store.touch_doc(doc.id, entry.size, entry.mtime_ns)
                    report.unchanged.append(FileOutcome(entry.path, "unchanged"))
                    done += 1
                    continue
                moved = missing[sha].pop() if missing.get(sha) else None
                if moved is not None:
                    self._move(doc, moved, entry)
                    report.moved.append(
                        FileOutcome(entry.path, "moved", f"from {moved.path}", moved.n_chunks)
                    )
                    done += 1
                    continue
                twins = [] if reread else self.store.docs_by_sha(sha)
                if twins:
                    n = self._copy(doc, twins[0], entry)
                    report.indexed.append(FileOutcome(entry.path, "copied", "", n))
                    done += 1
                    continue
                if sha in first_of_sha:
                    twins_later.append((entry, sha))
                    continue
                first_of_sha[sha] = entry.path
                if pool is None:
                    pool = ParsePool(
                        self.embedder.tokenizer_file,
                        self.settings.chunk_tokens,
                        self.settings.chunk_overlap,
                        workers=self.settings.parse_workers,
                        helpers=self.settings.parse_helpers,
                        time_limit=self.settings.file_time_limit,
                        mem_limit=self.settings.file_mem_limit,
                        header_tokens=self.settings.header_tokens,
                        ocr=self.settings.ocr,
                        ocr_dpi=self.settings.ocr_dpi,
                        ocr_threads=self.settings.ocr_threads,
                    )
                    parse_started = time.monotonic()
                queued[expected] = (entry, sha)
                pool.submit(ParseTask(expected, entry.path))
                expected += 1
                tell("scanning", entry.path)

            # 2. Collect parsed files; embed and write them in batches.
            received = 0
            buffered = 0
            started_embedding = False
            while received < expected:
                assert pool is not None
                if cancel.cancelled:
                    raise Cancelled()
                waited = time.monotonic()
                try:
                    res = pool.results.get_nowait()
                except queue.Empty:
                    # Nothing parsed yet and nothing to embed: a helper reader may start on
                    # the next file with the core the embedder leaves idle.
                    pool.hungry.set()
                    try:
                        res = pool.results.get(timeout=0.2)
                    except queue.Empty:
                        if pool.broken and pool.results.empty():
                            raise FolioError(
                                pool.error or "The document readers stopped."
                            ) from None
                        continue
                    finally:
                        report.parse_wait_seconds += time.monotonic() - waited
                    pool.hungry.clear()
                if isinstance(res, PageProgress):
                    # A scan is being read page by page: say where, it takes a while.
                    tell(
                        "indexing",
                        res.path,
                        detail=f"page {res.page} of {res.pages} (reading the scan)",
                    )
                    continue
                received += 1
                entry, sha = queued.pop(res.key)
                if res.error:
                    self._fail(report, entry, sha, res.error, res.kind)
                    done += 1
                else:
                    pending.append(_Pending(entry, sha, res))
                    buffered += len(res.chunks)
                tell("indexing", entry.path)
                if (
                    buffered >= self.settings.embed_buffer
                    or len(pending) >= self.settings.flush_files
                    or received == expected
                    # The first file's chunks go to the model at once: it would sit idle
                    # while the next files are read.
                    or (not started_embedding and buffered > 0)
                ):
                    started_embedding = True
                    done += self._flush(pending, report, cancel, lambda: tell("embedding"))
                    pending, buffered = [], 0
                    tell("indexing", force=True)
                if time.monotonic() - last_checkpoint > self.settings.checkpoint_seconds:
                    self.ann.save()
                    last_checkpoint = time.monotonic()

            for entry, sha in twins_later:
                twins = self.store.docs_by_sha(sha)
                if twins:
                    n = self._copy(by_path.get(entry.path), twins[0], entry)
                    report.indexed.append(FileOutcome(entry.path, "copied", "", n))
                else:
                    first = self.store.doc_by_path(first_of_sha[sha])
                    why = first.reason if first is not None and first.reason else ""
                    why = why or reasons.TWIN_FAILED
                    self._fail(report, entry, sha, why)
                done += 1

            # 3. Files that are gone and were not moved; files that are back.
            for gone in missing.values():
                for d in gone:
                    self._remove(d)
                    report.removed.append(FileOutcome(d.path, "removed"))
            for d in existing:
                if d.path not in seen and d.status != "indexed":
                    self._remove(d)
            if back:
                self.store.begin()
                try:
                    self.store.mark_available(back)
                    self.store.commit()
                except BaseException:
                    self.store.rollback()
                    raise
            finished = True
        except Cancelled:
            report.cancelled = True
            finished = True
        finally:
            if pool is not None:
                pool.close()
            if finished and self.ann.dirty:
                self.ann.compact(self.store)
            if self.ann.dirty:
                try:
                    self.ann.save()
                except StorageError:
                    if finished:
                        raise
                    # Another error is on its way out and is the one to report; the vector
                    # file is brought in line with SQLite at the next open.
        report.seconds = time.monotonic() - started
        tell("done", force=True)
        return report

    # -- steps --------------------------------------------------------------------------

    def _flush(
        self,
        pending: list[_Pending],
        report: IndexReport,
        cancel: CancelToken,
        tick: Callable[[], None],
    ) -> int:
        """Embed the chunks of ``pending`` documents and write them in one transaction."""
        if not pending:
            return 0
        texts = [
            embedding_text(p.result.contexts[i] if i < len(p.result.contexts) else "", c.text)
            for p in pending
            for i, c in enumerate(p.result.chunks)
        ]
        # Each document's label (organisation, form, period, file name) is embedded too: the
        # document index that routes a question to the right report.
        labels = [_label(p) for p in pending]
        # A passage already embedded in this run (the same boilerplate in many reports) or
        # still unchanged in the previous version of an edited file gets its vector again
        # instead of another pass through the model: same text, same vector.
        for p in pending:
            before = self.store.doc_by_path(p.entry.path)
            if before is not None:
                for text, vec in self.store.doc_texts_and_vectors(before.id):
                    self._remember(text, vec)
        vectors = np.empty((len(texts), self.embedder.dim), dtype=np.float32)
        todo: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            known = self._known.get(text)
            if known is not None and known.shape == (self.embedder.dim,):
                vectors[i] = known
            else:
                todo.setdefault(text, []).append(i)
        report.chunks_reused += len(texts) - len(todo)

        def between(n: int) -> None:
            report.chunks_embedded += n
            tick()
            if cancel.cancelled:
                raise Cancelled()

        # A Cancelled raised between batches leaves nothing of this batch written; the next
        # run embeds it again.
        t0 = time.monotonic()
        unique = list(todo)
        fresh = self.embedder.embed(
            unique, self.settings.embed_batch, between, streams=self.settings.embed_streams
        )
        label_vectors = self.embedder.embed(labels, self.settings.embed_batch)
        report.embed_seconds += time.monotonic() - t0
        for text, vec in zip(unique, fresh, strict=True):
            vectors[todo[text]] = vec
            self._remember(text, vec)
        added_ids: list[int] = []
        added_vecs: list[np.ndarray] = []
        dropped: list[int] = []
        offset = 0
        self.store.begin()
        try:
            for p, label_vector in zip(pending, label_vectors, strict=True):
                n = len(p.result.chunks)
                vecs = vectors[offset : offset + n]
                offset += n
                _doc_id, ids, old = self.store.put_indexed(
                    p.entry.path,
                    p.entry.size,
                    p.entry.mtime_ns,
                    p.sha,
                    p.result.kind,
                    p.result.n_pages,
                    p.result.warnings,
                    p.result.chunks,
                    vecs,
                    contexts=p.result.contexts,
                    profile=p.result.profile,
                    doc_vector=label_vector,
                    ocr_pages=p.result.ocr_pages,
                )
                added_ids.extend(ids)
                added_vecs.append(vecs)
                dropped.extend(old)
            self.store.commit()
        except BaseException:
            self.store.rollback()
            raise
        self.ann.remove(dropped)
        if added_ids:
            self.ann.add(added_ids, np.concatenate(added_vecs))
        for p in pending:
            reason = " ".join(p.result.warnings)
            report.indexed.append(
                FileOutcome(p.entry.path, "indexed", reason, len(p.result.chunks))
            )
        return len(pending)

    def _remember(self, text: str, vec: np.ndarray) -> None:
        self._known[text] = vec
        self._known.move_to_end(text)
        while len(self._known) > _REMEMBER:
            self._known.popitem(last=False)

    def _fail(
        self, report: IndexReport, entry: FileEntry, sha: str, reason: str, kind: str = ""
    ) -> None:
        report.failed.append(FileOutcome(entry.path, "failed", reason))
        self._record_failure(entry.path, entry.size, entry.mtime_ns, sha, kind, reason)

    def _record_failure(
        self, path: str, size: int, mtime_ns: int, sha: str, kind: str, reason: str
    ) -> None:
        self.store.begin()
        try:
            dropped = self.store.put_failed(path, size, mtime_ns, sha, kind, reason)
            self.store.commit()
        except BaseException:
            self.store.rollback()
            raise
        self.ann.remove(dropped)

    def _move(self, doc_at_path: DocRow | None, moved: DocRow, entry: FileEntry) -> None:
        self.store.begin()
        try:
            dropped: list[int] = []
            if doc_at_path is not None:
                dropped = self.store.delete_doc(doc_at_path.id)
            self.store.move_doc(moved.id, entry.path, entry.size, entry.mtime_ns)
            self.store.commit()
        except BaseException:
            self.store.rollback()
            raise
        self.ann.remove(dropped)

    def _copy(self, doc_at_path: DocRow | None, twin: DocRow, entry: FileEntry) -> int:
        self.store.begin()
        try:
            dropped: list[int] = []
            if doc_at_path is not None:
                dropped = self.store.delete_doc(doc_at_path.id)
            _doc_id, ids = self.store.copy_doc(twin, entry.path, entry.size, entry.mtime_ns)
            self.store.commit()
        except BaseException:
            self.store.rollback()
            raise
        self.ann.remove(dropped)
        labels, vecs = self.store.vectors(ids, self.ann.dim)
        self.ann.add(labels, vecs)
        return len(ids)

    def _hold(
        self, existing: list[DocRow], unreachable: dict[str, str], report: IndexReport
    ) -> set[str]:
        """Keep the documents under folders/files that cannot be reached now, marked with the
        reason; returns their paths. Nothing is deleted or re-embedded. A folder that holds
        no document of the collection (a new folder Folio may not open, a path typed wrong)
        is a failure of this run, as any file that cannot be read."""
        if not unreachable:
            return set()
        by_reason: dict[str, list[int]] = {}
        held: set[str] = set()
        holding: set[str] = set()
        for d in existing:
            # The deepest unreachable folder that holds the document gives the reason.
            where = [r for r in unreachable if _under(d.path, [r])]
            if where:
                deepest = max(where, key=len)
                why = unreachable[deepest]
                held.add(d.path)
                if d.status == "indexed":
                    holding.add(deepest)
                if d.unavailable != why:
                    by_reason.setdefault(why, []).append(d.id)
        self.store.begin()
        try:
            for why, ids in by_reason.items():
                self.store.mark_unavailable(ids, why)
            self.store.commit()
        except BaseException:
            self.store.rollback()
            raise
        for path, why in sorted(unreachable.items()):
            if path in holding:
                report.unavailable.append(FileOutcome(path, "unavailable", why))
            else:
                report.failed.append(FileOutcome(path, "failed", why))
        return held

    def _remove(self, doc: DocRow) -> None:
        self.store.begin()
        try:
            dropped = self.store.delete_doc(doc.id)
            self.store.commit()
        except BaseException:
            self.store.rollback()
            raise
        self.ann.remove(dropped)
