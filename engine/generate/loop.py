"""Detect a generation that has started repeating itself (small models do, until max tokens)."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?!\S*\d)|\n+")
# What opens a list item: "12.", "3)", "-", "*", "•", "Step 4:" (only the counter may change
# between two copies of a repeated line; every other digit and word must be the same).
_ENUMERATOR = re.compile(r"^\s*(?:[-*•]\s*)?(?:(?:step\s+)?\d+\s*[.):]\s+)?", re.IGNORECASE)


class LoopDetector:
    """Fed one token at a time; ``loop_start`` is set once the tail repeats.

    Two signals:
    - the last tokens are one block of ``p`` tokens repeated back to back (at least 3 times, and
      at least ``min_span`` tokens in all, so "very very" does not count);
    - one sentence (or line) of at least ``min_sentence`` characters appears a third time
      anywhere, or a shorter one with at least 10 letters a fourth time. Lines are compared
      word for word and digit for digit: "Q1 sales were 10.2 million" and "Q2 sales were 11.3
      million" are two items of a list, not a loop. Only a list counter is ignored, so
      "12. Same item" and "13. Same item" count as the same line.
    ``loop_start`` is the token index where the repeats begin: everything before it, plus one
    copy of the repeated block, is kept.
    """

    def __init__(self, max_period: int = 80, min_span: int = 30, min_sentence: int = 20) -> None:
        self.max_period = max_period
        self.min_span = min_span
        self.min_sentence = min_sentence
        self.tokens: list[int] = []
        self.loop_start: int | None = None
        self.kind = ""

    def feed(self, token: int) -> bool:
        """Add a token; True when a loop is detected (then ``loop_start`` says where to cut)."""
        self.tokens.append(token)
        if self.loop_start is not None:
            return True
        toks = self.tokens
        n = len(toks)
        for p in range(1, min(self.max_period, n // 3) + 1):
            reps = max(3, -(-self.min_span // p))  # ceil(min_span / p), at least 3
            if reps * p > n:
                continue
            block = toks[n - p :]
            if all(toks[n - (r + 1) * p : n - r * p] == block for r in range(1, reps)):
                self.loop_start = n - (reps - 1) * p
                self.kind = "tokens"
                return True
        return False

    def check_text(self, text: str) -> int | None:
        """Character offset where a sentence appears for the third time, or None."""
        seen: dict[str, int] = {}
        pos = 0
        for piece in _SENTENCE_END.split(text):
            start = text.find(piece, pos)
            pos = start + len(piece)
            key = " ".join(_ENUMERATOR.sub("", piece.lower()).split())
            letters = sum(ch.isalpha() for ch in key)
            if letters < 10:
                continue
            seen[key] = seen.get(key, 0) + 1
            if seen[key] == (3 if len(key) >= self.min_sentence else 4):
                return start
        return None
