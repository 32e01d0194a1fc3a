"""Folder watching: file-system events on a collection's folders, debounced into one callback.

The callback gets the set of changed paths once things have been quiet for ``debounce``
seconds; the caller then re-indexes (incrementally: unchanged files cost a stat call). Events
are only a hint: the re-index itself compares the folder with the index, so a missed or
duplicated event cannot leave the index wrong.

A folder that cannot be reached (a USB stick or network drive not connected) cannot be watched:
it is checked again every ``recheck`` seconds, and when it is back the callback gets it as a
change, so its documents are checked (and nothing unchanged is embedded again).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from .index.scan import probe

ChangeCallback = Callable[[set[Path]], None]
# Temporary files that editors and office suites write next to a document while saving.
_IGNORED_PREFIXES = ("~$", ".~lock.", ".#")
_IGNORED_SUFFIXES = (".tmp", ".swp", ".part", ".crdownload", "~")


def _ignored(path: str) -> bool:
    name = os.path.basename(path)
    return name.startswith(_IGNORED_PREFIXES) or name.endswith(_IGNORED_SUFFIXES)


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: FolderWatcher) -> None:
        self._w = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return  # reads do not change anything
        if event.is_directory and event.event_type == "modified":
            return  # a folder's own timestamp: its files' events say what changed
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            path = os.fsdecode(raw) if raw else ""
            if path and not _ignored(path):
                self._w._note(Path(path))


class FolderWatcher:
    """Watch folders (recursively) and files; call ``on_change`` after a quiet period."""

    def __init__(
        self, on_change: ChangeCallback, debounce: float = 1.0, recheck: float = 5.0
    ) -> None:
        self._on_change = on_change
        self.debounce = debounce
        self.recheck = recheck
        self._absent: set[Path] = set()  # roots not reachable at the last look
        self._last_check = time.monotonic()
        self._observer = Observer()
        self._observer.daemon = True
        self._lock = threading.Lock()
        self._pending: set[Path] = set()
        self._last = 0.0
        self._roots: dict[Path, object] = {}
        self._files: set[Path] = set()
        self._dirs: set[Path] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="folio-watch", daemon=True)
        self._started = False

    @property
    def roots(self) -> list[Path]:
        return sorted(self._roots)

    def start(self) -> None:
        if not self._started:
            self._observer.start()
            self._thread.start()
            self._started = True

    def stop(self) -> None:
        self._stop.set()
        if self._started:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._thread.join(timeout=5)

    def set_roots(self, roots: Iterable[Path]) -> list[str]:
        """Watch exactly these folders (recursively) and files; returns the problems found."""
        dirs: set[Path] = set()
        files: set[Path] = set()
        absent: set[Path] = set()
        problems = []
        for root in roots:
            root = Path(root).absolute()
            if probe(root):
                absent.add(root)
                problems.append(f"{root}: not found or not reachable now, checked again later")
            elif root.is_dir():
                dirs.add(root)
            elif root.is_file():
                files.add(root)
        # Folders to schedule: each folder root recursively; a file root's folder on its own.
        wanted = {d: True for d in dirs}
        for f in files:
            wanted.setdefault(f.parent, False)
        # Never hold our lock while calling into the observer: its dispatch thread holds the
        # observer's lock while it calls ``_note``, which takes ours (lock-order inversion).
        with self._lock:
            self._dirs = dirs
            self._files = files
            self._absent = absent
            old = dict(self._roots)
        for folder, watch in old.items():
            if folder not in wanted:
                self._observer.unschedule(watch)  # type: ignore[arg-type]
        added: dict[Path, object] = {}
        for folder, recursive in wanted.items():
            if folder not in old:
                try:
                    added[folder] = self._observer.schedule(
                        _Handler(self), str(folder), recursive=recursive
                    )
                except OSError as exc:
                    problems.append(f"{folder}: cannot watch ({exc.strerror or exc})")
        with self._lock:
            self._roots = {f: w for f, w in old.items() if f in wanted} | added
        return problems

    def _note(self, path: Path) -> None:
        with self._lock:
            # A file root's folder also holds files that are not in the collection: skip those.
            relevant = path in self._files or any(
                d == path or d in path.parents for d in self._dirs
            )
            if relevant:
                self._pending.add(path)
                self._last = time.monotonic()

    def _recheck_absent(self) -> None:
        """Roots that were not reachable and are now: reported as changed (once)."""
        if not self._absent or time.monotonic() - self._last_check < self.recheck:
            return
        self._last_check = time.monotonic()
        with self._lock:
            absent = set(self._absent)
        back = {root for root in absent if not probe(root)}
        if back:
            with self._lock:
                self._absent -= back
                self._pending |= back
                self._last = time.monotonic()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._recheck_absent()
            with self._lock:
                ready = self._pending and time.monotonic() - self._last >= self.debounce
                batch = set(self._pending) if ready else set()
                if ready:
                    self._pending.clear()
            if batch:
                try:
                    self._on_change(batch)
                except Exception:  # the callback's own errors must not stop watching
                    import logging

                    logging.getLogger("folio.watch").exception("watch callback failed")
