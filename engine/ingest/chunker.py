"""Split sections into chunks measured in the embedding model's own tokens.

Each chunk is an exact slice ``section.text[start:end]`` of one section, so a citation can point
at the passage on its page. Chunks respect paragraph and sentence boundaries where they can,
overlap their neighbours by a few tokens, and never exceed the embedding model's window.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..types import ChunkSpan, Section
from .context import is_table_row


class TokenOffsets(Protocol):
    """Anything that can tell where each token of a text starts (a fast tokenizer does)."""

    def token_starts(self, text: str) -> list[int]: ...


@dataclass(frozen=True)
class ChunkSettings:
    max_tokens: int = 200
    overlap_tokens: int = 32


# A sentence ends at . ! ? (optionally followed by a closing quote or bracket) and whitespace;
# a paragraph ends at a blank line. Both are candidate cut points, and so is every line end.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?[ \t]+")


def _units(text: str) -> list[tuple[int, int, bool]]:
    """Sentence-like units (start, end, starts_paragraph) covering the non-blank text.

    A line of a table ("U.S. Treasury securities 22,274 (1,354) 20,920") is one unit: the
    "." of "U.S." is no sentence end there, and a row is never cut in two.
    """
    spans: list[tuple[int, int, bool]] = []
    para = True
    pos = 0
    for line in text.split("\n"):
        start, end = pos, pos + len(line)
        pos = end + 1
        if not line.strip():
            para = True
            continue
        if is_table_row(line):
            spans.append((start, end, para))
            para = False
            continue
        a = start
        for m in _SENTENCE_END.finditer(line):
            b = start + m.start()
            if text[a:b].strip():
                spans.append((a, b, para))
                para = False
            a = start + m.end()
        if text[a:end].strip():
            spans.append((a, end, para))
            para = False
    return spans


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def chunk_section(
    section: Section, tokens: TokenOffsets, settings: ChunkSettings
) -> Iterator[ChunkSpan]:
    """Chunks of one section, in reading order."""
    text = section.text
    if not text.strip():
        return
    starts = tokens.token_starts(text)
    if not starts:
        return

    def count(a: int, b: int) -> int:
        # Tokens whose first character lies in [a, b).
        return bisect.bisect_left(starts, b) - bisect.bisect_left(starts, a)

    # 1. Cut the section into units no longer than max_tokens: sentences, and within an
    #    over-long sentence, windows of max_tokens tokens cut at a token start.
    limit = settings.max_tokens
    units: list[tuple[int, int, int, bool]] = []  # (start, end, n_tokens, starts_paragraph)
    for a, b, para in _units(text):
        n = count(a, b)
        if n <= limit:
            units.append((a, b, n, para))
            continue
        first = bisect.bisect_left(starts, a)
        last = bisect.bisect_left(starts, b)
        for i in range(first, last, limit):
            s = max(a, starts[i])
            e = starts[i + limit] if i + limit < last else b
            s, e = _strip(text, s, e)
            if e > s:
                units.append((s, e, count(s, e), para and i == first))

    # 2. Pack units greedily; the next chunk starts with the trailing units of the previous one
    #    that fit in the overlap budget, so a fact cut at a boundary is whole in one of them.
    i = 0
    while i < len(units):
        j = i
        total = 0
        while j < len(units) and total + units[j][2] <= limit:
            # Prefer to end a chunk at a paragraph break once it is half full.
            if j > i and units[j][3] and total >= limit // 2:
                break
            total += units[j][2]
            j += 1
        if j == i:  # cannot happen after step 1, but never loop forever
            j = i + 1
        s, e = _strip(text, units[i][0], units[j - 1][1])
        yield ChunkSpan(page=section.page, start=s, end=e, text=text[s:e], n_tokens=count(s, e))
        if j >= len(units):
            break
        # Step back over whole units worth at most overlap_tokens, but always advance.
        back = j
        carried = 0
        while back - 1 > i and carried + units[back - 1][2] <= settings.overlap_tokens:
            back -= 1
            carried += units[back][2]
        i = back


def chunk_sections(
    sections: Sequence[Section], tokens: TokenOffsets, settings: ChunkSettings
) -> list[ChunkSpan]:
    out: list[ChunkSpan] = []
    for section in sections:
        out.extend(chunk_section(section, tokens, settings))
    return out


class FastTokenizerOffsets:
    """TokenOffsets over a Hugging Face ``tokenizers`` tokenizer.json (no torch needed)."""

    # Very long sections are tokenised in windows so memory stays bounded.
    _WINDOW = 200_000

    def __init__(self, tokenizer_file: str) -> None:
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(tokenizer_file)
        self._tok.no_truncation()
        self._tok.no_padding()

    def token_starts(self, text: str) -> list[int]:
        starts: list[int] = []
        pos = 0
        while pos < len(text):
            end = min(len(text), pos + self._WINDOW)
            if end < len(text):
                # Cut the window at whitespace so no word is split between two windows.
                cut = text.rfind(" ", pos + self._WINDOW // 2, end)
                end = cut if cut > pos else end
            enc = self._tok.encode(text[pos:end], add_special_tokens=False)
            last = -1
            for a, _b in enc.offsets:
                # Sub-word pieces of one word can share a start; keep starts strictly increasing.
                if a > last:
                    starts.append(pos + a)
                    last = a
                else:
                    starts.append(pos + last)
            pos = end
        return starts
