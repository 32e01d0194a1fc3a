"""The conversation as a transcript: one turn per question, each with its source cards, the
answer in Markdown with clickable citation markers, and "What the model saw" folded under it.

A turn renders to one piece of HTML. Finished turns keep theirs; while an answer streams, only
the current turn is rendered again (by ``ChatPanel``, at most every ``RENDER_MS``), never the
whole transcript. Text written by a model is untrusted: raw HTML in it is not read, its links
and pictures are dropped, and the view itself loads no resource of any kind (offline).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRegularExpression, Qt
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QPalette,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import QTextBrowser

from engine import Answer, Evidence
from engine.citations import worst

STATUS_MARK = {
    "supported": "✓",
    "likely": "≈",
    "unsupported": "✗",
    "inferred": "?",
    "no source": "?",
}
STATUS_COLOUR = {
    "supported": "#1b7f3b",
    "likely": "#5f6f1b",
    "unsupported": "#b3261e",
    "inferred": "#666666",
    "no source": "#8a5a00",
}
STATUS_WORDS = {
    "supported": "backed by the source",
    "likely": "matches the source in wording; no figures or names to check",
    "unsupported": "not backed by the source",
    "inferred": "no citation; a source backs it",
    "no source": "no citation, and no source backs it",
}
SNIPPET_CHARS = 110  # about two lines of a card
CARDS_PER_ROW = 3
_PLACE = "\ue000"  # where a sentence's mark goes, while the Markdown is parsed
_SMALL_WORDS = frozenset(
    "the and for are was were what which who whom whose when where why how does did do "
    "has have had with from that this these those there their they them about into than "
    "then can could should would will shall may might must not any all our your you its "
    "per get gets got staff many much some more most also just only very".split()
)


@dataclass
class Card:
    """One numbered source of a turn (or one document of a list of every document)."""

    number: int  # the [n] the answer cites; 0 when the turn lists documents
    name: str
    path: str
    page: int
    start: int
    end: int
    location: str
    collection: str
    text: str  # the passage, for the viewer's highlight ('' when reopened from the history)
    snippet: str
    unavailable: str = ""
    status: str = ""  # the worst check of the sentences citing it, once the answer is done


@dataclass
class Turn:
    """One question and what came back for it."""

    question: str
    cards: list[Card] = field(default_factory=list)
    streamed: str = ""
    answer: Answer | None = None
    stored: dict[str, Any] | None = None  # a turn reopened from the history (its JSON)
    error: str = ""
    saw_open: bool = False
    html: str = ""  # the last rendering


def cards_from_evidence(ev: Evidence) -> list[Card]:
    """A card per numbered source (the passages the model is given), in number order; a list
    of every document has no numbers, and gets one card per document instead."""
    if ev.plan is not None:
        return [_card(s.number, s.hit, s.hit.text) for s in sorted(ev.plan.included, key=_number)]
    return [_card(0, h, h.text) for h in ev.hits]


def cards_from_answer(answer: Answer) -> list[Card]:
    cards = [_card(s.number, s.hit, s.hit.text) for s in sorted(answer.included, key=_number)]
    known = {c.number for c in cards}
    for c in sorted(answer.citations, key=lambda c: c.number):  # cited, but not included
        if c.number not in known:
            known.add(c.number)
            name = Path(c.path).name
            where = (c.page, c.start, c.end, c.location, c.collection)
            cards.append(Card(c.number, name, c.path, *where, text="", snippet=""))
    return cards


def cards_from_stored(result: dict[str, Any]) -> list[Card]:
    """The cards of a turn reopened from the history (no snippet: the passage is not kept)."""
    out: list[Card] = []
    for s in result.get("included") or []:
        try:
            start, end = (int(x) for x in s.get("span") or (0, 0))
            out.append(
                Card(
                    int(s["number"]), Path(str(s["document"])).name, str(s["document"]),
                    int(s.get("page") or 1), start, end, str(s.get("location") or ""),
                    str(s.get("collection") or ""), "", "", str(s.get("unavailable") or ""),
                )
            )  # fmt: skip
        except (KeyError, TypeError, ValueError):
            continue  # a damaged history row: show the rest
    stored_statuses(out, result)
    return out


@dataclass(frozen=True)
class StoredSentence:
    """A checked sentence as the history keeps it (the fields ``answer_body_html`` reads)."""

    start: int
    end: int
    status: str
    reason: str


def stored_sentences(result: dict[str, Any]) -> list[StoredSentence]:
    """The checked sentences of a turn kept in the history; a damaged row is left out."""
    out = []
    for s in result.get("sentences") or []:
        try:
            start, end = (int(x) for x in s["span"])
            status = str(s["status"])
        except (KeyError, TypeError, ValueError):
            continue
        if status in STATUS_MARK:
            out.append(StoredSentence(start, end, status, str(s.get("reason") or "")))
    return out


def stored_statuses(cards: list[Card], result: dict[str, Any]) -> None:
    """Each card of a reopened turn takes the worst status of the sentences citing it."""
    by_number: dict[int, list[str]] = {}
    for c in result.get("citations") or []:
        try:
            by_number.setdefault(int(c["number"]), []).append(str(c["status"]))
        except (KeyError, TypeError, ValueError):
            continue
    for card in cards:
        statuses = [s for s in by_number.get(card.number, []) if s in STATUS_MARK]
        card.status = worst(statuses) if statuses else ""


def _number(s: Any) -> int:
    return int(s.number)


def _card(number: int, hit: Any, text: str) -> Card:
    return Card(
        number, hit.name, hit.path, hit.page, hit.start, hit.end, hit.location, hit.collection,
        text, snippet_of(hit.text), hit.unavailable,
    )  # fmt: skip


def snippet_of(text: str, width: int = SNIPPET_CHARS) -> str:
    """About two lines of a passage, cut at a word, without Markdown's heading marks."""
    flat = re.sub(r"(^|\s)#{1,6}(?=\s)", r"\1", " ".join(text.split()))
    flat = " ".join(flat.split())
    if len(flat) <= width:
        return flat
    cut = flat[:width].rsplit(" ", 1)[0] if " " in flat[:width] else flat[:width]
    cut = cut.rstrip(" ,;:")
    return cut + (" …" if cut.endswith((".", "!", "?")) else "…")


