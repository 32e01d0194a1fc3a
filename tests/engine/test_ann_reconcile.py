"""The hnswlib file is a cache of SQLite's vectors: stale, damaged or missing, it is repaired."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.index.ann import VectorIndex
from engine.index.store import Store
from engine.types import ChunkSpan

DIM = 16


def add_doc(store: Store, name: str, n: int, rng: np.random.Generator) -> list[int]:
    chunks = [ChunkSpan(1, 0, 5, f"{name} chunk {i}", 3) for i in range(n)]
    vecs = rng.standard_normal((n, DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    store.begin()
    _doc, ids, _old = store.put_indexed(f"/{name}", 1, 1, name, "text", 1, [], chunks, vecs)
    store.commit()
    return ids


def test_stale_file_is_reconciled(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    store = Store(tmp_path / "s.sqlite3")
    first = add_doc(store, "a", 10, rng)
    ann = VectorIndex(tmp_path / "v.hnsw", DIM)
    ann.rebuild(store)
    ann.save()
    # After the save: one more document is committed, one is deleted; then a "crash".
    second = add_doc(store, "b", 5, rng)
    store.begin()
    gone = store.delete_doc(store.doc_by_path("/a").id)  # type: ignore[union-attr]
    store.commit()
    assert sorted(gone) == sorted(first)

    reopened = VectorIndex(tmp_path / "v.hnsw", DIM)
    assert reopened.load()
    added, dropped = reopened.reconcile(store)
    assert (added, dropped) == (5, 10)
    assert reopened.labels == set(second) == store.chunk_ids()
    _ids, vecs = store.vectors(second[:1], DIM)
    assert reopened.search(vecs[0], 1)[0][0] == second[0]


def test_damaged_file_is_rebuilt(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    store = Store(tmp_path / "s.sqlite3")
    ids = add_doc(store, "a", 8, rng)
    (tmp_path / "v.hnsw").write_bytes(b"\x00garbage" * 10)
    ann = VectorIndex(tmp_path / "v.hnsw", DIM)
    assert not ann.load()
    ann.rebuild(store)
    assert ann.labels == set(ids)


def test_a_collection_kept_open_sees_what_is_indexed_meanwhile(library, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The chat keeps its collection open for the whole session; documents the window indexes
    (through another Collection) after its first search must reach its vector index too, and
    deleted ones must leave it."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Parking\n\nStaff park in the north car park.\n", "utf-8")
    with library.create("Kept") as coll:
        coll.index([docs])
    reader = library.open("Kept")
    try:
        before = reader.ann().labels
        assert before == reader.store.chunk_ids()
        (docs / "b.md").write_text("# Canteen\n\nThe canteen opens at eight.\n", "utf-8")
        (docs / "a.md").unlink()
        with library.open("Kept") as writer:
            writer.index()
        after = reader.ann().labels
        assert after == reader.store.chunk_ids()
        assert after and not after & before
        hits = reader.search("When does the canteen open?", k=1)
        assert hits[0].path == str(docs / "b.md")
    finally:
        reader.close()


def test_deleted_vectors_are_dropped_once_they_outnumber_the_live_ones(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    store = Store(tmp_path / "s.sqlite3")
    ann = VectorIndex(tmp_path / "v.hnsw", DIM)
    keep = add_doc(store, "keep", 600, rng)
    ann.rebuild(store)
    for n in range(3):  # a document edited again and again: 700 new vectors, 700 dead ones
        ids = add_doc(store, f"draft{n}", 700, rng)
        _i, vecs = store.vectors(ids, DIM)
        ann.add(ids, vecs)
        store.begin()
        store.delete_doc(store.doc_by_path(f"/draft{n}").id)  # type: ignore[union-attr]
        store.commit()
        ann.remove(ids)
        if n == 0:  # 700 dead: fewer than 1024, kept
            assert not ann.compact(store)
    # 2,100 dead against 600 live: rebuilt with the live ones only.
    assert ann._index.element_count == 600 + 2100
    assert ann.compact(store)
    assert ann._index.element_count == 600
    assert ann.labels == set(keep) == store.chunk_ids()
    _ids, vecs = store.vectors(keep[:1], DIM)
    assert ann.search(vecs[0], 1)[0][0] == keep[0]
    assert not ann.compact(store)  # nothing dead now
