"""DOCX reader: paragraphs, headings and tables in document order, via python-docx."""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any

from .. import reasons
from ..errors import ReaderError, UnsupportedFile
from ..types import ParsedDocument
from ._textutil import (
    LONG_TEXT,
    clean_extracted,
    make_sections,
    resplit_long,
    short_reason,
    split_paragraphs,
    strip_controls,
)

log = logging.getLogger("folio.ingest")
# Refuse archives that unpack to more than this (python-docx loads every part into memory).
UNPACKED_LIMIT = 1024 * 1024 * 1024
# Tables inside table cells are flattened up to this depth.
MAX_TABLE_DEPTH = 8

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_P, _TBL, _TR, _TC = f"{_W}p", f"{_W}tbl", f"{_W}tr", f"{_W}tc"
_T, _TAB, _PTAB, _BR, _CR = f"{_W}t", f"{_W}tab", f"{_W}ptab", f"{_W}br", f"{_W}cr"
_NO_BREAK_HYPHEN = f"{_W}noBreakHyphen"
_TEXT_BOX = f"{_W}txbxContent"
_VAL = f"{_W}val"
# Subtrees whose text is not shown or is shown elsewhere: the fallback copy of a drawing
# (the same text box twice), moved-away text (also present where it moved to), properties.
_SKIP = frozenset({f"{_MC}Fallback", f"{_W}moveFrom", f"{_W}pPr", f"{_W}rPr", f"{_W}sectPr"})
# Elements that only wrap rows, cells or blocks (content controls, custom XML, smart tags).
_WRAPPERS = frozenset(
    {f"{_W}sdt", f"{_W}sdtContent", f"{_W}customXml", f"{_W}smartTag", f"{_W}ins"}
)
_HEADING_NAMES = frozenset({"title", "heading 1", "heading 2"})


def _paragraph_text(p: Any) -> str:
    """The visible text of a ``w:p`` element: runs, hyperlinks, insertions, text boxes."""
    parts: list[str] = []
    stack: list[Iterator[Any]] = [iter(p)]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
            continue
        tag = child.tag
        if not isinstance(tag, str) or tag in _SKIP:
            continue  # comments and processing instructions have non-string tags
        if tag == _T:
            parts.append(child.text or "")
        elif tag in (_TAB, _PTAB):
            parts.append("\t")
        elif tag in (_BR, _CR):
            parts.append("\n")
        elif tag == _NO_BREAK_HYPHEN:
            parts.append("-")
        else:
            if tag == _P:  # a paragraph of a text box inside this one
                parts.append("\n")
            stack.append(iter(child))
    return "".join(parts)


def _children(element: Any, *wanted: str) -> Iterator[Any]:
    """Children of ``element`` with a tag in ``wanted``, looking through wrapper elements."""
    stack: list[Iterator[Any]] = [iter(element)]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
        elif child.tag in wanted:
            yield child
        elif child.tag in _WRAPPERS:
            stack.append(iter(child))


def _cell_text(tc: Any, depth: int) -> str:
    parts: list[str] = []
    for child in _children(tc, _P, _TBL):
        if child.tag == _P:
            parts.append(_paragraph_text(child))
        elif depth < MAX_TABLE_DEPTH:
            parts.append(_table_text(child, depth + 1))
    return " ".join(" ".join(part.split()) for part in parts if part.strip())


def _table_text(tbl: Any, depth: int = 0) -> str:
    """Rows on their own lines, cells joined with `` | ``; empty rows are left out."""
    rows: list[str] = []
    for tr in _children(tbl, _TR):
        cells = [_cell_text(tc, depth) for tc in _children(tr, _TC)]
        if any(cells):
            rows.append(" | ".join(cells))
    return ("\n" if depth == 0 else "; ").join(rows)


