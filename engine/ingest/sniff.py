"""Tell a file's format from its content; the extension only refines text (Markdown, HTML)."""

from __future__ import annotations

import codecs
import re
import zipfile
from pathlib import Path
from typing import BinaryIO

from ._textutil import bom_encoding, bomless_utf16, guess_with_charset_normalizer

HEAD_BYTES = 8192
# Readers tolerate junk before the header, as pypdf does; the PDF spec allows 1024 bytes.
PDF_WINDOW = 1024

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".mdx"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
# Extensions people give to text; a "%PDF-" in the middle of such a file is likely quoted.
TEXT_SUFFIXES = frozenset(
    {".txt", ".text", ".rst", ".csv", ".tsv", ".json", ".xml", ".log", ".ini", ".cfg"}
    | MARKDOWN_SUFFIXES
    | HTML_SUFFIXES
)

# Pictures Folio reads by OCR.
_IMAGE_MAGIC: tuple[bytes, ...] = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"II*\x00",  # TIFF
    b"MM\x00*",
)
# Formats that are never text even when their first 8 KB happen to hold no NUL byte.
_BINARY_MAGIC: tuple[bytes, ...] = (
    b"GIF87a",
    b"GIF89a",
    b"\x7fELF",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",  # OLE2: .doc, .xls, .ppt, .msg
    b"\x1f\x8b",  # gzip
    b"\xfd7zXZ\x00",
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
    b"SQLite format 3\x00",
    b"\xca\xfe\xba\xbe",  # Mach-O / Java class
    b"\xcf\xfa\xed\xfe",
    b"{\\rtf",  # RTF is text, but its markup is not worth indexing as such
)

# Leading noise an HTML file may start with before its first real tag.
_HTML_PREAMBLE = re.compile(r"(?:\s+|<!--.*?-->|<\?xml[^>]*>)*", re.S)
_HTML_START = re.compile(r"<(?:!doctype\s+html|html|head|body)\b", re.I)
_ANY_TAG = re.compile(r"<(?:[a-z][a-z0-9]*[\s/>]|!--|!doctype)", re.I)

# Keywords of PDF's file structure.
_PDF_SYNTAX = re.compile(r"\b\d+\s+\d+\s+obj\b|\bendobj\b|\bstartxref\b|\btrailer\s*<<|%%EOF")
# Characters that do not occur in real text: C0 controls other than \t \n \v \f \r and
# ESC, DEL, C1 controls and the replacement character.
_NOT_TEXT = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f-\x9f\ufffd]")


def _textual(text: str) -> bool:
    """True when at most 2% of ``text`` is control characters or decoding errors."""
    if not text:
        return True
    return len(_NOT_TEXT.findall(text)) <= 0.02 * len(text)


def decode_head(head: bytes) -> str | None:
    """The first bytes of a file as text when they look like text, else None."""
    found = bom_encoding(head)
    if found is not None:
        name, skip = found
        text = codecs.getincrementaldecoder(name)("replace").decode(head[skip:], final=False)
        return text if _textual(text) else None
    if b"\x00" in head:
        # NUL bytes only occur in text as UTF-16 without a BOM.
        utf16 = bomless_utf16(head)
        if utf16 is None:
            return None
        text = codecs.getincrementaldecoder(utf16)("replace").decode(head, final=False)
        return text if _textual(text) else None
    try:
        # Incremental so that a character cut in two at the end of ``head`` is no error.
        text = codecs.getincrementaldecoder("utf-8")("strict").decode(head, final=False)
    except UnicodeDecodeError:
        guessed = guess_with_charset_normalizer(head)
        if guessed is None:
            return None
        text = guessed
    return text if _textual(text) else None


def _zip_kind(stream: BinaryIO) -> str | None:
    """``"docx"`` for a Word document, None for any other or a broken zip."""
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
            if "word/document.xml" in names:
                return "docx"
            # A document whose main part has another name still declares its content type.
            if "[Content_Types].xml" in names:
                info = archive.getinfo("[Content_Types].xml")
                if info.file_size < 1_000_000:
                    types = archive.read(info)
                    if b"wordprocessingml.document.main+xml" in types:
                        return "docx"
    except (MemoryError, RecursionError):
        raise
    except Exception:  # zipfile raises many types on damaged archives
        return None
    return None


def sniff_stream(stream: BinaryIO, name: str) -> str | None:
    """The kind of the file in ``stream`` (named ``name``): ``pdf``, ``docx``, ``html``,
    ``markdown``, ``text``, ``image`` (PNG, JPEG, TIFF), or None when Folio cannot read it."""
    suffix = Path(name).suffix.lower()
    stream.seek(0)
    head = stream.read(HEAD_BYTES)
    if not head:
        return "text"

    pdf_at = head.find(b"%PDF-", 0, PDF_WINDOW + 5)
    if pdf_at == 0:
        return "pdf"
    if pdf_at > 0 and (suffix not in TEXT_SUFFIXES or decode_head(head) is None):
        return "pdf"

    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        stream.seek(0)
        return _zip_kind(stream)
    if head.startswith(_IMAGE_MAGIC):
        return "image"
    if head.startswith(_BINARY_MAGIC):
        return None

    text = decode_head(head)
    if text is None:
        return None
    if suffix not in TEXT_SUFFIXES and _PDF_SYNTAX.search(text):
        # PDF objects without a header: a damaged PDF (pypdf recovers some of them).
        return "pdf"
    if looks_like_html(text, suffix):
        return "html"
    if suffix in MARKDOWN_SUFFIXES:
        return "markdown"
    return "text"


def looks_like_html(text: str, suffix: str) -> bool:
    """HTML by its first tag, or by its extension when the text holds any markup."""
    preamble = _HTML_PREAMBLE.match(text)
    rest = text[preamble.end() :] if preamble else text
    if _HTML_START.match(rest.lstrip("\ufeff")):
        return True
    return suffix in HTML_SUFFIXES and _ANY_TAG.search(text) is not None


def sniff(path: Path) -> str | None:
    """The kind of the file at ``path`` by its content (see :func:`sniff_stream`).

    Raises OSError when the file cannot be opened.
    """
    with Path(path).open("rb") as stream:
        return sniff_stream(stream, Path(path).name)
