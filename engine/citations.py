"""Citations: map the model's [n] markers to passages and check each sentence.

Each sentence of an answer gets its own status from the claim check (``engine.claims``):
*supported*, *likely* (no figures or names to check, but the words match), *unsupported* (with
the reason), and for sentences without a marker *inferred* (attributed to the source that backs
it) or *no source* (a statement no source backs). A source's overall status is the worst of the
sentences that cite it: one wrong sentence is enough to doubt it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .budget import IncludedSource
from .claims import (
    INFERRED,
    LIKELY,
    NO_SOURCE,
    SEVERITY,
    SUPPORTED,
    UNSUPPORTED,
    Passage,
    Verdict,
    check,
    content_words,
    overlap,
    quantities,
)

__all__ = [
    "INFERRED",
    "LIKELY",
    "NO_SOURCE",
    "SUPPORTED",
    "UNSUPPORTED",
    "Citation",
    "CitedAnswer",
    "SentenceCheck",
    "cite",
    "content_words",
    "overlap",
    "worst",
]

# [1]  [1, 2]  [1-3]  [Source 2]  [source 1; 4]
_MARKER = re.compile(
    r"\[\s*(?:sources?\s*)?(\d{1,3}(?:\s*(?:,|;|-|–|and)\s*(?:sources?\s*)?\d{1,3})*)\s*\]",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
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
    status: str  # the sentence's status: supported | likely | unsupported | inferred
    score: float
    reason: str = ""  # why it is not supported, for a person to read

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
            "reason": self.reason,
            "score": round(self.score, 3),
        }


@dataclass(frozen=True)
class SentenceCheck:
    """One sentence of an answer and its own mark."""

    text: str  # without its markers
    start: int  # character span in the answer text (markers included)
    end: int
    sources: list[int]  # the [n] it cites, or the source it is inferred from
    status: str  # supported | likely | unsupported | inferred | no source
    reason: str

    def to_json(self) -> dict[str, object]:
        return {
            "sentence": self.text,
            "span": [self.start, self.end],
            "sources": self.sources,
            "status": self.status,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class CitedAnswer:
    text: str  # the answer with invalid markers removed
    citations: list[Citation]
    dropped_markers: list[int]  # numbers that matched no source
    sentences: list[SentenceCheck] = field(default_factory=list)


def worst(statuses: Sequence[str]) -> str:
    """The status a source chip shows for all the sentences that cite it."""
    return max(statuses, key=lambda s: SEVERITY.get(s, 0))


def summary_line(sentences: Sequence[SentenceCheck]) -> str:
    """One line such as "2 of 3 statements are backed by the sources." ("" for none)."""
    if not sentences:
        return ""
    backed = sum(1 for s in sentences if s.status in (SUPPORTED, INFERRED))
    likely = sum(1 for s in sentences if s.status == LIKELY)
    n = len(sentences)
    if n == 1:
        line = (
            "The statement is backed by the sources."
            if backed
            else "The statement is not backed by the sources."
        )
    else:
        line = f"{backed} of {n} statements are backed by the sources."
    if likely:
        line += f" {likely} more match{'es' if likely == 1 else ''} them in wording only."
    return line


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

    index = {s.number: k for k, s in enumerate(sources)}

    def passage(n: int) -> Passage:
        src = by_number[n]
        return Passage(n, src.text, src.hit.context)

    def verdict(i: int, numbers: Sequence[int]) -> Verdict:
        return check(
            sentences[i], [passage(n) for n in numbers], [float(sim[i, index[n]]) for n in numbers]
        )

    citations: list[Citation] = []
    checks: list[SentenceCheck] = []
    for i, (a, b, nums) in enumerate(cited):
        nums = list(dict.fromkeys(nums))
        if nums:
            v = verdict(i, nums)
            status = v.status
            for n in nums:
                citations.append(_citation(by_number[n], sentences[i], a, b, status, v))
            checks.append(SentenceCheck(sentences[i], a, b, nums, status, v.reason))
            continue
        # No marker: attribute the sentence to the source that backs it, if one does.
        if not _is_statement(sentences[i]):
            continue
        verdicts = [(n, verdict(i, [n])) for n in by_number]
        backing = [(n, v) for n, v in verdicts if v.status in (SUPPORTED, LIKELY)]
        if backing:
            n, v = max(backing, key=lambda nv: (nv[1].status == SUPPORTED, nv[1].score))
            reason = f"It cites no source; source [{n}] backs it."
            citations.append(_citation(by_number[n], sentences[i], a, b, INFERRED, v))
            checks.append(SentenceCheck(sentences[i], a, b, [n], INFERRED, reason))
        else:
            reason = "It cites no source, and no source backs it."
            conflicts = [v for _, v in verdicts if v.conflict]
            if conflicts:
                reason = "It cites no source. " + max(conflicts, key=lambda v: v.score).reason
            checks.append(SentenceCheck(sentences[i], a, b, [], NO_SOURCE, reason))
    return CitedAnswer(text=text, citations=citations, dropped_markers=dropped, sentences=checks)


def _is_statement(sentence: str) -> bool:
    """Worth checking: says something (two content words or a figure), and is not a question."""
    if sentence.rstrip().endswith("?"):
        return False
    return len(content_words(sentence)) >= 2 or bool(quantities(sentence))


def _citation(
    src: IncludedSource, sentence: str, a: int, b: int, status: str, v: Verdict
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
        score=v.score,
        reason=v.reason,
    )
