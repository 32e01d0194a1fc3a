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
from .index.base import CollectionStore, VectorSearch
from .index.store import ChunkRow
from .ingest.numbers import joined_numbers
from .rerank import PageCandidate, rerank, unit_of
from .route import DocumentIndex, query_facts
from .types import DocumentGroup, Hit

# Reciprocal rank fusion constant (Cormack et al. use 60): damps the weight of the top ranks so
# that a passage ranked well by both searches beats one ranked first by only one of them.
RRF_K = 60
# Two passages that share this share of their words (Jaccard) say the same thing; only the
# better one is kept.
NEAR_DUPLICATE_OVERLAP = 0.8
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


@dataclass(frozen=True)
class SearchOptions:
    k: int = 5
    candidates: int = 50
    documents: frozenset[int] | None = None  # restrict to these document ids
    diversity: bool = True
    # Document routing: a prior per document from what the question names (route.py).
    route: bool = True
    # Rank pages (from all their passages), then hand back the best passage of each page.
    pages: bool = True
    # Score the best pages again with what the first stage ignores (rerank.py).
    rerank: bool = True


# BM25 ranking costs time in proportion to the postings (term, chunk) it scores. On a large
# collection the keyword query keeps its rarest terms up to this many postings: common terms
# carry little BM25 weight, and the vector side still sees the whole question.
POSTINGS_BUDGET = 4000
# How much a document's routing prior (0..1) adds to a passage's fused score. A passage ranked
# first by both searches scores 2 / (RRF_K + 1) = 0.033: the prior moves a passage of the
# document the question names up by a few ranks, never over a much better passage elsewhere.
PRIOR_WEIGHT = 0.03
# Documents whose prior is at least this close to the best one also give candidates of their
# own (an exact vector search inside them): the right report's passages are then in the running
# even when look-alike reports crowd the collection-wide lists.
ROUTE_FLOOR = 0.8
ROUTE_DOCS = 3
# A page's first-stage score: its best passage, plus this share of each further candidate
# passage of the page. Zero: a long table page would otherwise outrank a single better passage
# of a document without pages just by having many rows; the second stage weighs a page's other
# passages itself (rerank.py, "rest").
PAGE_SUPPORT = 0.0
# A term of the question with a digit in it that at most this many passages of the collection
# hold (a reference number, a code) is *rare*: the second stage favours the pages that hold it
# (rerank.py, "rare"), which embeddings and stemmed word overlap cannot tell apart.
RARE_PASSAGES = 3


def query_terms(query: str) -> list[str]:
    """What the keyword side searches for: the query's content words and its figures."""
    terms = keyword_terms(query)
    return terms + [t for t in joined_numbers(query) if t not in terms]


def term_counts(store: CollectionStore, terms: Sequence[str]) -> dict[str, int]:
    """How many passages hold each term (its document frequency)."""
    return {t: store.term_count(t) for t in terms}


def rare_terms(df: dict[str, int]) -> list[str]:
    """Reference-like terms (with a digit: a number, a code) that only a handful of passages
    hold (see RARE_PASSAGES). Words are left out: in a small collection "expenditure" can be
    on two pages, and which two says less than the question's meaning does."""
    return [t for t, n in df.items() if 0 < n <= RARE_PASSAGES and any(c.isdigit() for c in t)]


def keyword_candidates(
    store: CollectionStore,
    query: str,
    n: int,
    documents: frozenset[int] | None,
    df: dict[str, int] | None = None,
) -> list[tuple[int, float]]:
    """Chunk ids best first by BM25 over the query's content words (and its figures).
    ``df``: the terms' passage counts when the caller has them already (term_counts)."""
    terms = query_terms(query)
    if not terms:
        return []
    if len(terms) > 1:
        if df is None:
            df = term_counts(store, terms)
        if sum(df.values()) > POSTINGS_BUDGET:
            rarest = sorted(terms, key=lambda t: df[t])
            keep: list[str] = []
            spent = 0
            for t in rarest:
                if keep and spent + df[t] > POSTINGS_BUDGET:
                    break
                keep.append(t)
                spent += df[t]
            if len(keep) == 1 and documents is None and df[rarest[1]] > 0:
                # Even the rarest word is common (a large collection): rank the passages that
                # hold the two rarest words, a small set, and only when fewer than n do, every
                # passage with the rarest one.
                both = store.search_terms([t for t in terms if t in rarest[:2]], "AND", n)
                if len(both) >= n:
                    return both
            terms = [t for t in terms if t in keep]
    hits = store.search_terms(terms, "OR", None if documents else n)
    if documents is not None:
        allowed = set(store.doc_chunk_ids(documents))
        hits = [h for h in hits if h[0] in allowed][:n]
    return hits


