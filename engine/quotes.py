"""Answers made of quotes: the exact sentences of the sources that answer the question.

A small model (under about a billion parameters) writes fluent sentences that its sources do
not back. With the "Answer with quotes" preset, the answer is instead made of sentences copied
from the retrieved passages, each with its citation: nothing in it is the model's own words.
Sentences are chosen by how close they are to the question (MiniLM similarity and shared words)
and by the rank of their passage; where the person asks for it, the model then picks among the
best of them by number, so its choice can only ever be a sentence of the sources.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .budget import IncludedSource
from .claims import content_words

QUOTES = "quotes"
# What opens the optional line the model writes after the quotes: it is not a quote.
MODEL_SUMMARY_LABEL = "In short (written by the model, not a quote):"
ANSWER = "answer"
AUTO = "auto"
# Models below this many parameters answer with quotes unless the person chooses otherwise.
SMALL_MODEL_PARAMETERS = 1_000_000_000

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"“(\[]?[A-Z0-9])|\n{2,}")

Similarity = Callable[[Sequence[str], Sequence[str]], np.ndarray]


def preset_for(parameters: int, chosen: str) -> str:
    """The preset to use: "auto" means quotes for a small model, a written answer otherwise."""
    if chosen != AUTO:
        return chosen
    return QUOTES if 0 < parameters < SMALL_MODEL_PARAMETERS else ANSWER


def small_model_notice(parameters: int) -> str:
    size = f"{parameters / 1e6:.0f} million" if parameters < 1e9 else f"{parameters / 1e9:.1f}B"
    return (
        f"Answered with quotes from your documents: the model is small ({size} parameters) and "
        "could write things the documents do not say. Choose “Answer with citations” in the "
        "settings for a written answer."
    )


@dataclass(frozen=True)
class Quote:
    number: int  # the source's [n]
    text: str
    score: float
    order: int = 0  # where it stands in the sources: source by source, then in the text


def rank_sentences(
    question: str,
    sources: Sequence[IncludedSource],
    similarity: Similarity | None = None,
) -> list[Quote]:
    """Every quotable sentence of the sources, best answer to the question first."""
    candidates: list[tuple[int, int, str]] = []  # source rank, number, sentence
    for s in sources:
        for piece in _SENTENCE.split(s.text):
            sent = " ".join(piece.split())
            if 4 <= len(sent.split()) <= 80:
                candidates.append((s.rank, s.number, sent))
    if not candidates:
        return []
    texts = [c[2] for c in candidates]
    sims = (
        similarity([question], texts)[0]
        if similarity is not None
        else np.zeros(len(texts), dtype=np.float32)
    )
    asked = content_words(question)
    scored: list[Quote] = []
    for order, ((rank, number, sent), sim) in enumerate(zip(candidates, sims, strict=True)):
        words = len(asked & content_words(sent)) / len(asked) if asked else 0.0
        # Meaning first, shared words next, and a little for the passage's retrieval rank.
        score = float(sim) + 0.5 * words + 0.05 / rank
        scored.append(Quote(number, sent, score, order))
    # Stable: equal scores keep source order.
    return sorted(scored, key=lambda q: -q.score)


def pick_quotes(
    question: str,
    sources: Sequence[IncludedSource],
    similarity: Similarity | None = None,
    limit: int = 3,
) -> list[Quote]:
    """The sentences of the sources that best answer the question, in source order."""
    ranked = rank_sentences(question, sources, similarity)
    best = ranked[:limit]
    if best:  # keep only quotes nearly as good as the best one
        best = [q for q in best if q.score >= best[0].score * 0.75]
    return in_source_order(best)


def in_source_order(quotes: Sequence[Quote]) -> list[Quote]:
    return sorted(quotes, key=lambda q: q.order)


# How many of the best sentences the model chooses among when it picks the quotes.
PICK_SHORTLIST = 8
# The question put to the model when it picks the quotes: it answers with numbers only.
PICK_INSTRUCTION = (
    "Which of the numbered sentences answer the question? Reply with the numbers of the "
    "sentences that answer it, best first, separated by commas, and nothing else."
)


def numbered_sentences(quotes: Sequence[Quote]) -> str:
    return "\n".join(f"{i}. {q.text}" for i, q in enumerate(quotes, 1))


def chosen_numbers(reply: str, count: int, limit: int = 3) -> list[int]:
    """The sentence numbers (1..count) in the model's reply, in its order, without repeats.

    Only the reply's leading run of numbers counts: a reply that goes on to write sentences
    contributes nothing after its first word that is not a number."""
    picked: list[int] = []
    for token in re.split(r"[\s,;.:&]+|\band\b", reply.strip()):
        if not token:
            continue
        if not token.isdigit():
            break
        n = int(token)
        if 1 <= n <= count and n not in picked:
            picked.append(n)
        if len(picked) == limit:
            break
    return picked


def quote_text(quotes: Sequence[Quote]) -> str:
    """The answer: one quoted sentence per line, each with its source marker."""
    return "\n".join(f"“{q.text.rstrip()}” [{q.number}]" for q in quotes)
