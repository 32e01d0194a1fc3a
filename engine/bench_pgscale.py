"""`folio bench pgscale`: a shared collection of up to a million passages in PostgreSQL.

For each size: synthetic 384-d unit vectors (drawn around a thousand-odd topics, as real
embeddings cluster) and windows of real prose for the keyword side are bulk loaded (COPY) into
a collection schema; then the HNSW index is built. Queries then run from this process as the
desktop's would: the vector search (pgvector HNSW), the keyword search (BM25 over tsvector) and
the fused first and second stage of a question (Retriever.search, the query's embedding left
out). recall@10 compares the HNSW search with an exact search over the same vectors. The same
is measured at the smallest size for the local store (SQLite + FTS5 + hnswlib).

Without --dsn the embedded PostgreSQL of the tests is started (and removed afterwards).
"""

from __future__ import annotations

import statistics
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .retrieve import Retriever, SearchOptions, keyword_candidates
from .types import ChunkSpan

DIM = 384
PER_DOC = 100  # passages per synthetic document
WORDS_PER_PASSAGE = 60


class _FixedQuery:
    """Stands in for the embedding model: hands the retriever the synthetic query vector (the
    benchmark measures the stores, not the model)."""

    def __init__(self) -> None:
        self.dim = DIM
        self.vector = np.zeros(DIM, dtype=np.float32)
        self.fingerprint = "synthetic"

    def embed_query(self, text: str) -> np.ndarray:
        return self.vector


