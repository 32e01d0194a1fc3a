"""hnswlib vector index of one collection, kept in line with SQLite.

The file is written to a temporary name and renamed, so it is always either the old or the
new complete index. It may lag behind SQLite after a crash; ``reconcile`` then adds the vectors
of chunks it lacks (read back from SQLite) and drops labels whose chunk is gone, so there is
never a vector without a chunk nor a chunk without a vector.
"""

from __future__ import annotations

import errno
import hashlib
import os
import struct
from pathlib import Path

import hnswlib
import numpy as np

from ..errors import StorageError
from ..messages import storage_cause, what_to_do
from .base import CollectionStore

_M = 16
_EF_CONSTRUCTION = 100
_EF_SEARCH = 64


class VectorIndex:
    def __init__(self, path: Path, dim: int) -> None:
        self.path = path
        self.dim = dim
        self._index = self._new(1024)
        self._live: set[int] = set()
        self.dirty = False

    @staticmethod
    def _fresh(dim: int, capacity: int) -> hnswlib.Index:
        idx = hnswlib.Index(space="ip", dim=dim)
        idx.init_index(max_elements=capacity, ef_construction=_EF_CONSTRUCTION, M=_M)
        idx.set_ef(_EF_SEARCH)
        return idx

    def _new(self, capacity: int) -> hnswlib.Index:
        return self._fresh(self.dim, capacity)

    def __len__(self) -> int:
        return len(self._live)

    @property
    def labels(self) -> set[int]:
        return set(self._live)

    @property
    def _checksum_path(self) -> Path:
        return self.path.with_name(self.path.name + ".sha256")

    def load(self) -> bool:
        """Read the file if there is one; False when missing or damaged (rebuild then).

        The file is checked against the checksum written with it before hnswlib sees it, since
        hnswlib may crash on a damaged file rather than report it.
        """
        if not self.path.exists():
            return False
        try:
            expected = self._checksum_path.read_text("ascii").strip()
        except (OSError, UnicodeDecodeError):
            return False
        if _sha256(self.path) != expected:
            return False
        try:
            idx = hnswlib.Index(space="ip", dim=self.dim)
            idx.load_index(str(self.path))
            idx.set_ef(_EF_SEARCH)
            all_ids = idx.get_ids_list()
        except (RuntimeError, ValueError, OSError, MemoryError):
            return False
        self._index = idx
        # Labels that were marked deleted are still listed; reconcile() removes them from
        # the live set because their chunk is gone.
        self._live = {int(i) for i in all_ids}
        return True

    def stored_labels(self) -> set[int] | None:
        """The labels the file on disk holds as live vectors (those marked deleted left out),
        as it is, without reconciling; None when the file is missing or damaged."""
        probe = VectorIndex(self.path, self.dim)
        if not probe.load():
            return None
        live = set()
        for label in probe._live:
            try:
                probe._index.get_items([label])
            except RuntimeError:  # marked deleted in the file
                continue
            live.add(label)
        return live

    def reconcile(self, store: CollectionStore) -> tuple[int, int]:
        """Make the index hold exactly the chunks in ``store``. Returns (added, dropped)."""
        chunk_ids = store.chunk_ids()
        extra = self._live - chunk_ids
        for label in extra:
            self._mark_deleted(label)
        missing = chunk_ids - self._live
        if missing:
            ids, vecs = store.vectors(sorted(missing), self.dim)
            self.add(ids, vecs)
        if extra or missing:
            self.dirty = True
        return len(missing), len(extra)

    def rebuild(self, store: CollectionStore) -> None:
        ids, vecs = store.vectors(None, self.dim)
        self._index = self._new(max(1024, int(len(ids) * 1.25)))
        self._live = set()
        self.add(ids, vecs, threads=-1)
        self.dirty = True

    def compact(self, store: CollectionStore) -> bool:
        """Rebuild from ``store`` when more vectors are marked deleted than are live (at least
        1024 of them): hnswlib keeps deleted ones in memory and in the file, so a collection
        whose files are edited and deleted all day would otherwise grow without end, and every
        open would read and check the dead ones. True when it was rebuilt."""
        dead = self._index.element_count - len(self._live)
        if dead < max(1024, len(self._live)):
            return False
        self.rebuild(store)
        return True

    def add(self, ids: np.ndarray | list[int], vectors: np.ndarray, threads: int = 1) -> None:
        if len(ids) == 0:
            return
        labels = np.asarray(ids, dtype=np.int64)
        need = self._index.element_count + len(labels)
        if need > self._index.max_elements:
            self._index.resize_index(max(need, int(self._index.max_elements * 1.5)))
        self._index.add_items(np.asarray(vectors, dtype=np.float32), labels, num_threads=threads)
        self._live.update(int(x) for x in labels)
        self.dirty = True

    def remove(self, ids: list[int]) -> None:
        for label in ids:
            if label in self._live:
                self._mark_deleted(label)
                self.dirty = True

    def _mark_deleted(self, label: int) -> None:
        try:
            self._index.mark_deleted(int(label))
        except RuntimeError:
            pass  # already marked deleted in the file
        self._live.discard(int(label))

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity) best first."""
        n = len(self._live)
        if n == 0:
            return []
        k = min(k, n)
        q = np.asarray(vector, dtype=np.float32)
        while True:
            self._index.set_ef(max(_EF_SEARCH, 2 * k))
            try:
                labels, dists = self._index.knn_query(q, k=k)
                break
            except RuntimeError:
                # With many deleted elements the graph may not reach k live ones; ask for fewer.
                if k == 1:
                    return []
                k = max(1, k // 2)
        return [(int(lab), 1.0 - float(d)) for lab, d in zip(labels[0], dists[0], strict=True)]

    def save(self) -> None:
        """Write atomically: a temporary file, fsync, rename.

        hnswlib reports no write errors (a full disk leaves a truncated file, an unwritable
        folder no file at all), so the temporary file is checked to be complete before it
        replaces the old one. Raises StorageError; the old file is then left as it was.
        """
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp_sum = self._checksum_path.with_name(self._checksum_path.name + ".tmp")
        try:
            self._index.save_index(str(tmp))
            with tmp.open("rb+") as f:
                os.fsync(f.fileno())
            if not _complete(tmp, self._index.element_count):
                raise OSError(errno.ENOSPC, "the file was not written completely (disk full?)")
            digest = _sha256(tmp)
            os.replace(tmp, self.path)
            # A crash before the checksum is written only costs a rebuild at the next open.
            tmp_sum.write_text(digest, "ascii")
            os.replace(tmp_sum, self._checksum_path)
        except (OSError, RuntimeError) as exc:
            for leftover in (tmp, tmp_sum):
                try:
                    leftover.unlink()
                except OSError:
                    pass
            cause = storage_cause(exc)
            raise StorageError(
                f"Folio could not save the search index file because {cause}. Nothing indexed "
                "is lost: the file is rebuilt from the collection's database when it is next "
                f"opened; {what_to_do(cause).replace('try again', 'index again')}."
            ) from exc
        self.dirty = False


_HEADER = 96  # hnswlib 0.8 file header: 6 size_t, 2 int, 3 size_t, 1 double, 1 size_t


def _complete(path: Path, count: int) -> bool:
    """True when ``path`` holds a whole hnswlib index of ``count`` elements.

    Walks the file's layout: the header, the fixed-size level-0 block, then one length-prefixed
    link list per element, which must end exactly at the end of the file.
    """
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(_HEADER)
        if len(head) < _HEADER:
            return False
        stored, per_element = struct.unpack_from("<2Q", head, 16)
        pos = _HEADER + stored * per_element
        if stored != count or pos > size:
            return False
        f.seek(pos)
        tail = f.read()
    at = 0
    for _ in range(stored):
        if at + 4 > len(tail):
            return False
        at += 4 + struct.unpack_from("<I", tail, at)[0]
    return at == len(tail)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