class Retriever:
    def __init__(
        self,
        store: CollectionStore,
        ann: VectorSearch,
        embedder: Embedder,
        collection: str,
        documents: DocumentIndex | None = None,
    ):
        self.store = store
        self.ann = ann
        self.embedder = embedder
        self.collection = collection
        self._documents = documents

    @property
    def documents(self) -> DocumentIndex:
        if self._documents is None:
            self._documents = DocumentIndex.build(self.store.doc_profiles(), self.embedder.dim)
        return self._documents

    # -- top-k --------------------------------------------------------------------------

    def search(self, query: str, options: SearchOptions | None = None) -> list[Hit]:
        opt = options or SearchOptions()
        if opt.k <= 0 or not query.strip():
            return []
        n = max(opt.candidates, opt.k * 4)
        qv = self.embedder.embed_query(query)

        # 1. Which documents does the question point at? (a prior, never a filter)
        priors: dict[int, float] = {}
        if opt.route and opt.documents is None:
            priors = self.documents.priors(query_facts(query), qv)

        # 2. Candidates: the collection-wide vector and keyword lists, plus an exact vector
        #    search inside the documents the question points at most clearly.
        vector_hits = self._vector_candidates(qv, n, opt.documents)
        routed = sorted(
            (d for d, p in priors.items() if p >= ROUTE_FLOOR), key=lambda d: -priors[d]
        )
        if routed:
            seen = {cid for cid, _ in vector_hits}
            extra = self._vector_candidates(qv, n, frozenset(routed[:ROUTE_DOCS]))
            vector_hits = sorted(
                vector_hits + [h for h in extra if h[0] not in seen], key=lambda h: -h[1]
            )
        terms = query_terms(query)
        df = term_counts(self.store, terms) if terms and (len(terms) > 1 or opt.rerank) else None
        keyword_hits = keyword_candidates(self.store, query, n, opt.documents, df)

        # 3. Fuse: each list contributes 1 / (RRF_K + rank) for every chunk it ranks.
        fused: dict[int, float] = defaultdict(float)
        vrank: dict[int, int] = {}
        krank: dict[int, int] = {}
        for rank, (cid, _sim) in enumerate(vector_hits, start=1):
            fused[cid] += 1.0 / (RRF_K + rank)
            vrank[cid] = rank
        for rank, (cid, _bm25) in enumerate(keyword_hits, start=1):
            fused[cid] += 1.0 / (RRF_K + rank)
            krank[cid] = rank
        rows = self.store.chunks(sorted(fused))

        # 4. The routing prior of each chunk's document.
        score = {
            cid: f + PRIOR_WEIGHT * priors.get(rows[cid].doc_id, 0.0)
            for cid, f in fused.items()
            if cid in rows
        }
        ordered = sorted(score, key=lambda c: (-score[c], c))

        # 5. Pages: scored from all their candidate chunks, the best of them scored again by
        #    the second stage; each page then offers its best chunk.
        final = score
        if opt.pages:
            pages = self._by_page(ordered, score, rows)
            slot_scores = [p.first for p in pages]
            if opt.rerank:
                pages = rerank(
                    self.store,
                    query,
                    qv,
                    keyword_terms(query),
                    pages,
                    score,
                    priors,
                    krank,
                    rare=rare_terms(df or {}),
                )
                # A hit's score is the first-stage score of the place its page now holds, so
                # scores fall with the order (hits of several collections merge by them).
                final = dict(score)
                for p, s in zip(pages, slot_scores, strict=True):
                    final[p.chunks[0]] = s
            ordered = [p.chunks[0] for p in pages] + [c for p in pages for c in p.chunks[1:]]

        # 6. Walk best first, skipping near-duplicates of what was already taken.
        chosen = self._diverse(ordered, rows, opt)
        return [self._hit(rows[c], final[c], vrank.get(c), krank.get(c)) for c in chosen]

    @staticmethod
    def _by_page(
        ordered: list[int], score: dict[int, float], rows: dict[int, ChunkRow]
    ) -> list[PageCandidate]:
        """The candidate chunks grouped by page (for documents without pages: by stretches of
        a section as long as a page), pages best first: a page scores its best chunk plus a
        share of each further one, each page's chunks best first."""
        pages: dict[tuple[int, int, int], list[int]] = defaultdict(list)
        paged: dict[tuple[int, int, int], bool] = {}
        for cid in ordered:  # best first, so each page's list is best first
            r = rows[cid]
            is_pdf = r.path.lower().endswith(".pdf")
            key = (r.doc_id, r.page, unit_of(r.page, r.start, is_pdf))
            pages[key].append(cid)
            paged[key] = is_pdf
        page_score = {
            key: score[ids[0]] + PAGE_SUPPORT * sum(score[c] for c in ids[1:])
            for key, ids in pages.items()
        }
        best = sorted(pages, key=lambda key: (-page_score[key], key))
        return [
            PageCandidate(key[0], key[1], tuple(pages[key]), key[2], paged[key], page_score[key])
            for key in best
        ]

    @staticmethod
    def _diverse(ordered: list[int], rows: dict[int, ChunkRow], opt: SearchOptions) -> list[int]:
        """The first ``k`` chunks, skipping any that says what a chosen one says: the same
        words with at most a few changed (copies of a paragraph in many files). The passage
        text alone is compared, not its header, and figures count as words, so last
        quarter's table is no duplicate of this quarter's."""
        if not opt.diversity:
            return ordered[: opt.k]
        chosen: list[int] = []
        chosen_words: list[frozenset[str]] = []
        for cid in ordered:
            if len(chosen) >= opt.k:
                break
            words = frozenset(_WORD.findall(rows[cid].text.lower()))
            if any(
                len(words & other) >= NEAR_DUPLICATE_OVERLAP * len(words | other)
                for other in chosen_words
            ):
                continue
            chosen_words.append(words)
            chosen.append(cid)
        return chosen

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
            context=row.context,
            unavailable=row.unavailable,
            ocr=row.ocr,
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
        ids, sims = self.store.similarities(qv, self.embedder.dim)
        sim_of = {int(i): float(s) for i, s in zip(ids, sims, strict=True)}

        # Keyword evidence: chunks containing all content words (AND), scanned without a limit.
        terms = keyword_terms(query)
        keyword_chunks = (
            {cid for cid, _ in self.store.search_terms(terms, "AND", None)} if terms else set()
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
