from __future__ import annotations

import itertools
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.ingest.chunker import ChunkSettings, chunk_sections
from engine.types import Section


class WordTokens:
    """A stand-in tokenizer for pure-logic tests: one token per word or punctuation mark."""

    def token_starts(self, text: str) -> list[int]:
        return [m.start() for m in re.finditer(r"\w+|[^\w\s]", text)]


def test_chunks_are_exact_slices_within_the_limit() -> None:
    text = " ".join(f"Sentence number {i} says something about topic {i % 7}." for i in range(200))
    sec = Section(page=4, text=text, label="page 4")
    chunks = chunk_sections([sec], WordTokens(), ChunkSettings(max_tokens=50, overlap_tokens=10))
    assert len(chunks) > 10
    for c in chunks:
        assert c.page == 4
        assert text[c.start : c.end] == c.text
        assert c.n_tokens <= 50
        # Chunks start and end on sentence boundaries here, since every sentence is short.
        assert c.text.startswith("Sentence") and c.text.endswith(".")
    # Neighbours overlap: each chunk starts before the previous one ended.
    assert all(b.start < a.end for a, b in itertools.pairwise(chunks))


def test_overlong_sentence_is_split_at_the_limit() -> None:
    text = "word " * 1000
    chunks = chunk_sections(
        [Section(1, text)], WordTokens(), ChunkSettings(max_tokens=64, overlap_tokens=8)
    )
    assert all(c.n_tokens <= 64 for c in chunks)
    covered = "".join(c.text for c in chunks).replace(" ", "")
    assert covered == "word" * 1000


def test_paragraph_boundary_preferred() -> None:
    para = "Alpha beta gamma delta. " * 5
    text = para.strip() + "\n\n" + para.strip()
    chunks = chunk_sections(
        [Section(1, text)], WordTokens(), ChunkSettings(max_tokens=30, overlap_tokens=0)
    )
    assert all("\n\n" not in c.text for c in chunks)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("ab .!?\n\t,é")), max_size=3000),
    limit=st.integers(min_value=1, max_value=80),
    overlap=st.integers(min_value=0, max_value=40),
)
def test_any_text_chunks_within_limits(text: str, limit: int, overlap: int) -> None:
    chunks = chunk_sections(
        [Section(2, text)], WordTokens(), ChunkSettings(max_tokens=limit, overlap_tokens=overlap)
    )
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert 0 < c.n_tokens <= limit
        assert c.text == c.text.strip()
    # Every token of the text is in some chunk.
    starts = WordTokens().token_starts(text)
    for s in starts:
        assert any(c.start <= s < c.end for c in chunks)
