"""Hybrid retrieval: vectors (hnswlib) and keywords (FTS5 BM25), fused; and the exhaustive scan.

Top-k answers "what is the best passage about X"; it cannot answer "which documents are about
X" when there are more of them than k. ``search_all`` scans every chunk vector and every
keyword match instead, and keeps each document whose best passage clears a relevance bar.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .embed.base import Embedder
from .index.ann import VectorIndex
from .index.store import ChunkRow, Store
from .types import DocumentGroup, Hit

# Reciprocal rank fusion constant (Cormack et al. use 60): damps the weight of the top ranks so
# that a passage ranked well by both searches beats one ranked first by only one of them.
RRF_K = 60
# Two passages whose vectors are this close say the same thing; only the better one is kept.
NEAR_DUPLICATE_COSINE = 0.95
# MiniLM cosine above which a passage is taken to be about the query (exhaustive mode).
EXHAUSTIVE_THRESHOLD = 0.45

_STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have how i if in
    into is it its list me my no not of on or our show so such than that the their them then there
    these they this to was we were what when where which who whom why will with would you your
    all any about documents document give find tell mention mentions""".split()
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def keyword_terms(query: str) -> list[str]:
    """Content words of a query, lower-cased, stopwords removed, order kept, no repeats."""
    out: list[str] = []
    for w in _WORD.findall(query.lower()):
        if w not in _STOPWORDS and w not in out:
            out.append(w)
    return out


def fts_expression(terms: Sequence[str], mode: str = "OR") -> str:
    # Each term is quoted, so FTS5 operators or punctuation in a query cannot break the syntax.
    return f" {mode} ".join('"' + t.replace('"', '""') + '"' for t in terms)


@dataclass(frozen=True)
class SearchOptions:
    k: int = 5
    candidates: int = 50
    documents: frozenset[int] | None = None  # restrict to these document ids
    diversity: bool = True


# BM25 ranking costs time in proportion to the postings (term, chunk) it scores. On a large
# collection the keyword query keeps its rarest terms up to this many postings: common terms
# carry little BM25 weight, and the vector side still sees the whole question.
POSTINGS_BUDGET = 4000


def keyword_candidates(
    store: Store, query: str, n: int, documents: frozenset[int] | None
) -> list[tuple[int, float]]:
    """Chunk ids best first by BM25 over the query's content words."""
    terms = keyword_terms(query)
    if not terms:
        return []
    if len(terms) > 1:
        df = {t: store.keyword_count(fts_expression([t])) for t in terms}
        if sum(df.values()) > POSTINGS_BUDGET:
            keep: list[str] = []
            spent = 0
            for t in sorted(terms, key=lambda t: df[t]):
                if keep and spent + df[t] > POSTINGS_BUDGET:
                    break
                keep.append(t)
                spent += df[t]
            terms = [t for t in terms if t in keep]
    hits = store.keyword_search(fts_expression(terms), None if documents else n)
    if documents is not None:
        allowed = set(store.doc_chunk_ids(documents))
        hits = [h for h in hits if h[0] in allowed][:n]
    return hits


