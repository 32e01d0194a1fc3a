"""The context header of each passage: which document, which section, which table.

A passage is embedded and keyword-indexed *with* its header, so "Acme's 2019 capital
expenditure" can find a row of a cash-flow table whose own text names neither Acme, 2019 nor
the statement. The header is stored beside the passage, never inside it: citations, offsets,
highlights and the text shown to people are the passage alone.

Headings and tables are found in plain extracted text (no fonts): a heading is a short line
that looks like one (PART I, Item 7., Note 4 – Debt, an all-capitals title, Title Case
words); a table row is a line that ends in figures; a column header is a line of dates,
years and period words. Lines that repeat on most pages (running headers, "Table of
Contents") are never headings.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ..types import ChunkSpan, Section
from .profile import DocumentProfile

# Header parts are cut to these many characters (the whole header stays well under the
# embedding model's window together with a 200-token passage).
_LABEL_CHARS = 140
# The header line that names a passage's table starts with this (the answer prompt shows it
# with a table row, whose figures mean nothing without their columns).
TABLE_PREFIX = "Table: "
_SECTION_CHARS = 110

_NUM = re.compile(r"^[(\[]?[-+−]?[$€£¥]?[-+−]?\d[\d,]*(?:\.\d+)?[)\]]?%?[)\]]?$")
_FILLER = frozenset({"$", "€", "£", "¥", "%", "—", "–", "-", "−", "(", ")", "n/a", "nm", "*"})
_STRONG = re.compile(
    r"^(?:part\s+[ivx]+\b|item\s+\d+[a-z]?\b|note\s+\d+\b|section\s+\d+|chapter\s+\d+|"
    r"article\s+[\divx]+|schedule\s+[a-z\d]+\b|appendix\s+[a-z\d]+\b|#{1,6}\s)",
    re.IGNORECASE,
)
_HEADER_WORDS = frozenset(
    """three six nine twelve months month weeks week ended ending year years quarter quarters
    fiscal as of at and change changes % percent total amount amounts unaudited audited in
    millions thousands billions except per share data end period periods first second third
    fourth q1 q2 q3 q4 fy first-half half actual budget variance restated""".split()
)
_MONTH_WORDS = frozenset(
    """january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec""".split()
)
_SMALL_WORDS = frozenset(
    "a an and as at by for from in into of on or per the to with vs versus".split()
)


def table_context(context: str) -> str:
    """For a passage with table rows, the section and table lines of its header (the table's
    title and columns); '' for any other passage."""
    lines = context.splitlines()
    if not any(line.startswith(TABLE_PREFIX) for line in lines):
        return ""
    return "\n".join(lines[1:])


def embedding_text(context: str, text: str) -> str:
    """What the embedding model reads for a passage: its context header, then the passage."""
    return f"{context}\n{text}" if context else text


def _tokens(line: str) -> list[str]:
    return line.split()


def trailing_figures(line: str) -> int:
    """How many figures end the line ("Net sales $ 81,797 $ 82,959" -> 2)."""
    n = 0
    for tok in reversed(_tokens(line)):
        if _NUM.match(tok):
            n += 1
        elif tok.lower() in _FILLER:
            continue
        else:
            break
    return n


def is_table_row(line: str) -> bool:
    """A line of a table: a label (or nothing) followed by figures."""
    s = line.strip()
    # A row ends in a figure, a bracket, a per cent sign or a dash placeholder.
    if not s or len(s) > 240 or not (s[-1].isdigit() or s[-1] in ")%—–-−*"):
        return False
    n = trailing_figures(s)
    if n >= 2:
        return True
    if n == 1:
        label = s.rsplit(None, 1)[0] if " " in s else ""
        # "…see Note 4." or a page number after a sentence is prose, not a row.
        return bool(label) and len(s) <= 110 and not label.rstrip().endswith((".", ":", ";"))
    return False


def is_column_header(line: str) -> bool:
    """A line of dates, years and period words ("Three Months Ended", "July 1, 2023")."""
    s = line.strip()
    if not s or len(s) > 140:
        return False
    words = re.findall(r"[a-z]+[-\d]*|\d+%?", s.lower())
    if not words:
        return False
    known = 0
    anchor = False
    for w in words:
        if w in _MONTH_WORDS or re.fullmatch(r"(?:19|20)\d\d", w):
            known += 1
            anchor = True
        elif w in _HEADER_WORDS or re.fullmatch(r"\d{1,2}", w):
            known += 1
            anchor = anchor or w in ("ended", "ending", "months", "quarter", "year", "fiscal")
    return anchor and known / len(words) >= 0.8


def heading_strength(line: str) -> int:
    """2 for a structural heading (PART I, Item 7, Note 4, all capitals, Markdown #), 1 for a
    Title Case line, 0 for anything else."""
    s = " ".join(line.split())
    if len(s) < 3 or len(s) > 120:
        return 0
    words = re.findall(r"[A-Za-z][A-Za-z'’&\-]*", s)
    if s.endswith((".", ";", ",")) and len(words) > 6:
        return 0  # a sentence, even one that starts "Section 5 …"
    if _STRONG.match(s):
        return 2
    letters = [c for c in s if c.isalpha()]
    if len(letters) < 4:
        return 0
    if s.endswith((",", ";", ":")) or trailing_figures(s) or is_column_header(s):
        return 0
    digits = sum(c.isdigit() for c in s)
    if digits > len(s) * 0.15:
        return 0
    if len(words) > 14:
        return 0
    upper = sum(c.isupper() for c in letters)
    if upper >= 0.8 * len(letters) and len(words) >= 2:
        return 2
    if len(words) >= 2 and words[-1].lower() not in _SMALL_WORDS:
        caps = sum(1 for w in words if w[0].isupper() or w.lower() in _SMALL_WORDS)
        if caps == len(words) and words[0][0].isupper():
            return 1
    return 0


def _norm(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.lower().split()))


@dataclass(frozen=True)
class _Line:
    page: int
    start: int
    end: int
    text: str
    kind: str  # heading2 | heading1 | row | colhead | blank | other


def _lines(sections: Sequence[Section], headings: str) -> list[_Line]:
    pages_with: Counter[str] = Counter()
    for s in sections:
        pages_with.update({_norm(ln) for ln in s.text.splitlines() if ln.strip()})
    n_pages = sum(1 for s in sections if s.text.strip())
    boiler = {k for k, v in pages_with.items() if n_pages >= 3 and v >= max(3, n_pages * 0.5)}
    out: list[_Line] = []
    for s in sections:
        pos = 0
        for raw in s.text.split("\n"):
            start, end = pos, pos + len(raw)
            pos = end + 1
            text = raw.strip()
            if not text:
                kind = "blank"
            elif is_column_header(text):
                kind = "colhead"
            elif is_table_row(text):
                kind = "row"
            elif _norm(text) in boiler:
                kind = "other"
            else:
                if headings == "markdown":
                    strength = 2 if re.match(r"#{1,6}\s", text) else 0
                else:
                    strength = heading_strength(text) if headings == "guess" else 0
                kind = f"heading{strength}" if strength else "other"
            out.append(_Line(s.page, start, end, text, kind))
    return out


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def _section_before(lines: list[_Line], i: int, opening: str) -> str:
    """The headings in force at line ``i`` that the chunk does not show itself: the last
    structural one and a Title Case one under it. ``opening`` is the strongest heading kind
    the chunk opens with ('' for none): a chunk that opens with a structural heading starts
    its own section."""
    if opening == "heading2":
        return ""
    strong = weak = ""
    for j in range(i - 1, -1, -1):
        kind = lines[j].kind
        if kind == "heading1" and not weak and not strong and not opening:
            weak = lines[j].text
        elif kind == "heading2":
            strong = lines[j].text
            break
    parts = [p.lstrip("#").strip() for p in (strong, weak) if p]
    return " — ".join(parts)


def _table_header(
    lines: list[_Line], first_row: int, chunk_start: tuple[int, int], known_headings: str
) -> str:
    """Title and column header of the table holding line ``first_row``, when the chunk does
    not hold them itself."""
    page = lines[first_row].page
    cols: list[str] = []
    title: list[str] = []
    j = first_row - 1
    # Walk up over the table: rows, column headers, blank lines and short labels.
    while j >= 0 and lines[j].page == page:
        ln = lines[j]
        if ln.kind in ("row", "blank"):
            j -= 1
            continue
        if ln.kind == "colhead":
            cols.append(ln.text)
            j -= 1
            continue
        if ln.kind == "other" and ln.text.startswith("(") and len(ln.text) <= 140:
            title.append(ln.text)  # "(In millions, except per-share amounts)"
            j -= 1
            continue
        if ln.kind == "other" and len(ln.text) <= 50 and not ln.text.endswith(".") and not cols:
            j -= 1  # a row label between rows ("Net sales:", "Assets")
            continue
        break
    if j >= 0 and lines[j].page == page and lines[j].kind != "blank":
        title.append(lines[j].text)
        top = j
        # A sentence that introduces the table may be wrapped over lines ("… were as follows
        # (in\nmillions):"): take the line before when this one continues it.
        if (
            lines[j].kind == "other"
            and j > 0
            and lines[j - 1].page == page
            and lines[j - 1].kind == "other"
            and (len(lines[j].text) < 40 or lines[j].text[:1].islower())
        ):
            title.append(lines[j - 1].text)
            top = j - 1
        if top > 0 and lines[top - 1].kind.startswith("heading") and lines[top].kind == "other":
            title.append(lines[top - 1].text)
            top -= 1
    else:
        top = j + 1
    if top >= 0 and (lines[top].page, lines[top].start) >= chunk_start:
        return ""  # the chunk begins at (or above) the table's title: it says it all
    title.reverse()
    cols.reverse()
    # The title without the headings the section part already names.
    shown = [t for t in title if t not in known_headings]
    parts = []
    if shown:
        parts.append(_clip(" ".join(shown), 70))
    if cols:
        parts.append(_clip(" ".join(cols), 90))
    return TABLE_PREFIX + " — ".join(parts) if parts else ""


def chunk_contexts(
    sections: Sequence[Section],
    chunks: Sequence[ChunkSpan],
    profile: DocumentProfile,
    kind: str = "pdf",
) -> list[str]:
    """The context header of each chunk (same order): document, section, table."""
    # An opaque file name ("paper 1564") tells the model nothing and only blurs the passage.
    label = _clip(profile.label(), _LABEL_CHARS) if profile.informative else ""
    # Headings: Markdown says which lines they are; PDF, Word and web pages lose that in their
    # text, so they are guessed from how lines look; plain text gets none (guesses there
    # pick up "Authors: …" lines and blur more than they tell).
    headings = {"markdown": "markdown", "text": "none"}.get(kind, "guess")
    lines = _lines(sections, headings)
    # Where each chunk starts among the lines: (page, offset) ordered.
    keys = [(ln.page, ln.start) for ln in lines]
    out: list[str] = []
    for c in chunks:
        i = max(bisect.bisect_right(keys, (c.page, c.start)) - 1, 0)
        parts = [label] if label else []
        # Headings that open the chunk are shown by the chunk itself.
        opening = ""
        h = i
        while h < len(lines) and lines[h].kind in ("blank", "heading1", "heading2"):
            if (lines[h].page, lines[h].start) >= (c.page, c.end):
                break
            if lines[h].kind != "blank" and opening != "heading2":
                opening = lines[h].kind
            h += 1
        section = _section_before(lines, i, opening)
        if section:
            parts.append(_clip(section, _SECTION_CHARS))
        # The first table row inside the chunk, if any.
        j = i
        while j < len(lines) and (lines[j].page, lines[j].start) < (c.page, c.end):
            if lines[j].page == c.page and lines[j].kind == "row":
                table = _table_header(lines, j, (c.page, c.start), section)
                if table:
                    parts.append(table)
                break
            j += 1
        out.append("\n".join(parts))
    return out