def synthetic_vectors(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n unit vectors, 200 query vectors) around n/1000 random topic centres."""
    rng = np.random.default_rng(seed)
    topics = max(8, n // 1000)
    centres = rng.standard_normal((topics, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)

    def draw(m: int) -> np.ndarray:
        v = centres[rng.integers(0, topics, size=m)]
        v = v + 0.08 * rng.standard_normal((m, DIM)).astype(np.float32)
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    mat = np.empty((n, DIM), dtype=np.float32)
    for i in range(0, n, 100_000):
        mat[i : i + 100_000] = draw(min(100_000, n - i))
    return mat, draw(200)


def passages(n: int, seed: int) -> Iterator[str]:
    from .bench import _text_pool

    words, _questions = _text_pool()
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, max(1, len(words) - WORDS_PER_PASSAGE), size=n)
    for at in starts:
        yield " ".join(words[int(at) : int(at) + WORDS_PER_PASSAGE])


def keyword_queries(count: int, seed: int) -> list[str]:
    from .bench import _text_pool

    _words, questions = _text_pool()
    rng = np.random.default_rng(seed)
    return [questions[int(i)] for i in rng.integers(0, len(questions), size=count)]


def _ms(f: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        f()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _summary(lat: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(lat), 2),
        "p95_ms": round(float(np.percentile(lat, 95)), 2),
    }


def _recall(search: Callable[[np.ndarray, int], list[tuple[int, float]]], mat: np.ndarray,
            queries: np.ndarray, ids: np.ndarray) -> float:  # fmt: skip
    """Mean share of the exact 10 nearest (by cosine) that ``search`` finds."""
    found = 0
    exact = np.argsort(-(mat @ queries[:100].T), axis=0)[:10].T  # (queries, 10)
    for q, want in zip(queries[:100], exact, strict=True):
        got = {cid for cid, _ in search(q, 10)}
        found += len(got & {int(ids[i]) for i in want})
    return round(found / (10 * min(100, len(queries))), 4)


def _measure(store: Any, ann: Any, mat: np.ndarray, qvecs: np.ndarray, ids: np.ndarray,
             texts: list[str], runs: int) -> dict[str, Any]:  # fmt: skip
    """Latencies of the three searches and recall@10 on one loaded collection."""
    fixed = _FixedQuery()
    retriever = Retriever(store, ann, fixed, "bench")  # type: ignore[arg-type]
    opts = SearchOptions(k=5, route=False)
    vi = iter(range(10**9))

    def vector() -> None:
        ann.search(qvecs[next(vi) % len(qvecs)], 50)

    ki = iter(range(10**9))

    def keyword() -> None:
        keyword_candidates(store, texts[next(ki) % len(texts)], 50, None)

    fi = iter(range(10**9))

    def fused() -> None:
        i = next(fi)
        fixed.vector = qvecs[i % len(qvecs)]
        retriever.search(texts[i % len(texts)], opts)

    for f in (vector, keyword, fused):  # warm the caches
        _ms(f, 10)
    out: dict[str, Any] = {
        "vector": _summary(_ms(vector, runs)),
        "keyword": _summary(_ms(keyword, runs)),
        "fused": _summary(_ms(fused, runs)),
    }
    out["recall_at_10"] = _recall(ann.search, mat, qvecs, ids)
    return out


# -- PostgreSQL -------------------------------------------------------------------------------


def _copy_rows(doc_ids: np.ndarray, texts: list[str], stems: list[list[str]], mat: np.ndarray,
               first_id: int) -> tuple[bytes, bytes]:  # fmt: skip
    """Rows of the chunks table in COPY's binary format (and, second, those of the staging
    table of their words)."""
    out = bytearray()
    words_out = bytearray()
    head = struct.pack(">hh", DIM, 0)
    for i, (text, words) in enumerate(zip(texts, stems, strict=True)):
        t = text.encode()
        terms = " ".join(words).encode()
        vec = head + mat[i].astype(">f4").tobytes()
        out += struct.pack(">h", 12)
        out += struct.pack(">iq", 8, first_id + i)  # id
        out += struct.pack(">iq", 8, int(doc_ids[i]))  # doc_id
        out += struct.pack(">ii", 4, i % PER_DOC)  # ord
        out += struct.pack(">ii", 4, 1)  # page
        out += struct.pack(">ii", 4, 0)  # start
        out += struct.pack(">ii", 4, len(text))  # end
        out += struct.pack(">ii", 4, 80)  # n_tokens
        out += struct.pack(">i", len(t)) + t  # text
        out += struct.pack(">i", 0)  # context ''
        out += struct.pack(">i", 0)  # keywords ''
        out += struct.pack(">i?", 1, False)  # ocr
        out += struct.pack(">i", len(vec)) + vec  # embedding
        words_out += struct.pack(">hiqii", 3, 8, first_id + i, 4, len(words))
        words_out += struct.pack(">i", len(terms)) + terms
    return bytes(out), bytes(words_out)


def bench_pg_size(dsn: str, n: int, runs: int, log: Callable[[str], None],
                  hnsw: tuple[int, int] | None = None) -> dict[str, Any]:  # fmt: skip
    """One size; ``hnsw``: (m, ef_construction) of the vector index, Folio's by default."""
    from .index.pgstore import HNSW_EF_CONSTRUCTION, HNSW_M, PgStore, PgVectorIndex, fts_words

    m, ef_construction = hnsw or (HNSW_M, HNSW_EF_CONSTRUCTION)

    name = f"bench {n}"
    store = PgStore(dsn, name, create=True, dim=DIM)
    db = store.db
    try:
        store.set_meta("embed_model", "synthetic")
        store.set_meta("embed_dim", str(DIM))
        # Bulk load: no index but the primary key while loading; the others built after.
        for index in ("chunks_embedding", "words_tsv", "chunks_doc", "chunks_page"):
            db.execute(f"DROP INDEX IF EXISTS {index}")
        mat, qvecs = synthetic_vectors(n, seed=n)
        ids = np.arange(1, n + 1, dtype=np.int64)
        doc_ids = (ids - 1) // PER_DOC + 1
        log(f"{n}: loading")
        t0 = time.perf_counter()
        with db.cursor() as cur:
            cur.execute(
                "INSERT INTO documents(id, path, size, mtime_ns, sha256, kind, status, n_pages,"
                " n_chunks, indexed_at) SELECT d, '/synthetic/doc-' || d || '.txt', 0, 0,"
                " 'sha-' || d, 'text', 'indexed', 1, %s, 0 FROM generate_series(1, %s) d",
                (PER_DOC, int(doc_ids[-1])),
            )
        text_iter = passages(n, seed=n + 1)
        step = 20_000
        header = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
        db.execute("CREATE TEMP TABLE words_in (id BIGINT, n_words INTEGER, terms TEXT)")
        staged = bytearray(header)
        with (
            db.cursor() as cur,
            cur.copy(
                'COPY chunks(id, doc_id, ord, page, start, "end", n_tokens, text, context,'
                " keywords, ocr, embedding) FROM STDIN WITH (FORMAT BINARY)"
            ) as copy,
        ):
            copy.write(header)
            for at in range(0, n, step):
                texts = [next(text_iter) for _ in range(min(step, n - at))]
                stems = fts_words(texts)
                rows, word_rows = _copy_rows(doc_ids[at:], texts, stems, mat[at:], at + 1)
                copy.write(rows)
                staged += word_rows
            copy.write(struct.pack(">h", -1))
        staged += struct.pack(">h", -1)
        with (
            db.cursor() as cur,
            cur.copy("COPY words_in FROM STDIN WITH (FORMAT BINARY)") as copy,
        ):
            copy.write(bytes(staged))
        del staged
        db.execute(
            "INSERT INTO words(id, n_words, tsv) SELECT id, n_words, to_tsvector('simple', terms)"
            " FROM words_in"
        )
        db.execute("DROP TABLE words_in")
        db.execute("SELECT setval(pg_get_serial_sequence('chunks', 'id'), %s)", (n,))
        db.execute(
            "SELECT setval(pg_get_serial_sequence('documents', 'id'), %s)", (int(doc_ids[-1]),)
        )
        copied = time.perf_counter() - t0
        log(f"{n}: copied in {copied:.0f} s; keyword and page indexes")
        t1 = time.perf_counter()
        db.execute("SET maintenance_work_mem = '6GB'")
        db.execute("CREATE INDEX chunks_doc ON chunks(doc_id, ord)")
        db.execute("CREATE INDEX chunks_page ON chunks(doc_id, page)")
        db.execute("CREATE INDEX words_tsv ON words USING gin(tsv)")
        db.execute(
            "INSERT INTO lexemes(lexeme, df) SELECT u.lexeme, count(*) FROM words"
            " CROSS JOIN LATERAL unnest(tsv) AS u GROUP BY u.lexeme"
        )
        db.execute(
            "UPDATE word_totals SET passages = t.n, words = t.w"
            " FROM (SELECT count(*) AS n, sum(n_words) AS w FROM words) AS t"
        )
        db.execute("VACUUM ANALYZE chunks")
        db.execute("VACUUM ANALYZE words")
        indexes = time.perf_counter() - t1
        log(f"{n}: HNSW build")
        t2 = time.perf_counter()
        db.execute(
            "CREATE INDEX chunks_embedding ON chunks USING hnsw (embedding vector_cosine_ops)"
            f" WITH (m = {int(m)}, ef_construction = {int(ef_construction)})"
        )
        built = time.perf_counter() - t2
        log(f"{n}: HNSW built in {built:.0f} s; querying")
        ann = PgVectorIndex(store, DIM)
        result: dict[str, Any] = {
            "passages": n,
            "bulk_load_seconds": round(copied + indexes, 1),
            "copy_seconds": round(copied, 1),
            "keyword_and_page_indexes_seconds": round(indexes, 1),
            "hnsw_build_seconds": round(built, 1),
            "hnsw_m": m,
            "hnsw_ef_construction": ef_construction,
        }
        result.update(_measure(store, ann, mat, qvecs, ids, keyword_queries(200, n), runs))
        # recall@10 and latency against the search list's length (hnsw.ef_search)
        sweep = {}
        for ef in (40, 100, 200, 400, 800):
            probe = PgVectorIndex(store, DIM, ef_search=ef)
            lat = []
            for q in qvecs[:100]:  # a different query each time (one repeated is cached)
                t0 = time.perf_counter()
                probe.search(q, 10)
                lat.append((time.perf_counter() - t0) * 1000)
            sweep[str(ef)] = {"recall_at_10": _recall(probe.search, mat, qvecs, ids)}
            sweep[str(ef)].update(_summary(lat))
        result["ef_search"] = sweep
        size = db.execute("SELECT pg_total_relation_size('chunks')").fetchone()
        result["table_and_indexes_gb"] = round(int(size[0]) / 1e9, 2) if size else 0.0
        return result
    finally:
        try:
            db.execute(f'DROP SCHEMA "{store.schema}" CASCADE')
        finally:
            store.close()


