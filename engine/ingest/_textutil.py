"""Shared helpers for the readers: decoding bytes, cleaning text, splitting long text."""

from __future__ import annotations

import codecs
import itertools
import re
from collections.abc import Iterable, Sequence

from ..types import Section

# A document shorter than this stays one section; longer ones are split into pieces of
# about SECTION_TARGET characters at paragraph (or heading) boundaries.
LONG_TEXT = 20_000
SECTION_TARGET = 10_000

# C0 controls except \t \n \r, DEL, and lone surrogates (which cannot be encoded as UTF-8).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_SPACE_AROUND_NL = re.compile(r" *\n *")
_MANY_NL = re.compile(r"\n{3,}")

_BOMS: tuple[tuple[bytes, str], ...] = (
    # UTF-32 first: its little-endian BOM starts with the UTF-16 one.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


_NOT_CHARSETS = frozenset(
    {"undefined", "unicode-escape", "raw-unicode-escape", "idna", "punycode", "charmap"}
)


def bom_encoding(data: bytes) -> tuple[str, int] | None:
    """The codec named by a byte-order mark at the start of ``data`` and the BOM's length."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, len(bom)
    return None


def bomless_utf16(head: bytes) -> str | None:
    """``utf-16-le``/``utf-16-be`` when ``head`` looks like BOM-less UTF-16 (mostly Latin
    text: every other byte is NUL), else None."""
    even, odd = head[0::2], head[1::2]
    if len(odd) < 2:
        return None
    nul_even, nul_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if nul_odd > 0.3 and nul_even < 0.05:
        return "utf-16-le"
    if nul_even > 0.3 and nul_odd < 0.05:
        return "utf-16-be"
    return None


def normalize_newlines(text: str) -> str:
    """Turn ``\\r\\n`` and lone ``\\r`` into ``\\n``."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def strip_controls(text: str) -> str:
    """Drop control characters and lone surrogates, keeping tabs and newlines."""
    text = _CONTROL.sub("", text)
    return _SURROGATE.sub("\ufffd", text)


def clean_extracted(text: str) -> str:
    """Normalise text pulled out of a layout format (PDF, HTML, DOCX).

    Newlines are kept (at most one blank line in a row); control characters go; runs of
    spaces and tabs collapse to one space and lines lose their outer spaces.
    """
    text = normalize_newlines(text)
    text = _CONTROL.sub(" ", text)
    text = _SURROGATE.sub("\ufffd", text)
    text = _SPACES.sub(" ", text)
    text = _SPACE_AROUND_NL.sub("\n", text)
    text = _MANY_NL.sub("\n\n", text)
    return text.strip()


def decode_text(data: bytes, declared: str | None = None) -> str:
    """Decode a text file: BOM, strict UTF-8, then ``declared``, charset-normalizer, cp1252.

    ``declared`` is an encoding named inside the file (an HTML ``<meta charset>``); it is
    only used when the bytes decode cleanly with it.
    """
    found = bom_encoding(data)
    if found is not None:
        name, skip = found
        return data[skip:].decode(name, errors="replace")
    utf16 = bomless_utf16(data[:8192]) if b"\x00" in data[:8192] else None
    if utf16 is not None:
        return data.decode(utf16, errors="replace")
    try:
        # Before ``declared``: pages often declare Latin-1 and hold UTF-8, and other bytes
        # are almost never valid UTF-8 by chance.
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if declared:
        try:
            # Only real character sets: Python also has codecs like "unicode_escape".
            if codecs.lookup(declared).name not in _NOT_CHARSETS:
                return data.decode(declared)
        except (LookupError, UnicodeError, ValueError):
            pass
    guessed = guess_with_charset_normalizer(data)
    if guessed is not None:
        return guessed
    return data.decode("cp1252", errors="replace")


def guess_with_charset_normalizer(data: bytes) -> str | None:
    """charset-normalizer's best reading of ``data``, or None when it finds none."""
    try:
        import charset_normalizer

        best = charset_normalizer.from_bytes(data).best()
    except (MemoryError, RecursionError):
        raise
    except Exception:  # the library is best-effort; fall back to cp1252 on any failure
        return None
    if best is None:
        return None
    return str(best)


def _paragraph_cut(text: str, start: int, target: int) -> int:
    """Where to end the piece that starts at ``start``: after a blank line, a newline or a
    space near ``start + target``, or a hard cut when there is none."""
    low, ideal, high = start + target // 2, start + target, start + target * 3 // 2
    for sep in ("\n\n", "\n", " "):
        after = text.find(sep, ideal, high)
        if after != -1:
            return after + len(sep)
        before = text.rfind(sep, low, ideal)
        if before != -1:
            return before + len(sep)
    return ideal


def split_paragraphs(text: str, target: int = SECTION_TARGET) -> list[str]:
    """Split ``text`` into pieces of about ``target`` characters at paragraph boundaries."""
    pieces: list[str] = []
    start = 0
    while len(text) - start > target * 3 // 2:
        cut = _paragraph_cut(text, start, target)
        pieces.append(text[start:cut])
        start = cut
    pieces.append(text[start:])
    return pieces


def split_at(text: str, cuts: Iterable[int]) -> list[str]:
    """Slice ``text`` at the given positions."""
    bounds = sorted({c for c in cuts if 0 < c < len(text)})
    edges = [0, *bounds, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(edges)]


def merge_small(pieces: Sequence[str], minimum: int = 200) -> list[str]:
    """Join a piece shorter than ``minimum`` (a lone heading, say) to the piece after it."""
    out: list[str] = []
    carry = ""
    for piece in pieces:
        joined = carry + piece
        if len(joined.strip()) < minimum:
            carry = joined
            continue
        out.append(joined)
        carry = ""
    if carry:
        if out:
            out[-1] += carry
        else:
            out.append(carry)
    return out


def resplit_long(pieces: Iterable[str], target: int = SECTION_TARGET) -> list[str]:
    """Split any piece over twice ``target`` at paragraph boundaries."""
    out: list[str] = []
    for piece in pieces:
        out.extend(split_paragraphs(piece, target) if len(piece) > 2 * target else [piece])
    return out


def make_sections(pieces: Iterable[str]) -> tuple[Section, ...]:
    """Number the non-blank pieces as ``section 1``, ``section 2``…; each text is stripped."""
    sections: list[Section] = []
    for piece in pieces:
        text = piece.strip()
        if text:
            n = len(sections) + 1
            sections.append(Section(page=n, text=text, label=f"section {n}"))
    return tuple(sections)


def sections_for_text(text: str) -> tuple[Section, ...]:
    """One section for a short text, else pieces of about SECTION_TARGET characters."""
    if len(text) <= LONG_TEXT:
        return make_sections([text])
    return make_sections(split_paragraphs(text))


_INDIRECT = re.compile(r"IndirectObject\((\d+), (\d+), \d+\)")


def short_reason(exc: BaseException, limit: int = 100) -> str:
    """A one-line, bounded description of an exception for a per-file message."""
    try:
        message = " ".join(str(exc)[:1000].split())
    except Exception:  # a broken __str__ must not hide the real failure
        message = ""
    if not message:
        return type(exc).__name__
    # pypdf names objects as "IndirectObject(2, 0, 140063270309264)": the last number is a
    # memory address, noise to a reader (and different at every run).
    message = _INDIRECT.sub(r"object \1 \2", strip_controls(message))
    return message if len(message) <= limit else message[: limit - 1].rstrip() + "…"
