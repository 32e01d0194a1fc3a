"""Keeping collections up to date: the indexing queue, folder watching and re-embedding.

``IndexingController`` owns the work; the window only shows what it says through signals
(the progress bar, the status line, the list of files that could not be read, notices and the
re-embedding offer). Every engine call runs in an ``Operation`` on the index executor (one job
at a time) or, for reading a collection's folders, on the read executor; the GUI thread never
waits on the engine.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from engine import Library, Progress
from engine.errors import EmbeddingModelMismatch
from engine.index.scan import FileEntry, walk
from engine.reembed import ReembedNeeded, duration
from engine.reembed import explain as explain_mismatch
from engine.types import IndexReport
from engine.watch import FolderWatcher

from .loadbar import time_left
from .memory import release_free_memory
from .tasks import Executor, Operation

log = logging.getLogger("folio.desktop")

Roots = dict[str, list[Path]]
Refuses = Callable[[str | None, str], bool]  # (collection, action) -> refused (and said why)


def never_refused(_name: str | None, _action: str) -> bool:
    return False


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


class _WatchBridge(QObject):
    """Carries the watcher's callback (on its own thread) to the GUI thread as a signal."""

    changed = Signal(object)


class IndexingController(QObject):
    """Indexes collections one run at a time, watches their folders and re-embeds them.

    Signals carry everything the window shows; none of them is sent from a worker thread.
    """

    started = Signal()  # a run began: progress unknown yet, Cancel available
    progress = Signal(int, int)  # done, total (files, or passages when re-embedding)
    stopped = Signal()  # the run ended: finished, stopped or failed
    status = Signal(str)  # a sentence for the status line
    indexed = Signal(object)  # IndexReport: a run finished (or was stopped)
    failed = Signal(str)  # a run could not finish: why, as a sentence
    pending = Signal(str)  # a collection's files are listed, about to be indexed
    failures = Signal(object)  # list[(path, reason)]: files that could not be read
    notices = Signal(object)  # list[str]: every repair notice of this app run so far
    changed = Signal()  # the collections changed: read them again
    reembed_offered = Signal(str)  # why a collection cannot be searched, and what it takes
    reembed_enabled = Signal(bool)  # whether "Re-embed now" can be pressed
    reembedded = Signal(str)  # a collection can be searched again

    def __init__(
        self,
        library: Library,
        index_executor: Executor,
        read_executor: Executor,
        refuses: Refuses = never_refused,
    ) -> None:
        super().__init__()
        self.library = library
        # Says (and returns True) when a change is refused: a shared collection is read-only.
        self._refuses = refuses
        self._index_executor = index_executor
        self._read_executor = read_executor
        self.current_op: Operation | None = None
        self.queue: list[tuple[str, list[Path] | None]] = []
        self._roots: Roots = {}
        self._caught_up = False
        self._fresh: set[str] = set()  # collections indexed since the app started
        self._pending_files: dict[str, set[str]] = {}  # collection -> files not indexed yet
        self._notices: list[str] = []
        self.last_summary = ""
        self._reembed_name = ""
        self._reembed_waiting = False  # pressed while indexing ran: starts when it ends
        self._reembed_op: Operation | None = None
        self._bridge = _WatchBridge()
        self._bridge.changed.connect(self._on_files_changed)
        self.watcher = FolderWatcher(self._bridge.changed.emit, debounce=1.0)
        self.watcher.start()

    @property
    def running(self) -> bool:
        """True while an indexing or re-embedding run is in progress."""
        return self.current_op is not None

    def idle(self) -> bool:
        """Nothing running and nothing waiting."""
        return self.current_op is None and not self.queue

    def pending_files(self, name: str) -> set[str]:
        """The names of the files of ``name`` listed for the run in progress, not indexed yet."""
        return set(self._pending_files.get(name, ()))

    def stop(self) -> None:
        self.watcher.stop()

    # -- the indexing queue -------------------------------------------------------------

    def queue_index(self, name: str, paths: list[Path] | None = None) -> None:
        """Index ``paths`` into collection ``name`` (None: re-scan its folders), one run at a
        time; a re-scan already waiting for the same collection is not queued twice."""
        if self._refuses(name, "add"):
            return
        if paths is None and (name, None) in self.queue:
            return
        self.queue.append((name, paths))
        if self.current_op is None:
            self._start_next_index()

    def _start_next_index(self) -> None:
        waiting = self._reembed_waiting and self.current_op is None
        if waiting and self.reembed_now() is not None:
            return
        if not self.queue:
            return
        name, paths = self.queue.pop(0)
        self._fresh.add(name)
        library = self.library

        def work(op: Operation) -> IndexReport:
            coll = library.get_or_create(name)
            try:
                # List what is about to be indexed, so it shows as "pending" right away.
                roots = paths or [Path(r) for r in coll.roots()]
                found = [e.path for e in walk(roots) if isinstance(e, FileEntry)]
                op.progress.emit(("pending", name, found))
                try:
                    return coll.index(paths, op.progress.emit, op.cancel)
                except EmbeddingModelMismatch:
                    raise explain_mismatch(coll) from None
            finally:
                if coll.repairs:  # e.g. a damaged vector file rebuilt
                    op.progress.emit(("notices", name, list(coll.repairs)))
                coll.close()
                release_free_memory()  # what this run freed, back to the system

        op = Operation(work)
        op.progress.connect(self._on_progress)
        op.succeeded.connect(self._on_indexed)
        op.failed.connect(self._on_failed)
        op.failed.connect(lambda _m, op=op: self._offer_if_needed(op))
        self.current_op = op
        self.started.emit()
        self.status.emit(f"Indexing {name}…")
        self._index_executor.submit(op)

    def cancel(self) -> None:
        """Stop the run in progress and forget the waiting ones."""
        self.queue.clear()
        if self._reembed_waiting:
            self._reembed_waiting = False
            self.reembed_enabled.emit(True)
        if self.current_op is not None:
            self.current_op.cancel.cancel()

    def _on_progress(self, p: Progress | tuple[str, str, list[str]]) -> None:
        if isinstance(p, tuple):
            kind, name, files = p
            if kind == "notices":
                self._add_notices(files)
                return
            self._pending_files[name] = {Path(f).name for f in files}
            self.pending.emit(name)
            return
        if p.stage == "waiting":  # another Folio window or command is updating it
            self.status.emit(p.current)
            return
        if p.files_total:
            self.progress.emit(p.files_done, p.files_total)
        eta = f", {time_left(p.eta_seconds)} left" if p.eta_seconds else ""
        # A scan is read page by page: say which file and page, it takes a while.
        detail = f" — {Path(p.current).name}, {p.detail}" if p.detail and p.current else ""
        self.status.emit(
            f"Indexing: {p.files_done} of {p.files_total} files, {p.chunks_embedded} passages"
            f"{eta}{detail}"
        )

    def _on_indexed(self, report: IndexReport) -> None:
        self._pending_files.clear()
        self.current_op = None
        self.stopped.emit()
        failed = f", {len(report.failed)} could not be read" if report.failed else ""
        if report.removed:  # their files are gone from folders that are there
            folders = sorted({str(Path(o.path).parent) for o in report.removed})
            where = folders[0] if len(folders) == 1 else f"{len(folders)} folders"
            failed += f", {len(report.removed)} removed (deleted from {where})"
        n_away = len(report.unavailable)
        away = (
            f" {n_away} folder(s) or file(s) cannot be reached now; their documents are kept "
            "(greyed) and searchable."
            if n_away
            else ""
        )
        word = "Stopped" if report.cancelled else "Up to date"
        self.last_summary = (
            f"{word}: {len(report.indexed)} indexed, {len(report.unchanged)} unchanged{failed}."
            f"{away}"
        )
        if report.failed:
            self.failures.emit([(f.path, f.reason) for f in report.failed])
        self.status.emit(self.last_summary)
        self.indexed.emit(report)
        self.changed.emit()
        self._start_next_index()

    def _on_failed(self, message: str) -> None:
        self._pending_files.clear()
        self.current_op = None
        self.stopped.emit()
        self.status.emit(message)
        self.failed.emit(message)
        self._start_next_index()

    def _add_notices(self, notices: list[str]) -> None:
        new = [n for n in notices if n and n not in self._notices]
        if not new:
            return
        self._notices.extend(new)
        for n in new:
            log.warning("%s", n)
        self.notices.emit(list(self._notices))

    # -- folder watching ----------------------------------------------------------------

    def refresh_watch(self) -> None:
        """Watch every collection's folders; at start, re-scan each collection once so changes
        made while Folio was closed are picked up."""
        library = self.library
        watcher = self.watcher

        def work(_op: Operation) -> tuple[Roots, list[str], dict[str, str]]:
            roots: Roots = {}
            rebuilt: dict[str, str] = {}  # collections rebuilt after damage, to index again
            for name in library.names():
                with library.open(name) as coll:
                    roots[name] = [Path(r) for r in coll.roots()]
                    if coll.rebuilt_notice:
                        rebuilt[name] = coll.rebuilt_notice
                    elif coll.index_outdated and coll.roots():
                        # Indexed by an earlier Folio: read again now, with progress.
                        rebuilt[name] = coll.outdated_notice
            problems = watcher.set_roots([r for rs in roots.values() for r in rs])
            return roots, problems, rebuilt

        op = Operation(work)
        op.succeeded.connect(self._on_watch_roots)
        self._read_executor.submit(op)

    def _on_watch_roots(self, result: tuple[Roots, list[str], dict[str, str]]) -> None:
        self._roots, _problems, rebuilt = result
        for name, notice in rebuilt.items():
            if notice not in self._notices:  # once per app run; indexing then clears it
                self._add_notices([notice])
                self.queue_index(name)
        if not self._caught_up:
            self._caught_up = True
            for name, roots in self._roots.items():
                if roots and name not in self._fresh:
                    self.queue_index(name)
        elif self.current_op is None and not self.queue:
            self._show_watch_status()

    def _show_watch_status(self) -> None:
        n = len({r for rs in self._roots.values() for r in rs})
        if n:
            watching = f"Watching {n} folder{'s' if n != 1 else ''} — up to date"
            self.status.emit(f"{self.last_summary} {watching}".strip())

    def _on_files_changed(self, paths: set[Path]) -> None:
        for name, roots in self._roots.items():
            if any(_under(p, r) for p in paths for r in roots):
                self.queue_index(name)

    # -- re-embedding -------------------------------------------------------------------

    def reembed_with(self, name: str, model_dir: str) -> Operation:
        """Re-embed a collection with its tuned embedding model (the user accepted it)."""
        library = self.library

        def work(op: Operation) -> int:
            with library.open(name) as coll:
                return int(coll.reembed(cancel=op.cancel, model_dir=Path(model_dir)))

        op = Operation(work)
        op.succeeded.connect(
            lambda n: self.status.emit(
                f"'{name}' now searches with its tuned model ({n} passages re-embedded)."
            )
        )
        op.failed.connect(self.status.emit)
        self.status.emit(f"Re-embedding '{name}' with its tuned model…")
        return self._index_executor.submit(op)

    def _offer_if_needed(self, op: Operation) -> None:
        if isinstance(op.error, ReembedNeeded):
            self.offer_reembed(op.error)

    def offer_reembed(self, need: ReembedNeeded) -> None:
        """Say why the collection cannot be searched and offer to re-embed it."""
        if self.current_op is not None and self.current_op is self._reembed_op:
            return  # already being re-embedded (a question asked meanwhile says the same)
        if self._refuses(need.collection, "reembed"):
            return
        self._reembed_name = need.collection
        self.reembed_offered.emit(str(need))
        self.reembed_enabled.emit(True)

    def reembed_now(self) -> Operation | None:
        """Re-embed the offered collection with the current model, with progress and Cancel."""
        name = self._reembed_name
        if not name:
            self._reembed_waiting = False
            return None
        if self.current_op is not None:
            # One job at a time: the re-embedding starts as soon as this one has finished.
            self._reembed_waiting = True
            self.reembed_enabled.emit(False)
            self.status.emit(
                f"Re-embedding '{name}' starts as soon as the current indexing has finished."
            )
            return None
        self._reembed_waiting = False
        library = self.library
        started = time.monotonic()

        def work(op: Operation) -> int:
            with library.open(name) as coll:
                return int(coll.reembed(progress=op.progress.emit, cancel=op.cancel))

        def show(p: object) -> None:
            if not isinstance(p, Progress) or not p.files_total:
                return
            self.progress.emit(p.files_done, p.files_total)
            left = ""
            if p.files_done:
                rest = (time.monotonic() - started) * (p.files_total - p.files_done) / p.files_done
                left = f", {duration(rest)} left"
            self.status.emit(
                f"Re-embedding '{name}': {p.files_done} of {p.files_total} passages{left}."
            )

        def done(n: int) -> None:
            self.current_op = None
            self.stopped.emit()
            self._reembed_name = ""
            self.reembedded.emit(name)
            # Kept as the last job's summary: the watch status that follows shows it too.
            self.last_summary = f"'{name}' can be searched again: {n} passages re-embedded."
            self.status.emit(self.last_summary)
            self.changed.emit()
            self._start_next_index()

        def failed(message: str) -> None:
            self.current_op = None
            self.stopped.emit()
            self.reembed_enabled.emit(True)
            self.status.emit(message)
            self._start_next_index()

        op = Operation(work)
        op.progress.connect(show)
        op.succeeded.connect(done)
        op.failed.connect(failed)
        self.current_op = op  # Cancel stops it; indexing waits its turn
        self._reembed_op = op
        self.reembed_enabled.emit(False)
        self.started.emit()
        self.status.emit(f"Re-embedding '{name}'…")
        return self._index_executor.submit(op)