def link_colour(palette: QPalette) -> QColor:
    """The palette's link colour, lightened on a dark background where it would be too dark
    to read (many dark themes keep Qt's default dark blue)."""
    link = palette.color(QPalette.ColorRole.Link)
    base = palette.color(QPalette.ColorRole.Base)
    if luma(base) < 128 and luma(link) - luma(base) < 100:
        return QColor.fromHsl(max(0, link.hslHue()), link.hslSaturation(), 200)
    return link


def luma(c: QColor) -> float:
    """How light a colour looks (0 black to 255 white): pure blue looks dark, yellow light."""
    return 0.299 * c.red() + 0.587 * c.green() + 0.114 * c.blue()


def _dim(palette: QPalette) -> str:
    """Secondary text: the placeholder colour, readable on the base colour of both light and
    dark palettes."""
    return palette.color(QPalette.ColorRole.PlaceholderText).name()


def mark_statuses(cards: list[Card], answer: Answer) -> None:
    """Each card takes the worst status of the sentences citing it."""
    by_number: dict[int, list[str]] = {}
    for c in answer.citations:
        by_number.setdefault(c.number, []).append(c.status)
    for card in cards:
        card.status = worst(by_number[card.number]) if card.number in by_number else ""


def query_words(question: str) -> list[str]:
    """The question's words worth bolding in a snippet (no short or common words)."""
    words = re.findall(r"\w+", question.lower())
    seen: list[str] = []
    for w in words:
        if len(w) >= 3 and w not in _SMALL_WORDS and w not in seen:
            seen.append(w)
    return seen


def bold_words(text: str, words: list[str]) -> str:
    """``text`` HTML-escaped, the query's words in bold (a word and its endings: leave/leaves)."""
    if not words:
        return html.escape(text)
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\w*", re.IGNORECASE)
    out, pos = [], 0
    for m in pattern.finditer(text):
        out.append(html.escape(text[pos : m.start()]))
        out.append(f"<b>{html.escape(m.group(0))}</b>")
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def status_colour(status: str, background: QColor) -> QColor | None:
    """The colour of a status mark on ``background``: lightened on a dark palette; None in
    high-contrast mode, where the system's own text colour is used (the marks ✓ ≈ ✗ ? say
    the status without colour)."""
    style_hints = QGuiApplication.styleHints()  # kept: the hints below belong to it
    hints = style_hints.accessibility()
    if hints.contrastPreference() == Qt.ContrastPreference.HighContrast:
        return None
    colour = QColor(STATUS_COLOUR[status])
    return colour.lighter(190) if background.lightness() < 128 else colour


# -- the answer's Markdown ------------------------------------------------------------------

_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")  # [text](url) and ![alt](url)


