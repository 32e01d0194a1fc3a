"""Citations: map the model's [n] markers to passages and check each cited sentence.

A sentence is *supported* when it agrees with the source it cites (its content words appear in
the passage, or its meaning is close by embedding similarity), *unsupported* when it does not.
When the model cites nothing at all, each sentence is attributed to its best-matching source and
marked *inferred*, so the reader still sees where the answer probably comes from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .budget import IncludedSource

# [1]  [1, 2]  [1-3]  [Source 2]  [source 1; 4]
_MARKER = re.compile(
    r"\[\s*(?:sources?\s*)?(\d{1,3}(?:\s*(?:,|;|-|–|and)\s*(?:sources?\s*)?\d{1,3})*)\s*\]",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOP = frozenset(
    """a an the and or but if then than of to in on at by for with from as is are was were be
    been being it its this that these those there their they them he she his her we our you your
    i me my not no yes do does did done have has had can could will would should may might must
    so such also into about over under between which who whom whose what when where why how all
    any each other some more most very only just per via""".split()
)

SUPPORTED, UNSUPPORTED, INFERRED = "supported", "unsupported", "inferred"
# A cited sentence is supported when its score (the larger of content-word overlap and
# embedding similarity with the passage) reaches this.
SUPPORT_THRESHOLD = 0.5
# An uncited sentence is attributed to its best source only when they match at least this well.
INFER_THRESHOLD = 0.35

Similarity = Callable[[Sequence[str], Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Citation:
    number: int
    chunk_id: int
    doc_id: int
    path: str
    page: int
    start: int
    end: int
    location: str
    collection: str
    sentence: str
    sentence_start: int  # character span of the sentence in the answer text
    sentence_end: int
    status: str  # supported | unsupported | inferred
    score: float

    def to_json(self) -> dict[str, object]:
        return {
            "number": self.number,
            "document": self.path,
            "page": self.page,
            "location": self.location,
            "span": [self.start, self.end],
            "collection": self.collection,
            "sentence": self.sentence,
            "status": self.status,
            "score": round(self.score, 3),
        }


@dataclass(frozen=True)
class CitedAnswer:
    text: str  # the answer with invalid markers removed
    citations: list[Citation]
    dropped_markers: list[int]  # numbers that matched no source


def content_words(text: str) -> set[str]:
    words = set()
    for w in _WORD.findall(text.lower()):
        if w in _STOP or (len(w) < 2 and not w.isdigit()):
            continue
        # A light stemmer: plural and -ing/-ed endings, enough to match "reports" to "report".
        for suffix in ("ing", "ed", "es", "s"):
            if len(w) > len(suffix) + 3 and w.endswith(suffix):
                w = w[: -len(suffix)]
                break
        words.add(w)
    return words


def overlap(sentence: str, passage: str) -> float:
    """Share of the sentence's content words found in the passage (0..1)."""
    words = content_words(sentence)
    if not words:
        return 0.0
    return len(words & content_words(passage)) / len(words)


def _numbers(group: str) -> list[int]:
    out: list[int] = []
    parts = re.split(r"\s*(?:,|;|and)\s*", re.sub(r"(?i)sources?", "", group))
    for part in parts:
        if re.fullmatch(r"\s*\d+\s*[-–]\s*\d+\s*", part):
            a, b = (int(x) for x in re.split(r"[-–]", part))
            if 0 < b - a < 20:
                out.extend(range(a, b + 1))
                continue
        out.extend(int(x) for x in re.findall(r"\d+", part))
    return out


def _sentences(text: str) -> list[tuple[int, int]]:
    spans = []
    pos = 0
    for piece in _SENTENCE_END.split(text):
        start = text.find(piece, pos)
        end = start + len(piece)
        pos = end
        if piece.strip():
            spans.append((start, end))
    return spans


def cite(
    answer: str,
    sources: Sequence[IncludedSource],
    similarity: Similarity | None = None,
) -> CitedAnswer:
    """Map markers to sources, drop invalid ones and check every cited sentence."""
    by_number = {s.number: s for s in sources}
    dropped: list[int] = []

    # 1. Remove markers that name no source; keep the valid ones in the text.
    def keep_valid(m: re.Match[str]) -> str:
        nums = _numbers(m.group(1))
        good = [n for n in nums if n in by_number]
        dropped.extend(n for n in nums if n not in by_number)
        return "".join(f"[{n}]" for n in dict.fromkeys(good))

    text = _MARKER.sub(keep_valid, answer)
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text).strip()  # "fact [9]." -> "fact."

    # 2. Sentences with the markers inside them; markers that open a sentence belong to the one
    # before it ("It is blue. [1] The sea ..." cites [1] for "It is blue.").
    spans = _sentences(text)
    cited: list[tuple[int, int, list[int]]] = []
    for start, end in spans:
        piece = text[start:end]
        lead = re.match(r"\s*((?:\[\d+\]\s*)+)", piece)
        nums = [int(n) for n in re.findall(r"\[(\d+)\]", piece)]
        if lead and cited:
            lead_nums = [int(n) for n in re.findall(r"\d+", lead.group(1))]
            cited[-1][2].extend(lead_nums)
            nums = nums[len(lead_nums) :]
            start += lead.end()
        if text[start:end].strip():
            cited.append((start, end, nums))

    def clean(s: str) -> str:
        flat = " ".join(re.sub(r"\[\d+\]", " ", s).split())
        return re.sub(r" ([.,;:!?])", r"\1", flat)

    sentences = [clean(text[a:b]) for a, b, _ in cited]
    passages = [s.text for s in sources]
    sim = (
        similarity(sentences, passages)
        if similarity is not None and sentences and passages
        else np.zeros((len(sentences), len(passages)), dtype=np.float32)
    )

    def score(i: int, number: int) -> float:
        j = next(k for k, s in enumerate(sources) if s.number == number)
        return max(overlap(sentences[i], sources[j].text), float(sim[i, j]))

    citations: list[Citation] = []
    any_marker = any(nums for _, _, nums in cited)
    for i, (a, b, nums) in enumerate(cited):
        if any_marker:
            for n in dict.fromkeys(nums):
                sc = score(i, n)
                status = SUPPORTED if sc >= SUPPORT_THRESHOLD else UNSUPPORTED
                citations.append(_citation(by_number[n], sentences[i], a, b, status, sc))
        elif sources and content_words(sentences[i]):
            best = max(by_number, key=lambda n: score(i, n))
            if score(i, best) >= INFER_THRESHOLD:
                citations.append(
                    _citation(by_number[best], sentences[i], a, b, INFERRED, score(i, best))
                )
    return CitedAnswer(text=text, citations=citations, dropped_markers=dropped)


def _citation(
    src: IncludedSource, sentence: str, a: int, b: int, status: str, score: float
) -> Citation:
    h = src.hit
    return Citation(
        number=src.number,
        chunk_id=h.chunk_id,
        doc_id=h.doc_id,
        path=h.path,
        page=h.page,
        start=h.start,
        end=h.end,
        location=h.location,
        collection=h.collection,
        sentence=sentence,
        sentence_start=a,
        sentence_end=b,
        status=status,
        score=score,
    )
