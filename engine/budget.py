"""Context-window budgeting in the model's own tokens.

The prompt is: system message, past turns, then one user message with the fenced sources and
the question, followed by room reserved for the answer. The plan below decides what goes in and
reports what was left out; the final prompt is measured with the model's own tokenizer and
shrunk until it fits, so it can never overflow, whatever the settings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .prompts import (
    FENCE_CLOSE,
    FENCE_OPEN,
    ChatMessage,
    Segment,
    edge_order,
    source_label,
    user_message,
)
from .types import Hit

# Tokens added to each estimate for merges at piece boundaries; the exact check corrects the rest.
_SLACK = 4
# A trimmed source shorter than this many tokens is not worth including.
MIN_TRIM_TOKENS = 24
_SENTENCE = re.compile(r"(?<=[.!?…])\s+")


@dataclass(frozen=True)
class Turn:
    """A past exchange. ``sent`` is the user message exactly as it was sent (with its sources):
    sending it again unchanged lets llama.cpp reuse its cached tokens."""

    question: str
    answer: str
    sent: ChatMessage | None = None


@dataclass(frozen=True)
class IncludedSource:
    number: int  # the [n] the model sees
    rank: int  # 1 = best retrieved
    hit: Hit
    text: str  # the text as sent (shorter than hit.text when trimmed)
    tokens: int
    trimmed: bool


@dataclass(frozen=True)
class CutSource:
    rank: int
    hit: Hit
    reason: str


@dataclass
class PromptPlan:
    messages: list[ChatMessage]
    tokens: list[int]
    included: list[IncludedSource]
    cut: list[CutSource]
    n_ctx: int
    reserve: int  # tokens kept free for the answer
    limit: int  # n_ctx - reserve: the prompt never exceeds this
    history_verbatim: int = 0
    history_compact: int = 0
    history_dropped: int = 0
    question_truncated: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def prompt_tokens(self) -> int:
        return len(self.tokens)


class PromptTokens(Protocol):
    """What the budget needs from a model: count plain text, and tokenize a whole chat."""

    def count(self, text: str) -> int: ...

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> list[int]: ...


def answer_reserve(n_ctx: int, max_answer_tokens: int) -> int:
    """Tokens kept for the answer: the setting, but never more than half the window."""
    return max(16, min(max_answer_tokens, n_ctx // 2))


def trim_to_tokens(text: str, budget: int, count: Callable[[str], int]) -> str:
    """The longest prefix of whole sentences within ``budget`` tokens (whole words when even
    the first sentence is too long; "" when nothing fits)."""
    if budget <= 0:
        return ""
    if count(text) <= budget:
        return text
    sentences = _SENTENCE.split(text.strip())
    lo, hi = 0, len(sentences)
    while lo < hi:  # largest n with the first n sentences within budget
        mid = (lo + hi + 1) // 2
        if count(" ".join(sentences[:mid])) <= budget:
            lo = mid
        else:
            hi = mid - 1
    if lo > 0:
        return " ".join(sentences[:lo])
    words = sentences[0].split()
    lo, hi = 0, len(words)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(" ".join(words[:mid]) + " …") <= budget:
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo]) + " …" if lo else ""


def _truncate_words(text: str, budget_fn: Callable[[str], bool]) -> str:
    words = text.split()
    lo, hi = 0, len(words)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if budget_fn(" ".join(words[:mid]) + " …"):
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo]) + " …" if lo else ""


def plan_prompt(
    model: PromptTokens,
    *,
    system: ChatMessage,
    question: str,
    hits: Sequence[Hit],
    history: Sequence[Turn],
    n_ctx: int,
    max_answer_tokens: int,
    edge_ordering: bool = True,
    with_collection: bool = False,
    max_prompt_tokens: int | None = None,
    plain: bool = False,
) -> PromptPlan:
    """Fit system + history + sources + question into ``n_ctx`` minus the answer reserve.

    Priority when space runs out: the system message and the question stay; sources are packed
    best-first (the last one trimmed at a sentence boundary); past turns fill what is left,
    newest first (whole, then without their sources, then dropped). ``max_prompt_tokens`` (from
    the time-to-first-token cap) limits sources and history further, never the question.
    """
    count = model.count
    reserve = answer_reserve(n_ctx, max_answer_tokens)
    limit = n_ctx - reserve
    notes: list[str] = []

    # 1. The fixed part: system message and question, no sources, no history.
    def fixed_len(sys_msg: ChatMessage, q: str) -> int:
        return len(model.prompt_tokens([sys_msg, user_message(q, [], with_collection, plain)]))

    question_truncated = False
    base = fixed_len(system, question)
    if base > limit:
        question_truncated = True
        question = _truncate_words(question, lambda q: fixed_len(system, q) <= limit)
        base = fixed_len(system, question)
        notes.append("The question was too long for the model's context window and was shortened.")
    if base > limit:  # a tiny window: even the rules do not fit; keep what does
        rules = system.text
        short = _truncate_words(
            rules, lambda r: fixed_len(ChatMessage("system", (Segment(r),)), question) <= limit
        )
        system = ChatMessage("system", (Segment(short),))
        notes.append("The context window is too small for Folio's instructions; they were cut.")

    cap = limit if max_prompt_tokens is None else max(min(limit, max_prompt_tokens), 0)
    base = fixed_len(system, question)

    # 2. Sources, best first. The fence costs a few tokens once; each source its label + text.
    fence = count(f"{FENCE_OPEN}\n{FENCE_CLOSE}\n\n") + _SLACK
    avail = cap - base - fence
    chosen: list[tuple[int, Hit, str, int, bool]] = []  # rank, hit, text, tokens, trimmed
    cut: list[CutSource] = []
    reason = (
        "no room left in the context window"
        if cap == limit
        else "left out to keep the time to first token under the cap"
    )
    for rank, hit in enumerate(hits, start=1):
        if cut:  # packing stopped: everything weaker is left out too
            cut.append(CutSource(rank, hit, reason))
            continue
        label = count(source_label(len(hits), hit, with_collection)) + _SLACK
        text = hit.text.strip()
        cost = label + count(text)
        if cost <= avail:
            chosen.append((rank, hit, text, cost - label, False))
            avail -= cost
            continue
        # The first source that does not fit is trimmed at a sentence boundary, if enough room
        # is left for it to be useful; packing stops there.
        if avail - label >= MIN_TRIM_TOKENS:
            short = trim_to_tokens(text, avail - label, count)
            if short:
                n = count(short)
                chosen.append((rank, hit, short, n, True))
                avail -= label + n
                cut.append(CutSource(-1, hit, ""))  # marks "stopped"; removed below
                continue
        cut.append(CutSource(rank, hit, reason))
    cut = [c for c in cut if c.rank > 0]

    # 3. History, newest first, with what is left.
    if not chosen:
        avail = cap - base
    kept_turns: list[tuple[Turn, bool]] = []  # (turn, verbatim)
    for turn in reversed(history):
        whole = (turn.sent.text if turn.sent else turn.question) + turn.answer
        compact = turn.question + turn.answer
        if turn.sent is not None and count(whole) + 3 * _SLACK <= avail:
            kept_turns.append((turn, True))
            avail -= count(whole) + 3 * _SLACK
        elif count(compact) + 3 * _SLACK <= avail:
            kept_turns.append((turn, False))
            avail -= count(compact) + 3 * _SLACK
        else:
            break
    kept_turns.reverse()

    # 4. Assemble, then measure exactly; shrink until the prompt fits.
    while True:
        order = edge_order(chosen) if edge_ordering else list(chosen)
        numbered = [(i, item) for i, item in enumerate(order, start=1)]
        messages = [system]
        for turn, verbatim in kept_turns:
            if verbatim and turn.sent is not None:
                messages.append(turn.sent)
            else:
                messages.append(user_message(turn.question, [], with_collection, plain))
            messages.append(ChatMessage("assistant", (Segment(turn.answer),)))
        sources = [(i, item[1], item[2]) for i, item in numbered]
        messages.append(user_message(question, sources, with_collection, plain))
        tokens = model.prompt_tokens(messages)
        over = len(tokens) > limit or (
            len(tokens) > cap and (kept_turns or chosen) and len(tokens) > base
        )
        if not over:
            break
        if kept_turns:  # oldest history goes first
            kept_turns.pop(0)
        elif chosen:  # then the weakest source
            rank, hit, *_ = chosen.pop()
            cut.insert(0, CutSource(rank, hit, reason))
        else:  # nothing optional left: the fixed part alone fits by construction
            break

    cut.sort(key=lambda c: c.rank)
    included = [IncludedSource(i, *item) for i, item in numbered]
    n_verbatim = sum(1 for _, whole in kept_turns if whole)
    return PromptPlan(
        messages=messages,
        tokens=tokens,
        included=included,
        cut=cut,
        n_ctx=n_ctx,
        reserve=reserve,
        limit=limit,
        history_verbatim=n_verbatim,
        history_compact=len(kept_turns) - n_verbatim,
        history_dropped=len(history) - len(kept_turns),
        question_truncated=question_truncated,
        notes=notes,
    )