def safe_markdown(text: str) -> str:
    """The model's Markdown without links or pictures (their text stays), each line its own
    line (a quoted sentence per line stays one per line), code blocks left as they are."""
    text = _LINK.sub(lambda m: m.group(1), text)
    lines, fenced = [], False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and line.strip() and not line.lstrip().startswith("|"):
            line = line.rstrip() + "  "  # a hard line break
        lines.append(line)
    return "\n".join(lines)


def answer_body_html(
    text: str, turn_index: int, numbers: dict[int, str], sentences: list[Any] | None = None
) -> str:
    """The answer as HTML: Markdown rendered, each known [n] a link to its source, and each
    checked sentence followed by its mark (its reason on hover)."""
    marks: list[Any] = []
    if sentences:
        cuts: list[tuple[int, int, Any]] = []
        for s in sorted(sentences, key=lambda s: s.start):
            if s.start >= 0 and s.end <= len(text) and (not cuts or s.start >= cuts[-1][1]):
                cuts.append((s.start, s.end, s))
        for _start, end, _s in reversed(cuts):
            text = text[:end] + _PLACE + text[end:]
        marks = [s for _a, _b, s in cuts]
    doc = QTextDocument()
    features = (
        QTextDocument.MarkdownFeature.MarkdownDialectGitHub
        | QTextDocument.MarkdownFeature.MarkdownNoHTML
    )
    doc.setMarkdown(safe_markdown(text), features)
    _drop_links_and_pictures(doc)
    palette = QGuiApplication.palette()
    link = link_colour(palette)
    base = palette.color(QPalette.ColorRole.Base)
    cursor = QTextCursor(doc)
    marker = QRegularExpression(r"\[(\d{1,3})\]")
    while True:
        cursor = doc.find(marker, cursor)
        if cursor.isNull():
            break
        n = int(cursor.selectedText()[1:-1])
        if n not in numbers:
            continue
        fmt = QTextCharFormat()
        fmt.setAnchor(True)
        fmt.setAnchorHref(f"folio-cite:{turn_index}:{n}")
        fmt.setFontUnderline(True)
        fmt.setForeground(link)
        fmt.setToolTip(f"Open source {n}: {numbers[n]}")
        cursor.mergeCharFormat(fmt)
    cursor = QTextCursor(doc)
    for s in marks:
        cursor = doc.find(_PLACE, cursor)
        if cursor.isNull():
            break
        fmt = QTextCharFormat()
        fmt.setFontWeight(700)
        colour = status_colour(s.status, base)
        if colour is not None:
            fmt.setForeground(colour)
        fmt.setToolTip(STATUS_WORDS[s.status] + (f": {s.reason}" if s.reason else "."))
        cursor.insertText("\u00a0" + STATUS_MARK[s.status], fmt)
    leftover = QTextCursor(doc)
    while True:  # a mark that found no place (never expected): no stray character on screen
        leftover = doc.find(_PLACE, leftover)
        if leftover.isNull():
            break
        leftover.removeSelectedText()
    return _body(doc.toHtml())


def _drop_links_and_pictures(doc: QTextDocument) -> None:
    """Second guard after ``safe_markdown``: a bare web address the parser made a link of is
    plain text again, and no picture is left to load."""
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        spans: list[tuple[int, int, bool]] = []
        while not it.atEnd():
            frag = it.fragment()
            fmt = frag.charFormat()
            if fmt.isImageFormat():
                spans.append((frag.position(), frag.length(), True))
            elif fmt.isAnchor():
                spans.append((frag.position(), frag.length(), False))
            it += 1
        for pos, length, picture in reversed(spans):
            cursor = QTextCursor(doc)
            cursor.setPosition(pos)
            cursor.setPosition(pos + length, QTextCursor.MoveMode.KeepAnchor)
            if picture:
                cursor.removeSelectedText()
            else:
                plain = QTextCharFormat()
                plain.setAnchor(False)
                plain.setAnchorHref("")
                plain.setFontUnderline(False)
                plain.setForeground(QGuiApplication.palette().text())
                cursor.mergeCharFormat(plain)
        block = block.next()


def _body(full: str) -> str:
    m = re.search(r"<body[^>]*>(.*)</body>", full, re.DOTALL)
    return m.group(1) if m else full


# -- a whole turn ---------------------------------------------------------------------------