# -- SQLite + hnswlib -------------------------------------------------------------------------


def bench_sqlite_size(n: int, runs: int, log: Callable[[str], None]) -> dict[str, Any]:
    from .index.ann import VectorIndex
    from .index.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "store.sqlite3")
        try:
            mat, qvecs = synthetic_vectors(n, seed=n)
            text_iter = passages(n, seed=n + 1)
            log(f"sqlite {n}: loading")
            t0 = time.perf_counter()
            all_ids: list[int] = []
            store.begin()
            for d in range(0, n, PER_DOC):
                m = min(PER_DOC, n - d)
                chunks = []
                for _ in range(m):
                    text = next(text_iter)
                    chunks.append(ChunkSpan(1, 0, len(text), text, 80))
                _doc, got, _old = store.put_indexed(
                    f"/synthetic/doc-{d}.txt", 0, 0, f"sha-{d}", "text", 1, [], chunks,
                    mat[d : d + m],
                )  # fmt: skip
                all_ids.extend(got)
            store.commit()
            loaded = time.perf_counter() - t0
            log(f"sqlite {n}: hnswlib build")
            t1 = time.perf_counter()
            ann = VectorIndex(Path(tmp) / "vectors.hnsw", DIM)
            ann.rebuild(store)
            ann.save()
            built = time.perf_counter() - t1
            result: dict[str, Any] = {
                "passages": n,
                "bulk_load_seconds": round(loaded, 1),
                "hnsw_build_seconds": round(built, 1),
            }
            ids = np.asarray(all_ids, dtype=np.int64)
            result.update(_measure(store, ann, mat, qvecs, ids, keyword_queries(200, n), runs))
            return result
        finally:
            store.close()


def bench_pgscale(sizes: list[int], dsn: str | None, runs: int = 200,
                  log: Callable[[str], None] = print, hnsw: tuple[int, int] | None = None,
                  local: bool = True) -> dict[str, Any]:  # fmt: skip
    import os

    from . import pgserver

    out: dict[str, Any] = {"cpus": os.cpu_count(), "runs": runs}
    server = None
    if not dsn:
        server = pgserver.start(settings={"shared_buffers": "2GB", "max_wal_size": "8GB"})
        dsn = server.dsn
    try:
        out["postgresql"] = {str(n): bench_pg_size(dsn, n, runs, log, hnsw) for n in sizes}
    finally:
        if server is not None:
            server.stop()
    if local:
        smallest = min(sizes)
        out["sqlite_hnswlib"] = {str(smallest): bench_sqlite_size(smallest, runs, log)}
    return out
