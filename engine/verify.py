"""Check any statement against a collection: claim by claim, with the answers' own checker.

A sentence from an e-mail or a draft is cut into claims; each claim is looked up in the
collection and checked against its best passages one by one. A claim is

- *supported* when a passage backs every figure, name and negation in it (that page is given);
- *contradicted* when a passage about the same thing says something else (that page is given,
  with what it says instead);
- *likely* when a passage matches it in wording but it has no figures or names to check;
- *not found* when no passage says anything about it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .claims import LIKELY, SUPPORTED, Passage, Verdict, check, split_claims
from .types import Hit

CONTRADICTED = "contradicted"
NOT_FOUND = "not found"

Search = Callable[[str, int], list[Hit]]
Similarity = Callable[[Sequence[str], Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class ClaimResult:
    claim: str
    status: str  # supported | contradicted | likely | not found
    reason: str  # a sentence a person can read
    hit: Hit | None  # the passage that supports or contradicts it

    def to_json(self) -> dict[str, object]:
        h = self.hit
        return {
            "claim": self.claim,
            "status": self.status,
            "reason": self.reason,
            "document": h.path if h else None,
            "page": h.page if h else None,
            "location": h.location if h else None,
            "collection": h.collection if h else None,
            "passage": h.snippet(300) if h else None,
        }


def verify(
    statement: str, search: Search, similarity: Similarity | None = None, k: int = 8
) -> list[ClaimResult]:
    """Check each claim of ``statement`` against the passages ``search`` finds for it."""
    results: list[ClaimResult] = []
    for claim in split_claims(statement):
        hits = search(claim, k)
        if not hits:
            results.append(
                ClaimResult(claim, NOT_FOUND, "No passage in the collection is about this.", None)
            )
            continue
        sims = (
            similarity([claim], [h.text for h in hits])[0]
            if similarity is not None
            else np.zeros(len(hits), dtype=np.float32)
        )
        verdicts = [
            (h, check(claim, [Passage(1, h.text, h.context)], [float(sims[i])]))
            for i, h in enumerate(hits)
        ]
        results.append(_judge(claim, verdicts))
    return results


def _judge(claim: str, verdicts: list[tuple[Hit, Verdict]]) -> ClaimResult:
    def where(h: Hit) -> str:
        return f"{h.name}, {h.location}"

    backed = [(h, v) for h, v in verdicts if v.status == SUPPORTED]
    if backed:
        h, _ = max(backed, key=lambda hv: hv[1].score)
        return ClaimResult(claim, SUPPORTED, f"{where(h)} says this.", h)
    conflicts = [(h, v) for h, v in verdicts if v.conflict]
    if conflicts:
        h, v = max(conflicts, key=lambda hv: hv[1].score)
        reason = v.reason.replace("source [1]", where(h)).replace("Source [1]", where(h))
        return ClaimResult(claim, CONTRADICTED, reason, h)
    likely = [(h, v) for h, v in verdicts if v.status == LIKELY]
    if likely:
        h, _ = max(likely, key=lambda hv: hv[1].score)
        return ClaimResult(
            claim,
            LIKELY,
            f"{where(h)} says something close, but there are no figures or names to check.",
            h,
        )
    return ClaimResult(claim, NOT_FOUND, "No passage in the collection says this.", None)


def summary(results: Sequence[ClaimResult]) -> str:
    """One line: "1 of 2 claims is supported by the documents.\""""
    n = len(results)
    if not n:
        return "There is nothing to check in this statement."
    ok = sum(r.status == SUPPORTED for r in results)
    verb = "is" if ok == 1 or n == 1 else "are"
    return f"{ok} of {n} claim{'s' if n != 1 else ''} {verb} supported by the documents."