def turn_html(turn: Turn, index: int, waiting: str = "") -> str:
    """The turn as HTML: question, source cards, answer, summary, "What the model saw"."""
    palette = QGuiApplication.palette()
    base = palette.color(QPalette.ColorRole.Base)
    card_bg = palette.color(QPalette.ColorRole.AlternateBase).name()
    link = link_colour(palette).name()
    rule = palette.color(QPalette.ColorRole.Mid).name()
    dim = _dim(palette)
    question = turn.question or (turn.stored or {}).get("question", "")
    out = [f'<h3 style="margin-top:14px">{html.escape(str(question))}</h3>']
    if turn.cards:
        out.append(_cards_html(turn, index, (card_bg, rule, dim, link), base))
    numbers = {c.number: f"{c.name}, {c.location}" for c in turn.cards if c.number}
    if turn.answer is not None:
        a = turn.answer
        out.append(answer_body_html(a.text, index, numbers, a.sentences))
        if a.summary:  # "2 of 3 statements are backed by the sources."
            out.append(f"<p><i>{html.escape(a.summary)}</i></p>")
        if a.stop == "cancelled":
            out.append(f'<p style="color:{dim}"><i>Stopped.</i></p>')
    elif turn.stored is not None:
        text = str(turn.stored.get("answer", ""))
        out.append(answer_body_html(text, index, numbers, stored_sentences(turn.stored)))
        summary = str(turn.stored.get("summary") or "")
        if summary:
            out.append(f"<p><i>{html.escape(summary)}</i></p>")
    elif turn.streamed:
        out.append(answer_body_html(turn.streamed, index, numbers))
    elif turn.error:
        out.append(f"<p>{html.escape(turn.error)}</p>")
    elif waiting:
        out.append(f'<p style="color:{dim}"><i>{html.escape(waiting)}</i></p>')
    rows = saw_rows(turn)
    if rows:
        arrow = "▾" if turn.saw_open else "▸"
        out.append(
            f'<p><a href="folio-saw:{index}"><span style="color:{link}">{arrow} What the model '
            f"saw ({len(rows)} passage{'s' if len(rows) != 1 else ''})</span></a></p>"
        )
        if turn.saw_open:
            cells = "".join(
                f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td></tr>" for a, b in rows
            )
            out.append(f'<table cellpadding="3" style="margin-left:16px">{cells}</table>')
    return "".join(out)


def saw_rows(turn: Turn) -> list[tuple[str, str]]:
    """What the model was given for this turn, and why (the passages left out too)."""
    a = turn.answer
    if a is None:
        return []
    rows = []
    for s in sorted(a.included, key=_number):
        note = "trimmed to fit" if s.trimmed else f"{s.tokens} tokens"
        if s.hit.unavailable:
            note += ", file not reachable now"
        rows.append((f"[{s.number}] {s.hit.name}, {s.hit.location}", note))
    for cut in a.cut:
        rows.append((f"(cut) {cut.hit.name}, {cut.hit.location}", cut.reason))
    return rows


def _cards_html(turn: Turn, index: int, colours: tuple[str, str, str, str], base: QColor) -> str:
    card_bg, rule, dim, link = colours
    words = query_words(turn.question or str((turn.stored or {}).get("question", "")))
    cells = []
    for i, card in enumerate(turn.cards):
        tag = f"[{card.number}] " if card.number else ""
        parts = [
            f'<a href="folio-source:{index}:{i}"><b style="color:{link}">'
            f"{html.escape(tag + card.name)}</b></a>",
            f' <span style="color:{dim}">· {html.escape(card.location)}</span>',
        ]
        if card.snippet:
            parts.append(f"<br>{bold_words(card.snippet, words)}")
        if card.unavailable:
            away = html.escape(card.unavailable)
            parts.append(f"<br><i>The file cannot be opened now: {away}</i>")
        if card.status:
            colour = status_colour(card.status, base)
            style = f' style="color:{colour.name()}"' if colour is not None else ""
            parts.append(
                f"<br><b{style}>{STATUS_MARK[card.status]}</b> "
                f"{html.escape(STATUS_WORDS[card.status])}"
            )
        width = 100 // CARDS_PER_ROW
        cells.append(f'<td width="{width}%" bgcolor="{card_bg}">{"".join(parts)}</td>')
    rows = []
    for i in range(0, len(cells), CARDS_PER_ROW):
        row = cells[i : i + CARDS_PER_ROW]
        row += [f'<td width="{100 // CARDS_PER_ROW}%"></td>'] * (CARDS_PER_ROW - len(row))
        rows.append("<tr>" + "".join(row) + "</tr>")
    return (
        f'<table width="100%" cellspacing="6" cellpadding="8" border="0" '
        f'style="border-color:{rule}">{"".join(rows)}</table>'
    )


class TranscriptView(QTextBrowser):
    """The conversation's view. It follows no link itself (``ChatPanel`` handles Folio's own
    links) and loads nothing: no picture, no style sheet, no web address, ever."""

    def __init__(self) -> None:
        super().__init__()
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)

    def loadResource(self, kind: int, name: Any) -> Any:
        return None
