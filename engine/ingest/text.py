"""Plain-text and Markdown reader. Markdown is kept as written: it is what the viewer shows."""

from __future__ import annotations

import re

from .. import reasons
from ..errors import ReaderError
from ..types import ParsedDocument, Section
from ._textutil import (
    LONG_TEXT,
    decode_text,
    make_sections,
    merge_small,
    normalize_newlines,
    resplit_long,
    sections_for_text,
    split_at,
    strip_controls,
)

_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_TOP_HEADING = re.compile(r"(#{1,2})[ \t]")


def _top_headings(text: str) -> tuple[list[int], str]:
    """Offsets of ``#``/``##`` heading lines outside fenced code, and the first ``#`` title."""
    offsets: list[int] = []
    title = ""
    fence = ""
    pos = 0
    for line in text.split("\n"):
        start, pos = pos, pos + len(line) + 1
        opener = _FENCE.match(line)
        if fence:
            # A fence closes with the same character, at least as long as the opening one.
            if opener and opener.group(1)[0] == fence[0] and len(opener.group(1)) >= len(fence):
                fence = ""
            continue
        if opener:
            fence = opener.group(1)
            continue
        heading = _TOP_HEADING.match(line)
        if heading:
            offsets.append(start)
            if not title and len(heading.group(1)) == 1:
                title = " ".join(line[heading.end() :].strip().rstrip("#").split())
    return offsets, title


def markdown_sections(text: str) -> tuple[tuple[Section, ...], str]:
    """Sections split at top-level headings when the text is long, and the title."""
    offsets, title = _top_headings(text)
    if len(text) <= LONG_TEXT:
        return make_sections([text]), title
    if not offsets:
        return sections_for_text(text), title
    return make_sections(resplit_long(merge_small(split_at(text, offsets)))), title


def read_text(data: bytes, *, markdown: bool = False) -> ParsedDocument:
    """Read plain text or Markdown held in ``data``."""
    text = strip_controls(normalize_newlines(decode_text(data)))
    if not text.strip():
        raise ReaderError(reasons.EMPTY)
    if markdown:
        sections, title = markdown_sections(text)
        return ParsedDocument(kind="markdown", sections=sections, title=title[:300])
    return ParsedDocument(kind="text", sections=sections_for_text(text))