class Retriever:
    def __init__(
        self,
        store: Store,
        ann: VectorIndex,
        embedder: Embedder,
        collection: str,
    ):
        self.store = store
        self.ann = ann
        self.embedder = embedder
        self.collection = collection

    # -- top-k --------------------------------------------------------------------------

    def search(self, query: str, options: SearchOptions | None = None) -> list[Hit]:
        opt = options or SearchOptions()
        if opt.k <= 0 or not query.strip():
            return []
        n = max(opt.candidates, opt.k * 4)
        qv = self.embedder.embed_query(query)
        vector_hits = self._vector_candidates(qv, n, opt.documents)
        keyword_hits = keyword_candidates(self.store, query, n, opt.documents)

        # Fuse: each list contributes 1 / (RRF_K + rank) for every chunk it ranks.
        fused: dict[int, float] = defaultdict(float)
        vrank: dict[int, int] = {}
        krank: dict[int, int] = {}
        for rank, (cid, _sim) in enumerate(vector_hits, start=1):
            fused[cid] += 1.0 / (RRF_K + rank)
            vrank[cid] = rank
        for rank, (cid, _bm25) in enumerate(keyword_hits, start=1):
            fused[cid] += 1.0 / (RRF_K + rank)
            krank[cid] = rank
        ordered = sorted(fused, key=lambda c: (-fused[c], c))

        # Walk the fused list best first, skipping near-duplicates of what was already taken.
        rows = self.store.chunks(ordered[: max(opt.k * 6, 30)])
        chosen: list[int] = []
        chosen_vecs: list[np.ndarray] = []
        chosen_texts: set[str] = set()
        vec_ids, vecs = (
            self.store.vectors(list(rows), self.embedder.dim) if opt.diversity else (None, None)
        )
        vec_of = (
            {int(i): vecs[j] for j, i in enumerate(vec_ids)}
            if vec_ids is not None and vecs is not None
            else {}
        )
        for cid in ordered:
            if len(chosen) >= opt.k:
                break
            row = rows.get(cid)
            if row is None:
                continue
            if opt.diversity:
                norm = " ".join(row.text.lower().split())
                if norm in chosen_texts:
                    continue
                v = vec_of.get(cid)
                if (
                    v is not None
                    and chosen_vecs
                    and float(np.max(np.stack(chosen_vecs) @ v)) >= NEAR_DUPLICATE_COSINE
                ):
                    continue
                chosen_texts.add(norm)
                if v is not None:
                    chosen_vecs.append(v)
            chosen.append(cid)
        return [self._hit(rows[c], fused[c], vrank.get(c), krank.get(c)) for c in chosen]

    def _vector_candidates(
        self, qv: np.ndarray, n: int, documents: frozenset[int] | None
    ) -> list[tuple[int, float]]:
        if documents is None:
            return self.ann.search(qv, n)
        # A filtered search is exact: score the chosen documents' own vectors.
        ids, mat = self.store.vectors(self.store.doc_chunk_ids(documents), self.embedder.dim)
        if len(ids) == 0:
            return []
        sims = mat @ qv
        top = np.argsort(-sims)[:n]
        return [(int(ids[i]), float(sims[i])) for i in top]

    def _hit(self, row: ChunkRow, score: float, vr: int | None, kr: int | None) -> Hit:
        return Hit(
            chunk_id=row.id,
            doc_id=row.doc_id,
            path=row.path,
            page=row.page,
            start=row.start,
            end=row.end,
            text=row.text,
            score=score,
            collection=self.collection,
            vector_rank=vr,
            keyword_rank=kr,
        )

    # -- exhaustive ---------------------------------------------------------------------

    def search_all(
        self,
        query: str,
        threshold: float = EXHAUSTIVE_THRESHOLD,
        passages_per_doc: int = 3,
    ) -> list[DocumentGroup]:
        """Every document relevant to ``query``, best first, each with its best passages.

        A document is relevant when one of its passages is semantically close to the query
        (cosine >= threshold), or when it contains every content word of the query.
        """
        if not query.strip():
            return []
        qv = self.embedder.embed_query(query)
        ids, mat = self.store.vectors(None, self.embedder.dim)
        sims = mat @ qv if len(ids) else np.zeros(0, dtype=np.float32)
        sim_of = {int(i): float(s) for i, s in zip(ids, sims, strict=True)}

        # Keyword evidence: chunks containing all content words (AND), scanned without a limit.
        terms = keyword_terms(query)
        keyword_chunks = (
            {cid for cid, _ in self.store.keyword_search(fts_expression(terms, "AND"), None)}
            if terms
            else set()
        )
        candidates = {cid for cid, s in sim_of.items() if s >= threshold} | keyword_chunks
        rows = self.store.chunks(sorted(candidates))
        per_doc: dict[int, list[ChunkRow]] = defaultdict(list)
        for row in rows.values():
            per_doc[row.doc_id].append(row)

        groups: list[DocumentGroup] = []
        for doc_id, chunk_rows in per_doc.items():
            # Semantic matches first, then keyword-only ones; within each by similarity.
            chunk_rows.sort(key=lambda r: -sim_of.get(r.id, 0.0))
            best = chunk_rows[:passages_per_doc]
            score = max(sim_of.get(r.id, 0.0) for r in chunk_rows)
            hits = tuple(self._hit(r, sim_of.get(r.id, 0.0), None, None) for r in best)
            groups.append(DocumentGroup(doc_id, chunk_rows[0].path, score, hits))
        groups.sort(key=lambda g: (-g.score, g.path))
        return groups