def _heading_styles(document: Any) -> frozenset[str]:
    """Ids of paragraph styles that start a section: Title, Heading 1 and 2 (by name, or by
    outline level 0/1 for styles with translated names)."""
    ids: set[str] = set()
    try:
        styles = document.styles.element
    except (MemoryError, RecursionError):
        raise
    except Exception:  # a missing or broken styles part: no headings
        return frozenset()
    for style in styles.iterchildren(f"{_W}style"):
        style_id = style.get(f"{_W}styleId")
        name = style.find(f"{_W}name")
        level = style.find(f"{_W}pPr/{_W}outlineLvl")
        if style_id is None:
            continue
        if (name is not None and (name.get(_VAL) or "").lower() in _HEADING_NAMES) or (
            level is not None and level.get(_VAL) in ("0", "1")
        ):
            ids.add(style_id)
    return frozenset(ids)


def _is_heading(p: Any, heading_ids: frozenset[str]) -> bool:
    style = p.find(f"{_W}pPr/{_W}pStyle")
    if style is not None and style.get(_VAL) in heading_ids:
        return True
    level = p.find(f"{_W}pPr/{_W}outlineLvl")
    return level is not None and level.get(_VAL) in ("0", "1")


def _blocks(body: Any, heading_ids: frozenset[str]) -> Iterator[tuple[str, bool]]:
    """(text, is_heading) for each paragraph and table of the body, in document order."""
    for child in _children(body, _P, _TBL):
        if child.tag == _P:
            yield _paragraph_text(child), _is_heading(child, heading_ids)
        else:
            yield _table_text(child), False


def _group_by_headings(blocks: Iterable[tuple[str, bool]]) -> list[str]:
    """Start a new group at each heading; a heading directly followed by another heading
    stays with it (so no section is a lone heading)."""
    groups: list[list[str]] = []
    only_headings = False
    for text, heading in blocks:
        if heading and groups and not only_headings:
            groups.append([])
        if not groups:
            groups.append([])
        if not groups[-1]:
            only_headings = heading
        elif not heading:
            only_headings = False
        groups[-1].append(text)
    return ["\n\n".join(group) for group in groups]


def _damaged(exc: Exception) -> str:
    """The user's reason for a broken Word file; the library's own words go to the log."""
    log.info("DOCX not read: %s: %s", type(exc).__name__, short_reason(exc))
    return reasons.DOCX_DAMAGED


def _check_archive(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except MemoryError:
        raise
    except Exception as exc:  # BadZipFile, and ValueError/EOFError on some broken archives
        raise ReaderError(_damaged(exc)) from None
    if unpacked > UNPACKED_LIMIT:
        raise ReaderError(reasons.DOCX_TOO_LARGE)


def _title(document: Any) -> str:
    try:
        title = document.core_properties.title
    except (MemoryError, RecursionError):
        raise
    except Exception:  # broken document properties: no title
        return ""
    return " ".join(strip_controls(title).split())[:300] if isinstance(title, str) else ""


def read_docx(data: bytes) -> ParsedDocument:
    """Read a Word document held in ``data``; raises ReaderError for anything unreadable."""
    _check_archive(data)
    try:
        import docx

        document = docx.Document(io.BytesIO(data))
        heading_ids = _heading_styles(document)
        blocks = [
            (clean_extracted(text), heading)
            for text, heading in _blocks(document.element.body, heading_ids)
        ]
    except ReaderError:
        raise
    except MemoryError:
        raise
    except RecursionError:
        raise ReaderError(reasons.DOCX_DAMAGED) from None
    except ValueError as exc:
        if "is not a Word file" in str(exc):
            raise UnsupportedFile(reasons.DOCX_MACROS) from None
        raise ReaderError(_damaged(exc)) from None
    except Exception as exc:  # python-docx, zipfile and lxml raise many types
        raise ReaderError(_damaged(exc)) from None

    blocks = [(text, heading) for text, heading in blocks if text]
    if not blocks:
        raise ReaderError(reasons.EMPTY)
    if any(heading for _, heading in blocks):
        pieces = resplit_long(_group_by_headings(blocks))
    else:
        full = "\n\n".join(text for text, _ in blocks)
        pieces = [full] if len(full) <= LONG_TEXT else split_paragraphs(full)
    return ParsedDocument(kind="docx", sections=make_sections(pieces), title=_title(document))
