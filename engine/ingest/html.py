"""HTML reader: the visible text of a page, with the standard library's html.parser."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from .. import reasons
from ..errors import ReaderError
from ..types import ParsedDocument
from ._textutil import clean_extracted, decode_text, sections_for_text

# Elements whose content is never shown as text, and <nav>: menus are visible but they are
# the same on every page of a site and would swamp its search results.
_HIDDEN = frozenset(
    {"script", "style", "noscript", "template", "svg", "object", "iframe", "select", "nav"}
)
# Elements allowed in <head>; any other start tag means the body has begun.
_HEAD_ONLY = frozenset({"title", "meta", "link", "base", "style", "script", "noscript", "template"})
# Block elements that separate paragraphs (a blank line) or lines (a newline).
_PARAGRAPH = frozenset(
    {
        "p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "ul", "ol", "dl",
        "section", "article", "header", "footer", "main", "aside", "figure", "hr",
        "details", "form", "fieldset", "address", "table", "caption",
    }
)  # fmt: skip
_LINE = frozenset(
    {
        "div", "li", "dt", "dd", "br", "tr", "summary", "figcaption", "legend", "option",
        "center", "menu", "body", "html", "tbody", "thead", "tfoot", "label", "dialog",
    }
)  # fmt: skip
_CELL = frozenset({"td", "th"})
# Breaks are first written as these marks (removed from the page's own text), so that a run
# of them can be merged into one line break or one blank line.
_LINE_MARK, _PARAGRAPH_MARK = "\x01", "\x02"
_MARKS = re.compile("[\x01\x02]")
# Starts at a mark, so that it stays linear on long runs of spaces (in <pre>, say); the
# spaces before a run are dropped later with the other spaces at line ends.
_BREAKS = re.compile("[\x01\x02][\x01\x02 \t]*")
_WHITESPACE = re.compile(r"\s+")
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9:_-]{0,63}")
# Elements whose content is text up to their end tag; only the last two show it.
_RAW_TEXT = {
    tag: re.compile(rf"</{tag}(?=[\s/>])", re.IGNORECASE)
    for tag in (
        "script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "title", "textarea",
    )
}  # fmt: skip
_ESCAPED_TEXT = frozenset({"title", "textarea"})
_META_CHARSET = re.compile(
    rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]{1,40})", re.IGNORECASE
)
# Per the HTML standard these labels mean windows-1252, and a declared UTF-16 on bytes that
# reached this point (no BOM) means UTF-8.
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "utf-16": "utf-8",
    "utf-16le": "utf-8",
    "utf-16be": "utf-8",
}


def _merge_breaks(run: re.Match[str]) -> str:
    return "\n\n" if _PARAGRAPH_MARK in run.group() else "\n"


class _VisibleText(HTMLParser):
    """Collects the visible text and the <title> of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title_parts: list[str] = []
        self.hidden = 0  # depth inside elements in _HIDDEN
        self.pre = 0  # depth inside <pre>, where whitespace is kept
        self.in_head = False
        self.in_title = False
        self.cells: list[int] = [0]  # cells seen so far in the current row, per nested table

    def _break(self, newlines: int) -> None:
        self.parts.append(_LINE_MARK if newlines == 1 else _PARAGRAPH_MARK)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
            return
        if self.hidden:
            return
        self.in_title = False  # a title holds no elements: a tag means it was not closed
        if tag == "head":
            self.in_head = True
            return
        if tag == "title":
            self.in_title = True
            return
        if self.in_head and tag not in _HEAD_ONLY:
            self.in_head = False  # a missing </head>: the body starts at its first element
        if self.in_head:
            return
        if tag in _CELL:
            if self.cells[-1]:
                self.parts.append(" | ")
            self.cells[-1] += 1
        elif tag == "table":
            self.cells.append(0)
        elif tag == "tr":
            self.cells[-1] = 0
        elif tag == "pre":
            self.pre += 1
        if tag in _PARAGRAPH:
            self._break(2)
        elif tag in _LINE:
            self._break(1)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
            return
        if self.hidden:
            return
        if tag == "head":
            self.in_head = False
            return
        if tag == "title":
            self.in_title = False
            return
        if self.in_head:
            return
        if tag == "table" and len(self.cells) > 1:
            self.cells.pop()
        elif tag == "tr":
            self.cells[-1] = 0
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in _PARAGRAPH:
            self._break(2)
        elif tag in _LINE and tag != "br":
            self._break(1)

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        if self.in_title:
            self.title_parts.append(data)
            return
        if self.in_head:
            if not data.strip():
                return
            self.in_head = False  # text in <head> means the body has begun
        data = _MARKS.sub(" ", data)
        self.parts.append(data if self.pre else _WHITESPACE.sub(" ", data))

    def text(self) -> str:
        # Adjacent breaks (</p><p>, </li> <li>) merge into the strongest of them.
        joined = _BREAKS.sub(_merge_breaks, "".join(self.parts))
        return clean_extracted(joined)

    def title(self) -> str:
        return " ".join("".join(self.title_parts).split())[:300]


