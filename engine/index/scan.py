"""Walk the folders of a collection: every regular file, once, without following link loops."""

from __future__ import annotations

import os
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


def walk(roots: list[Path]) -> Iterator[FileEntry | ScanProblem]:
    """Yield each file under ``roots`` (or the root itself if it is a file), sorted by path.

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
        except OSError:
            yield ScanProblem(str(d), reasons.FOLDER_DISK_PROBLEM)
            return
        ident = (st.st_dev, st.st_ino)
        if ident in seen_dirs:
            return  # a link loop, or the same folder reached twice
        seen_dirs.add(ident)
        try:
            with os.scandir(d) as it:
                items = sorted(it, key=lambda e: e.name)
        except PermissionError:
            yield ScanProblem(str(d), reasons.FOLDER_NO_PERMISSION)
            return
        except OSError:
            yield ScanProblem(str(d), reasons.FOLDER_DISK_PROBLEM)
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
        if root.is_dir():
            yield from walk_dir(root)
        elif root.exists() or root.is_symlink():
            e = entry(root)
            if e is not None:
                yield e
        else:
            yield ScanProblem(str(root), "not found")
