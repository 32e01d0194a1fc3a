"""Walk the folders of a collection: every regular file, once, without following link loops.

A folder that cannot be reached (a USB stick or network drive that is not connected, a folder
Folio may not open, a share that does not answer) is reported as a problem with ``folder=True``:
the indexer keeps its documents, marked unavailable, instead of deleting them.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .. import reasons

_SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv", ".folio"}


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class ScanProblem:
    path: str
    reason: str
    # True when a whole folder (or a collection's own file) could not be reached: what the
    # collection holds under it is kept, marked unavailable.
    folder: bool = False


# Seconds a collection's folder may take to answer before it counts as not reachable now.
PROBE_SECONDS = 10.0

NOT_CONNECTED = (
    "It cannot be reached now. If it is on a USB stick or a network drive, connect it and Folio "
    "checks it again; its documents stay searchable meanwhile."
)
NOT_ALLOWED = (
    "Folio is not allowed to open it now. Its documents stay searchable; ask whoever manages "
    "the folder to give you access again."
)
NOT_ANSWERING = (
    "It did not answer within {seconds:.0f} seconds (a slow or disconnected network "
    "drive). Its documents stay searchable; Folio checks it again later."
)


FILE_NOT_ALLOWED = (
    "Folio is not allowed to read this file now. It stays searchable; ask whoever manages the "
    "folder to give you access again."
)
VANISHED = reasons.VANISHED


def _folder_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return NOT_ALLOWED
    if exc.errno in (errno.ETIMEDOUT, errno.EHOSTDOWN, errno.EHOSTUNREACH):
        return NOT_ANSWERING.format(seconds=PROBE_SECONDS)
    return NOT_CONNECTED


# Probe threads still running, by path: a hung share gets one stuck thread, not one per look.
_probing: dict[str, threading.Thread] = {}
_probing_lock = threading.Lock()


def probe(root: Path, timeout: float = PROBE_SECONDS) -> str:
    """'' when ``root`` (a folder or file of a collection) can be read now, else why not.

    The check runs on a helper thread so that a network share that hangs costs at most
    ``timeout`` seconds (the thread is left to finish on its own).
    """
    key = str(root)
    with _probing_lock:
        earlier = _probing.get(key)
        if earlier is not None and earlier.is_alive():
            # The last look is still stuck (a share that hangs): no second thread piles up.
            return NOT_ANSWERING.format(seconds=timeout)
    result: list[str] = []

    def check() -> None:
        try:
            if root.is_dir():
                with os.scandir(root) as it:
                    next(it, None)
                result.append("")
            elif root.exists():
                with open(root, "rb"):
                    pass
                result.append("")
            else:
                # Deleted or disconnected look the same from here: the documents are kept
                # until the user removes the folder or file from the collection.
                result.append(NOT_CONNECTED)
        except OSError as exc:
            result.append(_folder_reason(exc))

    t = threading.Thread(target=check, name="folio-probe", daemon=True)
    with _probing_lock:
        _probing[key] = t
    t.start()
    t.join(timeout)
    if not t.is_alive():
        with _probing_lock:
            if _probing.get(key) is t:
                del _probing[key]
    if not result:
        return NOT_ANSWERING.format(seconds=timeout)
    return result[0]


def walk(
    roots: list[Path], probe_seconds: float = PROBE_SECONDS
) -> Iterator[FileEntry | ScanProblem]:
    """Yield each file under ``roots`` (or the root itself if it is a file), sorted by path.

    A root that cannot be reached now (see ``probe``) yields one ``ScanProblem(folder=True)``.

    Hidden files and folders are skipped; a symlink to a file is followed once, a symlink to a
    folder is followed unless it points back into a folder already walked (no loops).
    """
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[str] = set()

    def entry(p: Path) -> FileEntry | ScanProblem | None:
        key = str(p)
        if key in seen_files:
            return None
        seen_files.add(key)
        try:
            st = p.stat()
        except FileNotFoundError:
            return ScanProblem(key, reasons.VANISHED)
        except PermissionError:
            return ScanProblem(key, reasons.NO_PERMISSION)
        except OSError:
            return ScanProblem(key, reasons.DISK_PROBLEM)
        return FileEntry(key, st.st_size, st.st_mtime_ns)

    def walk_dir(d: Path) -> Iterator[FileEntry | ScanProblem]:
        try:
            st = d.stat()
        except OSError as e:
            yield ScanProblem(str(d), _folder_reason(e), folder=True)
            return
        ident = (st.st_dev, st.st_ino)
        if ident in seen_dirs:
            return  # a link loop, or the same folder reached twice
        seen_dirs.add(ident)
        try:
            with os.scandir(d) as it:
                items = sorted(it, key=lambda e: e.name)
        except OSError as e:
            yield ScanProblem(str(d), _folder_reason(e), folder=True)
            return
        for item in items:
            if item.name.startswith("."):
                continue
            p = Path(item.path)
            try:
                is_dir = item.is_dir(follow_symlinks=True)
                is_file = item.is_file(follow_symlinks=True)
            except OSError:
                is_dir = is_file = False
            if is_dir:
                if item.name in _SKIP_DIRS:
                    continue
                yield from walk_dir(p)
            elif is_file:
                found = entry(p)
                if found is not None:
                    yield found
            elif item.is_symlink():
                yield ScanProblem(str(p), reasons.BROKEN_LINK)

    for root in roots:
        root = Path(os.path.abspath(root))
        why = probe(root, probe_seconds)
        if why:
            yield ScanProblem(str(root), why, folder=True)
        elif root.is_dir():
            yield from walk_dir(root)
        else:
            e = entry(root)
            if e is not None:
                yield e
