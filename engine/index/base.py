"""The collection store seam: what the indexer, the retriever, the second stage and the
embedding-model pin ask of a collection's storage, whichever backend holds it.

Two backends implement it side by side: ``store.Store`` + ``ann.VectorIndex`` (SQLite, FTS5
and an hnswlib file: one person's collection on their own computer) and ``pgstore.PgStore`` +
``pgstore.PgVectorIndex`` (PostgreSQL with pgvector and tsvector: a team's shared collection
on the organisation's server). The contract, written once here:

- Writes happen between ``begin()`` and ``commit()`` (or ``rollback()``): a crash at any moment
  leaves each document whole or absent, never a passage without its document nor a vector
  without its passage.
- Chunk ids are never reused; they are the labels of the vector search.
- ``search_terms`` ranks passages by BM25 over the same text (the passage, its context header
  and its figures without separators); ``term_count`` says how many passages hold one term.
- Vectors are unit length; similarities are cosine similarities.
- The collection's settings, the embedding model's name, fingerprint and dimension among them,
  live in the store's meta (``get_meta``/``set_meta``), so a query with another model is
  refused whichever backend holds the collection.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..types import Box, ChunkSpan

if TYPE_CHECKING:  # store.py builds on DocumentRows below
    from .store import ChunkRow, DocRow

# (doc_id, page, text, context, vector as float32 bytes, start) of one passage of a page.
PagePassage = tuple[int, int, str, str, bytes, int]


class CollectionStore(Protocol):
    on_settings_changed: Callable[[], None] | None

    def close(self) -> None: ...
    def begin(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...

    def get_meta(self, key: str, default: str = "") -> str: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def roots(self) -> list[str]: ...
    def add_root(self, path: str) -> None: ...
    def remove_root(self, path: str) -> None: ...

    def documents(self) -> list[DocRow]: ...
    def doc_by_path(self, path: str) -> DocRow | None: ...
    def docs_by_sha(self, sha: str) -> list[DocRow]: ...
    def doc(self, doc_id: int) -> DocRow | None: ...
    def touch_doc(self, doc_id: int, size: int, mtime_ns: int) -> None: ...
    def move_doc(self, doc_id: int, new_path: str, size: int, mtime_ns: int) -> None: ...
    def mark_unavailable(self, doc_ids: Iterable[int], reason: str) -> None: ...
    def mark_available(self, doc_ids: Iterable[int]) -> None: ...
    def delete_doc(self, doc_id: int) -> list[int]: ...
    def put_failed(
        self, path: str, size: int, mtime_ns: int, sha: str, kind: str, reason: str
    ) -> list[int]: ...
    def put_indexed(
        self,
        path: str,
        size: int,
        mtime_ns: int,
        sha: str,
        kind: str,
        n_pages: int,
        warnings: Sequence[str],
        chunks: Sequence[ChunkSpan],
        vectors: np.ndarray,
        contexts: Sequence[str] = (),
        profile: str = "",
        doc_vector: np.ndarray | None = None,
        ocr_pages: Mapping[int, Sequence[Box]] | None = None,
    ) -> tuple[int, list[int], list[int]]: ...
    def copy_doc(
        self, src: DocRow, new_path: str, size: int, mtime_ns: int
    ) -> tuple[int, list[int]]: ...

    def counts(self) -> tuple[int, int, int]: ...
    def chunk_count(self) -> int: ...
    def chunk_ids(self) -> set[int]: ...
    def vectors(
        self, ids: Iterable[int] | None = None, dim: int = 0
    ) -> tuple[np.ndarray, np.ndarray]: ...
    def similarities(self, query: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]: ...
    def doc_texts_and_vectors(self, doc_id: int) -> list[tuple[str, np.ndarray]]: ...
    def doc_profiles(self) -> list[tuple[int, str, str, bytes | None]]: ...
    def documents_version(self) -> tuple[int, float]: ...
    def doc_chunk_ids(self, doc_ids: Iterable[int]) -> list[int]: ...
    def chunks(self, ids: Sequence[int]) -> dict[int, ChunkRow]: ...
    def page_passages(self, pages: Sequence[tuple[int, int]]) -> list[PagePassage]: ...
    def page_chunks(self, doc_id: int, page: int | None) -> list[tuple[int, int, int, str]]: ...
    def page_boxes(self, doc_id: int, page: int) -> list[Box]: ...
    def search_terms(
        self, terms: Sequence[str], mode: str, limit: int | None
    ) -> list[tuple[int, float]]: ...
    def term_count(self, term: str) -> int: ...
    def keyword_mismatch(self) -> int: ...
    def rebuild_keywords(self) -> None: ...


class VectorSearch(Protocol):
    """Nearest passages by vector. The hnswlib file mirrors the store and is kept in line
    with it (``reconcile``, ``save``); a store that indexes its own vectors does nothing there."""

    dim: int
    dirty: bool

    def __len__(self) -> int: ...
    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]: ...
    def add(self, ids: np.ndarray | list[int], vectors: np.ndarray, threads: int = 1) -> None: ...
    def remove(self, ids: list[int]) -> None: ...
    def reconcile(self, store: CollectionStore) -> tuple[int, int]: ...
    def compact(self, store: CollectionStore) -> bool: ...
    def save(self) -> None: ...


class DocumentRows:
    """The document bookkeeping both stores share, written once: a file indexed again (or
    failing again) replaces its older version, whose passages go with it, and the row of a
    failed or an indexed document holds the same values in both.

    A store supplies ``doc_by_path`` and ``delete_doc`` (its contract above) and two ways to
    run SQL written with ``?`` placeholders: ``_execute(sql, args)`` and ``_insert(sql, args)``,
    which returns the id of the row it inserted.
    """

    def doc_by_path(self, path: str) -> DocRow | None:
        raise NotImplementedError

    def delete_doc(self, doc_id: int) -> list[int]:
        raise NotImplementedError

    def _execute(self, sql: str, args: Sequence[Any]) -> Any:
        raise NotImplementedError

    def _insert(self, sql: str, args: Sequence[Any]) -> int:
        raise NotImplementedError

    def _drop_older_version(self, path: str) -> list[int]:
        """Delete the stored version of ``path``, if any; the chunk ids it had."""
        old = self.doc_by_path(path)
        return self.delete_doc(old.id) if old is not None else []

    def put_failed(
        self, path: str, size: int, mtime_ns: int, sha: str, kind: str, reason: str
    ) -> list[int]:
        """Record a file that could not be indexed (replacing an older version of it)."""
        dropped = self._drop_older_version(path)
        self._execute(
            "INSERT INTO documents(path, size, mtime_ns, sha256, kind, status, reason, indexed_at)"
            " VALUES(?, ?, ?, ?, ?, 'failed', ?, ?)",
            (path, size, mtime_ns, sha, kind, reason, time.time()),
        )
        return dropped

    def _put_document(
        self,
        path: str,
        size: int,
        mtime_ns: int,
        sha: str,
        kind: str,
        n_pages: int,
        warnings: Sequence[str],
        n_chunks: int,
        profile: str,
        doc_vector: np.ndarray | None,
    ) -> tuple[int, list[int]]:
        """The document row of an indexed file (replacing an older version of it): its id and
        the chunk ids of the version replaced. Its passages are the store's to write."""
        dropped = self._drop_older_version(path)
        doc_id = self._insert(
            "INSERT INTO documents(path, size, mtime_ns, sha256, kind, status, warnings,"
            " n_pages, n_chunks, indexed_at, profile, vector)"
            " VALUES(?, ?, ?, ?, ?, 'indexed', ?, ?, ?, ?, ?, ?)",
            (
                path,
                size,
                mtime_ns,
                sha,
                kind,
                json.dumps(list(warnings)),
                n_pages,
                n_chunks,
                time.time(),
                profile,
                None
                if doc_vector is None
                else np.ascontiguousarray(doc_vector, dtype=np.float32).tobytes(),
            ),
        )
        return doc_id, dropped
