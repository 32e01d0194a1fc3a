"""``folio bench retrieval``: how often search lands on the right document and page, lever by
lever, and how long a query takes on real report text.

- Page and document recall@5 and MRR on the docugami 10-Q questions (through ``folio eval``'s
  code) with every lever on, then with one lever off at a time: the second stage, page
  ranking, document routing; with ``--headers`` also a collection indexed without context
  headers (a second full indexing run).
- Paul Graham and COVID-QA recall@6 (a retrieved passage of the right file holds >= 60% of the
  gold quote's content words), with every lever on and with the first stage alone.
- Query latency p50/p95, query embedding included, on the indexed filings and on a collection
  of ``--scale`` passages made of copies of their real text, headers and vectors (so keyword
  search meets real postings; each copy is another "company" for routing).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .bench import docugami_dir, docugami_recall
from .config import EngineConfig
from .retrieve import SearchOptions

VARIANTS: dict[str, SearchOptions] = {
    "all levers": SearchOptions(),
    "without the second stage": SearchOptions(rerank=False),
    "without page ranking (and second stage)": SearchOptions(pages=False, rerank=False),
    "without document routing": SearchOptions(route=False),
    "first stage only (no routing, pages, second stage)": SearchOptions(
        route=False, pages=False, rerank=False
    ),
}


def _recall_pg_covid(lib: Any, home: Path, options: list[SearchOptions]) -> dict[str, Any]:
    from .bench_answer import _covid_set, _pg_set, coverage, covid_file, pg_dir

    out: dict[str, Any] = {}
    sets = []
    if pg_dir().exists():
        essays, _ = _pg_set(55)
        pg = lib.get_or_create("bench-pg")
        pg.index([essays])
        sets.append(("paul_graham_25", pg, _pg_set(25)[1]))
        sets.append(("paul_graham_55", pg, _pg_set(55)[1]))
    if covid_file().exists():
        questions = _covid_set(home / "covid-papers", 25)
        covid = lib.get_or_create("bench-covid")
        covid.index([home / "covid-papers"])
        sets.append(("covid_qa_25", covid, questions))
    for name, coll, qs in sets:
        r = coll.retriever()
        row = []
        for opt in options:
            found = 0
            for q in qs:
                hits = r.search(q["question"], replace(opt, k=6))
                found += any(
                    Path(h.path).name == q["essay"] and coverage(q["quote"], h.text) >= 0.6
                    for h in hits
                )
            row.append(round(found / len(qs), 3))
        out[name] = row
    return out


def _latency(coll: Any, questions: list[str]) -> dict[str, float]:
    """p50/p95 of a search with every lever on, and in the same run (interleaved, so machine
    load hits all alike) of the first stage alone and of the query embedding alone."""
    r = coll.retriever()
    first = replace(VARIANTS["first stage only (no routing, pages, second stage)"], k=5)
    calls = {
        "all_levers": lambda q: r.search(q, SearchOptions(k=5)),
        "first_stage": lambda q: r.search(q, first),
        "embedding": lambda q: r.embedder.embed_query(q),
    }
    for q in questions[:10]:
        r.search(q, SearchOptions(k=5))  # warm-up
    runs: dict[str, list[float]] = {name: [] for name in calls}
    for q in questions:
        for name, call in calls.items():
            t0 = time.perf_counter()
            call(q)
            runs[name].append((time.perf_counter() - t0) * 1000)
    out: dict[str, float] = {"chunks": coll.store.chunk_count(), "queries": len(questions)}
    for name, lat in runs.items():
        out[f"{name}_p50_ms"] = round(statistics.median(lat), 1)
        out[f"{name}_p95_ms"] = round(float(np.percentile(lat, 95)), 1)
    return out


def _scaled_copy(lib: Any, src: Any, target: int) -> Any:
    """A collection of about ``target`` chunks: copies of ``src``'s documents with their real
    text, headers and vectors; copy n's organisation is renamed "… n" so that routing sees
    many look-alike companies."""
    from .ingest.profile import DocumentProfile

    name = f"bench-scale-{target}"
    if name in lib.names():
        lib.delete(name)
    dst = lib.create(name)
    dst.ann()  # records the embedding model
    docs = [d for d in src.documents() if d.status == "indexed"]
    per_copy = max(1, src.store.chunk_count())
    copies = max(1, target // per_copy)
    db = dst.store.db
    db.execute("ATTACH DATABASE ? AS src", (str(src.store.path),))
    dst.store.begin()
    for n in range(copies):
        for d in docs:
            p = DocumentProfile.from_json(d.profile)
            renamed = replace(
                p,
                organisation=f"{p.organisation} {n}" if n else p.organisation,
                file_label=f"{p.file_label} {n}" if n else p.file_label,
            )
            cur = db.execute(
                "INSERT INTO documents(path, size, mtime_ns, sha256, kind, status, warnings,"
                " n_pages, n_chunks, indexed_at, profile, vector) SELECT ?, size, mtime_ns,"
                " sha256, kind, status, warnings, n_pages, n_chunks, indexed_at, ?, vector"
                " FROM src.documents WHERE id=?",
                (f"/copies/{n}/{Path(d.path).name}", renamed.to_json(), d.id),
            )
            db.execute(
                'INSERT INTO chunks(doc_id, ord, page, start, "end", n_tokens, text, vector,'
                ' context, keywords) SELECT ?, ord, page, start, "end", n_tokens, text, vector,'
                " replace(context, ?, ?), keywords FROM src.chunks WHERE doc_id=?",
                (cur.lastrowid, p.organisation or "\0", renamed.organisation or "\0", d.id),
            )
    dst.store.commit()
    db.execute("DETACH DATABASE src")
    dst._ann = None
    dst.ann()
    return dst


def bench_retrieval(
    paths: list[Path],
    home: Path | None = None,
    questions: Path | None = None,
    headers: bool = False,
    scale: int = 100_000,
) -> dict[str, Any]:
    from .evaluate import load_questions
    from .library import Library

    tmp = tempfile.TemporaryDirectory(prefix="folio-bench-") if home is None else None
    root = Path(tmp.name) if tmp else Path(home or ".")
    lib = Library(EngineConfig(home=root / "home"))
    paths = paths or [docugami_dir() / "docs"]
    qfile = questions or docugami_dir() / "qna_data.csv"
    out: dict[str, Any] = {"documents": [str(p) for p in paths], "questions": str(qfile)}

    coll = lib.get_or_create("bench-10q")
    t0 = time.perf_counter()
    report = coll.index(paths)
    out["index_seconds"] = round(time.perf_counter() - t0, 1)
    out["chunks"] = coll.store.chunk_count()
    out["documents_indexed"] = sum(1 for d in coll.documents() if d.status == "indexed")
    out["documents_failed"] = len(report.failed)
    table: dict[str, Any] = {}
    for name, opt in VARIANTS.items():
        table[name] = docugami_recall(coll, options=opt, questions=qfile)
    if headers:
        plain_lib = Library(
            EngineConfig(home=root / "home-no-headers", context_headers=False),
            embedder=lib.embedder,
        )
        plain = plain_lib.get_or_create("bench-10q")
        plain.index(paths)
        table["without context headers (all other levers on)"] = docugami_recall(
            plain, questions=qfile
        )
        table["first stage only, without context headers"] = docugami_recall(
            plain,
            options=VARIANTS["first stage only (no routing, pages, second stage)"],
            questions=qfile,
        )
        plain.close()
    out["ten_q"] = table
    out["recall_at_6_all_levers_vs_first_stage"] = _recall_pg_covid(
        lib, root, [SearchOptions(), VARIANTS["first stage only (no routing, pages, second stage)"]]
    )
    qs = [q.question for q in load_questions(qfile)[0]] if qfile.exists() else []
    if qs:
        out["latency_real"] = _latency(coll, qs)
        if scale > out["chunks"]:
            big = _scaled_copy(lib, coll, scale)
            out["latency_scaled"] = _latency(big, qs)
            name = big.name
            big.close()
            lib.delete(name)
    coll.close()
    if tmp:
        tmp.cleanup()
    return out
