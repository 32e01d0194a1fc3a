"""Incremental indexing with the real MiniLM model, real hnswlib and real SQLite."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from engine import EmbeddingModelMismatch, EngineConfig, Library
from engine.embed.base import Embedder
from engine.ingest.context import embedding_text
from engine.retrieve import keyword_candidates

TOPICS = {
    "bees.txt": "Honey bees live in colonies ruled by a single queen. Worker bees gather nectar "
    "and pollen from flowers and turn the nectar into honey inside the hive.",
    "trains.md": "# Railways\n\nSteam locomotives pulled the first passenger trains. The "
    "gauge of the track decides which rolling stock can use a line.",
    "tax.html": "<html><head><title>Tax</title><style>p{color:red}</style></head><body><p>"
    "The quarterly VAT return is due one month and seven days after the period ends.</p>"
    "<script>var hidden = 'do not index';</script></body></html>",
}


def make_folder(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in TOPICS.items():
        (root / name).write_text(text, "utf-8")
    return root


def ann_labels(coll) -> set[int]:  # type: ignore[no-untyped-def]
    return coll.ann().labels


def test_incremental_reindex_rename_modify_delete(library: Library, tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "docs")
    coll = library.create("Work")
    first = coll.index([folder])
    assert len(first.indexed) == 3 and not first.failed
    assert first.chunks_embedded >= 3

    # Unchanged folder: nothing parsed, nothing embedded.
    again = coll.index([folder])
    assert again.chunks_embedded == 0
    assert len(again.unchanged) == 3

    # Touching a file (new mtime, same bytes) costs a hash, not an embedding.
    os.utime(folder / "bees.txt", ns=(1, 1))
    touched = coll.index([folder])
    assert touched.chunks_embedded == 0

    # Rename: the document keeps its embeddings.
    (folder / "bees.txt").rename(folder / "apiculture.txt")
    renamed = coll.index([folder])
    assert renamed.chunks_embedded == 0
    assert [m.path for m in renamed.moved] == [str(folder / "apiculture.txt")]
    hits = coll.search("who rules a bee colony", k=1)
    assert hits[0].path == str(folder / "apiculture.txt")

    # Modify: re-embedded, old text gone from keyword search.
    (folder / "trains.md").write_text(
        "# Canals\n\nNarrowboats carry coal along the canal.", "utf-8"
    )
    modified = coll.index([folder])
    assert [o.path for o in modified.indexed] == [str(folder / "trains.md")]
    assert modified.chunks_embedded >= 1
    assert not keyword_candidates(coll.store, "locomotives", 10, None)

    # Delete: gone from the vector index and from keyword results.
    before = set(coll.store.chunk_ids())
    (folder / "tax.html").unlink()
    deleted = coll.index([folder])
    assert [o.path for o in deleted.removed] == [str(folder / "tax.html")]
    after = set(coll.store.chunk_ids())
    assert after < before
    assert ann_labels(coll) == after
    assert not keyword_candidates(coll.store, "quarterly VAT return", 10, None)
    for h in coll.search("VAT return deadline", k=5):
        assert not h.path.endswith("tax.html")
    # HTML: script text was never indexed.
    assert "do not index" not in " ".join(
        r[0] for r in coll.store.db.execute("SELECT text FROM chunks")
    )
    coll.close()


def test_copy_reuses_vectors_and_near_duplicates_are_suppressed(
    library: Library, tmp_path: Path
) -> None:
    folder = make_folder(tmp_path / "docs")
    para = (
        "The parking permit for the north car park must be renewed every January at the "
        "facilities desk on the ground floor."
    )
    for i in range(5):
        (folder / f"copy{i}.txt").write_text(para, "utf-8")
    # A near copy with one word changed: its own embedding, but a near duplicate.
    (folder / "near.txt").write_text(para.replace("January", "February"), "utf-8")
    coll = library.create("Dupes")
    report = coll.index([folder])
    copies = [o for o in report.indexed if o.status == "copied"]
    assert len(copies) == 4  # four of the five identical files reuse the first one's vectors
    hits = coll.search("when do I renew the parking permit", k=4)
    parking = [h for h in hits if "parking permit" in h.text]
    assert len(parking) == 1, [h.path for h in hits]
    # Without diversity, the copies would fill the list.
    from engine.retrieve import SearchOptions

    raw = coll.retriever().search("renew parking permit", SearchOptions(k=4, diversity=False))
    assert sum("parking permit" in h.text for h in raw) >= 3
    coll.close()


def test_filter_by_document(library: Library, tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "docs")
    coll = library.create("Filter")
    coll.index([folder])
    trains = next(d for d in coll.documents() if d.path.endswith("trains.md"))
    hits = coll.search("honey bees", k=3, documents=frozenset({trains.id}))
    assert hits and all(h.doc_id == trains.id for h in hits)
    coll.close()


class OtherEmbedder(Embedder):
    """A different 'model': same tokenizer, other vectors (pure logic, for the refusal test)."""

    def __init__(self, real: Embedder) -> None:
        self.name = "other-model"
        self.fingerprint = "0123456789abcdef"
        self.dim = real.dim
        self.max_tokens = real.max_tokens
        self.tokenizer_file = real.tokenizer_file

    def embed_batch(self, texts):  # type: ignore[no-untyped-def]
        rng = np.random.default_rng(len(texts))
        v = rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_other_embedding_model_is_refused(library: Library, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    folder = make_folder(tmp_path / "docs")
    with library.create("Built") as coll:
        coll.index([folder])
        assert coll.embed_fingerprint == embedder.fingerprint
    other = Library(EngineConfig(home=library.home), embedder=OtherEmbedder(embedder))
    with other.open("Built") as coll:
        with pytest.raises(EmbeddingModelMismatch, match="reembed"):
            coll.search("bees")
        with pytest.raises(EmbeddingModelMismatch):
            coll.index([folder])
        # Re-embedding with the other model makes the collection usable with it.
        assert coll.reembed() == coll.store.chunk_count()
        assert coll.embed_fingerprint == "0123456789abcdef"
        assert coll.search("bees", k=1)
    with library.open("Built") as coll, pytest.raises(EmbeddingModelMismatch):
        coll.search("bees")


def test_exhaustive_finds_every_document_beyond_k(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    flood = [
        "The river burst its banks and flooded the town centre after three days of rain.",
        "Flood defences along the estuary were raised by half a metre this spring.",
        "Insurance claims for flood damage to ground-floor offices must include photos.",
        "Sandbags are stored in the basement for use when flooding is forecast.",
        "The evacuation plan for a flood names the car park on the hill as the meeting point.",
        "After the flood, the archive boxes were dried and the records scanned again.",
        "Flood warnings from the environment agency are forwarded to all staff by text.",
        "The council's report lists the streets that flooded in the winter storms.",
    ]
    other = [
        "The canteen serves a vegetarian lunch every Wednesday.",
        "New laptops are issued by the IT desk after a signed equipment form.",
        "Annual leave requests go to your line manager at least two weeks ahead.",
        "The fire alarm is tested every Monday at ten in the morning.",
        "Quarterly sales grew by four percent in the northern region.",
        "The choir rehearses in the main hall on Thursday evenings.",
    ]
    for i, t in enumerate(flood):
        (folder / f"flood-{i}.txt").write_text(t, "utf-8")
    for i, t in enumerate(other):
        (folder / f"other-{i}.txt").write_text(t, "utf-8")
    with library.create("Facilities") as coll:
        coll.index([folder])
        top = coll.search("flooding", k=3)
        assert len({h.path for h in top}) <= 3  # top-k cannot list them all
        groups = coll.search_all("flooding")
        found = {Path(g.path).name for g in groups}
        assert {f"flood-{i}.txt" for i in range(len(flood))} <= found
        assert not any(n.startswith("other-") for n in found)


def test_a_second_writer_waits_then_gives_up_or_is_cancelled(embedder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """One writer at a time: a second one waits (and says for whom), can be cancelled, and
    gives up with a message after the configured wait (a real second process holding the lock
    is tests/engine/test_two_programs.py)."""
    from engine.errors import Cancelled, FolioError
    from engine.progress import CancelToken

    lib = Library(
        EngineConfig(home=tmp_path / "home", lock_wait_seconds=1.0, program="a test"),
        embedder=embedder,
    )
    coll = lib.create("locked")
    told: list[str] = []
    gave_up = pytest.raises(FolioError, match="has been updating this collection for more")
    started = time.monotonic()
    with coll._writer_lock(), gave_up, coll._writer_lock(lambda p: told.append(p.current)):
        pass
    assert 0.9 < time.monotonic() - started < 10
    assert len(told) == 1 and told[0].startswith(f"Waiting for a test (process {os.getpid()})")
    cancel = CancelToken()
    cancel.cancel()
    with coll._writer_lock(), pytest.raises(Cancelled), coll._writer_lock(cancel=cancel):
        pass
    with coll._writer_lock():  # released: the next run may start
        pass
    coll.close()


def _paragraphs(topic: str, n: int) -> list[str]:
    return [
        f"Section {i} of the {topic} handbook. "
        + " ".join(
            f"Rule {i}.{j}: staff in team {i} follow procedure {j * 7 + i} for {topic} matters."
            for j in range(12)
        )
        for i in range(n)
    ]


def test_an_edited_file_re_embeds_only_the_passages_that_changed(
    library: Library, embedder: Embedder, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    paras = _paragraphs("travel", 12)
    doc = folder / "handbook.md"
    doc.write_text("\n\n".join(paras), "utf-8")
    coll = library.create("Edits")
    first = coll.index([folder])
    total = first.indexed[0].chunks
    assert total >= 10 and first.chunks_embedded == total and first.chunks_reused == 0

    paras[5] = "Section 5 was rewritten: company cars are booked through the fleet desk."
    doc.write_text("\n\n".join(paras), "utf-8")
    again = coll.index([folder])
    assert [o.path for o in again.indexed] == [str(doc)]
    new_total = again.indexed[0].chunks
    assert again.chunks_embedded + again.chunks_reused == new_total
    assert 1 <= again.chunks_embedded <= 3 and again.chunks_reused >= new_total - 3
    # Every stored vector, reused or new, is the vector the model gives for its text.
    # (The model reads each passage with its context header.)
    rows = coll.store.db.execute("SELECT context, text, vector FROM chunks").fetchall()
    fresh = embedder.embed([embedding_text(r[0], r[1]) for r in rows])
    stored = np.stack([np.frombuffer(r[2], dtype=np.float32) for r in rows])
    # (to a cosine of 0.9999: bfloat16 batches differ a little with how the work was split;
    # another passage's vector would be far below that)
    assert np.sum(stored * fresh, axis=1).min() >= 0.9999
    assert "company cars" in coll.search("company cars fleet desk", k=1)[0].text


def test_a_passage_shared_by_several_files_is_embedded_once(
    library: Library, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    boilerplate = _paragraphs("legal", 3)
    # Three reports of the same name in three folders: the shared passages have the same text
    # and the same context header (a header names its file, so the same paragraph in files of
    # other names is embedded with each one's header).
    for quarter in ("q1", "q2", "q3"):
        (folder / quarter).mkdir()
        own = f"The {quarter} report: revenue rose in the {quarter} quarter of the year."
        (folder / quarter / "report.md").write_text("\n\n".join([*boilerplate, own]), "utf-8")
    report = library.create("Reports").index([folder])
    chunks = sum(o.chunks for o in report.indexed)
    assert len(report.indexed) == 3
    assert report.chunks_reused >= 2 * (chunks // 3 - 1)
    assert report.chunks_embedded == chunks - report.chunks_reused