def declared_charset(data: bytes) -> str | None:
    """The encoding a ``<meta charset>`` near the top of the page names, if any."""
    found = _META_CHARSET.search(data[:4096])
    if not found:
        return None
    label = found.group(1).decode("ascii", errors="replace").lower()
    return _CHARSET_ALIASES.get(label, label)


def simplify_markup(markup: str) -> str:
    """Markup reduced to bare tags (``<p>``, ``</p>``) and text, in one linear pass.

    html.parser takes quadratic time on unclosed comments, tags and quotes, and raises
    AssertionError on some declarations; after this pass it only meets complete, attribute-free
    tags. Comments, declarations and the content of script-like elements are dropped here; a
    ``<`` that starts no tag becomes ``&lt;``. As in browsers, an unclosed comment or tag hides
    the rest of the file.
    """
    out: list[str] = []
    i, n = 0, len(markup)
    while i < n:
        lt = markup.find("<", i)
        if lt < 0:
            out.append(markup[i:])
            break
        out.append(markup[i:lt])
        if markup.startswith("<!--", lt):
            end = markup.find("-->", lt + 4)
            if end < 0:
                break
            i = end + 3
            continue
        after = markup[lt + 1 : lt + 2]
        closing = after == "/"
        name = _TAG_NAME.match(markup, lt + 2 if closing else lt + 1)
        if after in ("!", "?") or (closing and name is None):
            # <!DOCTYPE …>, <![CDATA[…]]>, <?xml …?> and </ junk>: skipped up to ">".
            end = markup.find(">", lt + 1)
            if end < 0:
                break
            i = end + 1
            continue
        if name is None:
            out.append("&lt;")  # "a < b": a literal "<"
            i = lt + 1
            continue
        end = markup.find(">", name.end())
        if end < 0:
            break
        tag = name.group().lower()
        i = end + 1
        if closing:
            out.append(f"</{tag}>")
            continue
        out.append(f"<{tag}>")
        closer = _RAW_TEXT.get(tag)
        if closer is not None:
            # Script-like content is not markup: skip to its end tag (or the end of the file).
            found = closer.search(markup, i)
            stop = found.start() if found else n
            if tag in _ESCAPED_TEXT:
                out.append(markup[i:stop].replace("<", "&lt;"))
            i = stop
    return "".join(out)


def html_to_text(markup: str) -> tuple[str, str]:
    """(visible text, title) of an HTML document."""
    parser = _VisibleText()
    parser.feed(simplify_markup(markup))
    parser.close()
    return parser.text(), parser.title()


def read_html(data: bytes) -> ParsedDocument:
    """Read an HTML page held in ``data``."""
    text, title = html_to_text(decode_text(data, declared=declared_charset(data)))
    if not text:
        raise ReaderError(reasons.EMPTY)
    return ParsedDocument(kind="html", sections=sections_for_text(text), title=title)
