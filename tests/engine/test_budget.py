"""Context budgeting with the real model's tokenizer: the prompt never overflows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.budget import Turn, answer_reserve, plan_prompt, trim_to_tokens
from engine.generate.base import Generator
from engine.prompts import BUILTIN_PRESETS, FENCE_CLOSE, FENCE_OPEN, system_message, user_message
from engine.types import Hit

WORDS = (
    "The committee approved the annual budget after a long debate about staff costs, travel and "
    "the new office lease. Revenue grew by 12 percent; expenses rose faster. Café prices, naïve "
    "estimates and 東京 offices were noted. Each department must report by March 3rd!"
).split()


@pytest.fixture(scope="module")
def model() -> Iterator[Generator]:
    from engine.generate import GenSettings, load_generator

    yield load_generator(settings=GenSettings(n_ctx=8192))


def make_hits(n: int, words_per_chunk: int, seed: int) -> list[Hit]:
    hits = []
    for i in range(n):
        body = " ".join(WORDS[(seed + i * 7 + j) % len(WORDS)] for j in range(words_per_chunk))
        # A unique tag per source shows whether its text made it into the prompt.
        text = f"SRCTAG{i}X. {body}"
        hits.append(
            Hit(i + 1, i + 1, f"/docs/report{i}.pdf", i % 9 + 1, 0, len(text), text, 1 / (i + 1))
        )
    return hits


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    n_ctx=st.integers(256, 8192),
    k=st.integers(0, 50),
    chunk_words=st.integers(5, 400),
    question_words=st.integers(1, 2000),
    history_turns=st.integers(0, 4),
    max_answer=st.integers(16, 2048),
    edge=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_prompt_never_exceeds_window(
    model: Generator,
    n_ctx: int,
    k: int,
    chunk_words: int,
    question_words: int,
    history_turns: int,
    max_answer: int,
    edge: bool,
    seed: int,
) -> None:
    hits = make_hits(k, chunk_words, seed)
    question = " ".join(WORDS[(seed + j) % len(WORDS)] for j in range(question_words)) + "?"
    history = [
        Turn(
            f"earlier question {t}",
            " ".join(WORDS[: 20 + 30 * t]),
            user_message(
                f"earlier question {t}", [(1, hits[0], hits[0].text)] if hits else [], False
            ),
        )
        for t in range(history_turns)
    ]
    plan = plan_prompt(
        model,
        system=system_message(BUILTIN_PRESETS[0]),
        question=question,
        hits=hits,
        history=history,
        n_ctx=n_ctx,
        max_answer_tokens=max_answer,
        edge_ordering=edge,
    )
    reserve = answer_reserve(n_ctx, max_answer)
    assert plan.reserve == reserve
    # The real prompt, in the model's tokens, leaves the answer reserve free.
    assert len(plan.tokens) <= n_ctx - reserve
    assert plan.tokens == model.prompt_tokens(plan.messages)

    # The report matches the prompt: every source is either included or cut, never both ...
    ranks = [s.rank for s in plan.included] + [c.rank for c in plan.cut]
    assert sorted(ranks) == list(range(1, k + 1))
    # ... included ones are in the current message's sources block, cut ones are not.
    current = plan.messages[-1].text
    for s in plan.included:
        assert f"SRCTAG{s.rank - 1}X" in current or s.trimmed
        assert f"[{s.number}] report{s.rank - 1}.pdf, page {s.hit.page}" in current
    for c in plan.cut:
        assert f"SRCTAG{c.rank - 1}X" not in current
    # Best-first packing: the included sources are exactly the best m.
    assert sorted(s.rank for s in plan.included) == list(range(1, len(plan.included) + 1))
    assert sum(s.trimmed for s in plan.included) <= 1
    # Numbers are 1..n in the order the sources appear.
    assert [s.number for s in plan.included] == list(range(1, len(plan.included) + 1))
    positions = [current.index(f"[{s.number}] report") for s in plan.included]
    assert positions == sorted(positions)
    assert plan.history_verbatim + plan.history_compact + plan.history_dropped == history_turns


def test_sources_first_history_dropped_before_sources(model: Generator) -> None:
    hits = make_hits(4, 60, 1)
    history = [Turn(f"q{t}", " ".join(WORDS * 4), None) for t in range(6)]
    plan = plan_prompt(
        model,
        system=system_message(BUILTIN_PRESETS[0]),
        question="What did the committee approve?",
        hits=hits,
        history=history,
        n_ctx=1024,
        max_answer_tokens=256,
    )
    assert len(plan.included) == 4 and not plan.cut
    assert plan.history_dropped > 0
    assert len(plan.tokens) <= 1024 - 256


def test_last_source_trimmed_at_sentence_boundary(model: Generator) -> None:
    sentences = [f"Sentence number {i} says the budget grew by {i} percent." for i in range(80)]
    text = " ".join(sentences)
    hits = [Hit(i, i, f"/d/{i}.pdf", 1, 0, len(text), text, 1.0) for i in range(1, 4)]
    plan = plan_prompt(
        model,
        system=system_message(BUILTIN_PRESETS[0]),
        question="How much did the budget grow?",
        hits=hits,
        history=[],
        n_ctx=2048,
        max_answer_tokens=256,
    )
    trimmed = [s for s in plan.included if s.trimmed]
    assert len(trimmed) == 1
    assert trimmed[0].text.endswith("percent.")  # a whole sentence, not cut mid-word
    assert trimmed[0].text in text
    assert plan.cut and plan.cut[0].reason.startswith("no room")


def test_trim_to_tokens_long_first_sentence(model: Generator) -> None:
    text = "word " * 500
    short = trim_to_tokens(text, 20, model.count)
    assert short.endswith("…") and model.count(short) <= 20


def test_time_cap_limits_sources_not_question(model: Generator) -> None:
    hits = make_hits(10, 100, 3)
    kwargs = dict(
        system=system_message(BUILTIN_PRESETS[0]),
        question="What did the committee approve?",
        hits=hits,
        history=[],
        n_ctx=8192,
        max_answer_tokens=256,
    )
    free = plan_prompt(model, **kwargs)  # type: ignore[arg-type]
    capped = plan_prompt(model, max_prompt_tokens=600, **kwargs)  # type: ignore[arg-type]
    assert len(free.included) == 10
    assert len(capped.tokens) <= 600 < len(free.tokens)
    assert capped.cut and "time to first token" in capped.cut[0].reason
    assert "What did the committee approve?" in capped.messages[-1].text


def test_fence_wraps_sources(model: Generator) -> None:
    plan = plan_prompt(
        model,
        system=system_message(BUILTIN_PRESETS[0]),
        question="q?",
        hits=make_hits(2, 10, 0),
        history=[],
        n_ctx=2048,
        max_answer_tokens=128,
    )
    text = plan.messages[-1].text
    assert text.index(FENCE_OPEN) < text.index("SRCTAG0X") < text.index(FENCE_CLOSE)
    assert text.index(FENCE_CLOSE) < text.index("Question: q?")
