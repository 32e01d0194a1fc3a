"""Parse files in worker processes, each file under a time and memory limit.

A reader that hangs, eats all memory or crashes the interpreter takes down only its worker:
the file gets a per-file error, a fresh worker starts, and the run goes on. Workers read and
chunk (in the embedding model's tokens); the parent process only embeds and writes, so parsing
overlaps with embedding on another core. Helper workers read only while the embedder has
nothing to do (``hungry``), so the cores are busy without reading ever crowding out embedding.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .. import reasons
from ..types import Box, ChunkSpan


@dataclass(frozen=True)
class ParseTask:
    key: int
    path: str


@dataclass(frozen=True)
class PageProgress:
    """A worker is reading page ``page`` of ``pages`` of a file by OCR (a slow step)."""

    key: int
    path: str
    page: int
    pages: int


@dataclass
class ParseResult:
    key: int
    path: str
    kind: str = ""
    n_pages: int = 0
    warnings: list[str] = field(default_factory=list)
    chunks: list[ChunkSpan] = field(default_factory=list)
    # The context header of each chunk (same order) and the document's profile (JSON).
    contexts: list[str] = field(default_factory=list)
    profile: str = ""
    error: str = ""
    seconds: float = 0.0
    # Pages read by OCR, with the box of each word on them (for highlights).
    ocr_pages: dict[int, tuple[Box, ...]] = field(default_factory=dict)


def _worker_main(
    conn: Connection,
    tokenizer_file: str,
    max_tokens: int,
    overlap: int,
    mem_limit: int,
    header_tokens: int,
    ocr_enabled: bool = True,
    ocr_dpi: int = 200,
    ocr_threads: int = 0,
) -> None:
    """Loop: receive a path, read and chunk it, send the result back. While a file's pages
    are read by OCR, a PageProgress goes back before each page."""
    if mem_limit > 0:
        try:
            import resource  # POSIX only; on Windows the time limit still applies

            resource.setrlimit(resource.RLIMIT_AS, (mem_limit, mem_limit))
        except (ImportError, ValueError, OSError):
            pass
    from ..errors import ReaderError
    from . import OcrOptions, read_file
    from .chunker import ChunkSettings, FastTokenizerOffsets, chunk_sections
    from .context import chunk_contexts
    from .profile import profile_document

    tokens = FastTokenizerOffsets(tokenizer_file)
    settings = ChunkSettings(max_tokens=max_tokens, overlap_tokens=overlap)
    conn.send(READY)
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        started = time.monotonic()
        result = ParseResult(key=task.key, path=task.path)

        def on_page(page: int, pages: int, task: ParseTask = task) -> None:
            conn.send(PageProgress(task.key, task.path, page, pages))

        ocr = OcrOptions(enabled=ocr_enabled, dpi=ocr_dpi, threads=ocr_threads, on_page=on_page)
        try:
            doc = read_file(Path(task.path), ocr=ocr)
            result.kind = doc.kind
            result.ocr_pages = {s.page: s.boxes for s in doc.sections if "ocr" in s.flags}
            result.n_pages = len(doc.sections)
            result.warnings = list(doc.warnings)
            result.chunks = chunk_sections(doc.sections, tokens, settings)
            if not result.chunks:
                result.error = reasons.NO_TEXT
            else:
                profile = profile_document(Path(task.path).name, doc)
                result.profile = profile.to_json()
                if header_tokens > 0:
                    result.contexts = [
                        _cut(h, tokens, header_tokens)
                        for h in chunk_contexts(doc.sections, result.chunks, profile, doc.kind)
                    ]
        except ReaderError as e:
            result.error = str(e) or reasons.UNREADABLE
        except MemoryError:
            result.error = reasons.OUT_OF_MEMORY
            result.chunks = []
        except RecursionError:
            result.error = reasons.NESTED
        except Exception as e:  # a reader bug must not stop the run; its words go to the log
            logging.getLogger("folio.ingest").warning(
                "reader failed on %s: %s: %s", task.path, type(e).__name__, str(e)[:300]
            )
            result.error = reasons.UNREADABLE
        result.seconds = time.monotonic() - started
        try:
            conn.send(result)
        except MemoryError:
            conn.send(ParseResult(task.key, task.path, error=reasons.OUT_OF_MEMORY))


def _cut(text: str, tokens: Any, limit: int) -> str:
    """``text`` cut to at most ``limit`` tokens of the embedding model, at a token start."""
    starts = tokens.token_starts(text)
    if len(starts) <= limit:
        return text
    return text[: starts[limit]].rstrip()


# What a reader process sends once it can read (its imports and tokenizer loaded). A file's time
# limit runs from then: on a busy computer starting a process can take longer than a short limit,
# and a file must not fail for that. Starting may take at most STARTUP_LIMIT seconds.
READY = "ready"
STARTUP_LIMIT = 60.0


class _Worker:
    def __init__(self, ctx: Any, args: tuple[Any, ...]) -> None:
        parent, child = ctx.Pipe()
        self.conn: Connection = parent
        self.proc = ctx.Process(target=_worker_main, args=(child, *args), daemon=True)
        self.proc.start()
        child.close()
        self.task: ParseTask | None = None
        self.started = 0.0
        # Set when the process has said READY: until then its file's clock is the start-up one.
        self.ready = False

    def stop(self, kill: bool = False) -> None:
        try:
            if kill:
                self.proc.kill()
            else:
                self.conn.send(None)
        except (OSError, ValueError, BrokenPipeError):
            pass
        self.proc.join(timeout=5 if not kill else 2)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(timeout=2)
        self.conn.close()


class ParsePool:
    """Feeds tasks to N workers from a manager thread; results come out of ``results``.

    ``helpers`` more workers take a task only while ``hungry`` is set: the consumer sets it
    when it is waiting for results with nothing else to do (the start of a run, a slow file),
    so that a core it would leave idle reads the next file instead.
    """

    def __init__(
        self,
        tokenizer_file: str,
        max_tokens: int,
        overlap: int,
        workers: int = 1,
        helpers: int = 0,
        time_limit: float = 120.0,
        mem_limit: int = 3 * 1024**3,
        header_tokens: int = 0,
        ocr: bool = True,
        ocr_dpi: int = 200,
        ocr_threads: int = 0,
    ) -> None:
        # forkserver: workers never inherit torch's threads or the parent's open databases.
        # Windows has no forkserver; spawn gives the same guarantee there, starting slower.
        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        self._ctx = mp.get_context(method)
        self._args = (
            tokenizer_file, max_tokens, overlap, mem_limit, header_tokens, ocr, ocr_dpi,
            ocr_threads,
        )  # fmt: skip
        self._n = max(1, workers)
        self._helpers = max(0, helpers)
        self.hungry = threading.Event()
        self._time_limit = time_limit
        self._todo: deque[ParseTask] = deque()
        self._lock = threading.Lock()
        # Parsed files, and PageProgress reports of files being read by OCR.
        self.results: queue.Queue[ParseResult | PageProgress] = queue.Queue()
        self._stop = threading.Event()
        self._workers: list[_Worker] = []
        # Set when the pool itself breaks (no reader process can start): the indexer stops
        # with this message instead of waiting forever for results.
        self.error = ""
        self._thread = threading.Thread(target=self._run, name="folio-parse", daemon=True)
        self._thread.start()

    def submit(self, task: ParseTask) -> None:
        with self._lock:
            self._todo.append(task)

    @property
    def busy(self) -> int:
        """Workers reading a file right now (helpers included)."""
        return sum(w.task is not None for w in self._workers)

    @property
    def broken(self) -> bool:
        return bool(self.error) or not self._thread.is_alive()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        from multiprocessing.connection import wait

        try:
            n = self._n + self._helpers
            self._workers = [_Worker(self._ctx, self._args) for _ in range(n)]
            while not self._stop.is_set():
                # Hand a task to each idle worker; to a helper only while the consumer waits.
                for i, w in enumerate(self._workers):
                    if w.task is None and (i < self._n or self.hungry.is_set()):
                        with self._lock:
                            task = self._todo.popleft() if self._todo else None
                        if task is not None:
                            w.task, w.started = task, time.monotonic()
                            try:
                                w.conn.send(task)
                            except (OSError, BrokenPipeError):
                                self._replace(w, reasons.CRASHED)
                busy = [w for w in self._workers if w.task is not None]
                if not busy:
                    time.sleep(0.01)
                    continue
                ready = wait([w.conn for w in busy], timeout=0.1)
                for w in busy:
                    if w.conn in ready:
                        try:
                            res: ParseResult | PageProgress | str = w.conn.recv()
                        except (EOFError, OSError):
                            code = w.proc.exitcode
                            why = reasons.CRASHED if code != -9 else reasons.KILLED_MEMORY
                            self._replace(w, why)
                            continue
                        if isinstance(res, str):  # READY: the file's own clock starts now
                            w.ready, w.started = True, time.monotonic()
                            continue
                        if isinstance(res, PageProgress):
                            # Each page read by OCR gets the time limit afresh: a long scan
                            # is slow, a stuck page is not.
                            w.started = time.monotonic()
                        else:
                            w.task = None
                        self.results.put(res)
                    elif time.monotonic() - w.started > (
                        self._time_limit if w.ready else max(self._time_limit, STARTUP_LIMIT)
                    ):
                        self._replace(w, reasons.timed_out(self._time_limit))
        except Exception as exc:  # the pool is unusable: say so, never hang the indexer
            logging.getLogger("folio.ingest").error(
                "reader processes failed: %s: %s", type(exc).__name__, exc
            )
            self.error = (
                "Folio could not start its document readers. Nothing was lost; try again, or "
                "restart Folio."
            )
        finally:
            for w in self._workers:
                w.stop(kill=self._stop.is_set())

    def _replace(self, w: _Worker, why: str) -> None:
        """Kill a stuck or dead worker, report its file as failed, start a fresh one."""
        task = w.task
        w.stop(kill=True)
        i = self._workers.index(w)
        self._workers[i] = _Worker(self._ctx, self._args)
        if task is not None:
            self.results.put(ParseResult(key=task.key, path=task.path, error=why))
