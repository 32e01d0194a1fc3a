"""Whole-passage highlights on PDF pages.

A citation knows its passage as a character span of the page's text as Folio indexed it
(pypdf's reading). The PDF view draws with PDFium, whose text of the same page differs in
spacing and line breaks. ``align_span`` carries the span across by comparing the two texts
without their whitespace — the whole passage at once, so words it shares with other parts of
the page cannot pull the highlight there. PDFium then gives one rectangle per line of the
matched characters, and ``HighlightPdfView`` paints them over the page.
"""

from __future__ import annotations

import difflib
import unicodedata

from PySide6.QtCore import QRect, QRectF, QSize, QSizeF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPaintEvent
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import QWidget

# Pixels kept above the passage when it is scrolled into view.
SCROLL_MARGIN = 48


def _letters(text: str) -> tuple[str, list[int]]:
    """``text`` without whitespace, compatibility-normalised (ligatures split, wide forms
    narrowed), and for each remaining character the index it came from in ``text``."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        if ch.isspace():
            continue
        norm = unicodedata.normalize("NFKC", ch)
        for piece in norm:
            if not piece.isspace():
                out.append(piece)
                where.append(i)
    return "".join(out), where


def align_span(
    source: str, start: int, end: int, target: str, near: int | None = None
) -> tuple[int, int] | None:
    """The span of ``target`` holding the characters of ``source[start:end]``, or None.

    ``source`` and ``target`` are two readings of the same page (or ``source`` is the passage
    alone). The passage is looked up whole (whitespace ignored); if it occurs more than once,
    the occurrence nearest its place wins: ``near`` (about where it starts in ``target``) when
    given, else its place in ``source``. When the readings differ inside the passage, the
    characters they share are lined up and the span runs from the first to the last shared one.
    """
    start, end = max(0, start), min(len(source), end)
    if start >= end or not target:
        return None
    src, src_at = _letters(source)
    dst, dst_at = _letters(target)
    # The passage's place among the source's letters.
    first = next((k for k, i in enumerate(src_at) if i >= start), len(src_at))
    last = next((k for k, i in enumerate(src_at) if i >= end), len(src_at))
    needle = src[first:last]
    if not needle or not dst:
        return None
    expected = first * len(dst) / max(1, len(src))
    if near is not None:
        expected = next((k for k, i in enumerate(dst_at) if i >= near), len(dst_at))
    hits: list[int] = []
    pos = dst.find(needle)
    while pos >= 0:
        hits.append(pos)
        pos = dst.find(needle, pos + 1)
    if hits:
        at = min(hits, key=lambda h: abs(h - expected))
        return dst_at[at], dst_at[at + len(needle) - 1] + 1
    # The readings differ (a hyphenated word, a symbol read two ways): line up what they share.
    matcher = difflib.SequenceMatcher(None, src, dst, autojunk=False)
    mapped: list[int] = []
    for block in matcher.get_matching_blocks():
        lo, hi = max(block.a, first), min(block.a + block.size, last)
        if lo < hi:
            mapped.extend((block.b + lo - block.a, block.b + hi - 1 - block.a))
    # Too little in common means the page is not the one the passage came from.
    if not mapped or _shared(matcher, first, last) < 0.6 * len(needle):
        return None
    return dst_at[min(mapped)], dst_at[max(mapped)] + 1


def _shared(matcher: difflib.SequenceMatcher[str], first: int, last: int) -> int:
    """How many of the source letters ``first..last`` the matcher lined up."""
    total = 0
    for block in matcher.get_matching_blocks():
        total += max(0, min(block.a + block.size, last) - max(block.a, first))
    return total


def passage_rects(
    document: QPdfDocument,
    page_index: int,
    section_text: str,
    start: int,
    end: int,
    near: int | None = None,
) -> list[QRectF]:
    """Rectangles (page points, top-left origin), one per line, covering the passage
    ``section_text[start:end]`` on the page; empty when it cannot be found there. ``near``:
    see ``align_span``."""
    if not 0 <= page_index < document.pageCount():
        return []
    page_text = document.getAllText(page_index).text()
    span = align_span(section_text, start, end, page_text, near)
    if span is None:
        return []
    selection = document.getSelectionAtIndex(page_index, span[0], span[1] - span[0])
    rects = [poly.boundingRect() for poly in selection.bounds()]
    return merge_lines([r for r in rects if r.width() > 0 and r.height() > 0])


def merge_lines(rects: list[QRectF]) -> list[QRectF]:
    """One rectangle per line: PDFium gives one per run of text (often one per word in a
    table), which paints as a busy patchwork. Rectangles that share most of their height are
    on the same line and are joined."""
    lines: list[QRectF] = []
    for rect in sorted(rects, key=lambda r: (r.center().y(), r.left())):
        last = lines[-1] if lines else None
        if last is not None:
            shared = min(last.bottom(), rect.bottom()) - max(last.top(), rect.top())
            if shared > 0.5 * min(last.height(), rect.height()):
                lines[-1] = last.united(rect)
                continue
        lines.append(QRectF(rect))
    return lines


class HighlightPdfView(QPdfView):
    """A PDF view that also paints a passage's rectangles on its page and scrolls to them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)  # type: ignore[arg-type]
        self.highlight_page = -1
        self.highlight_rects: list[QRectF] = []

    def set_highlight(self, page_index: int, rects: list[QRectF]) -> None:
        self.highlight_page, self.highlight_rects = page_index, list(rects)
        self.viewport().update()

    def clear_highlight(self) -> None:
        self.set_highlight(-1, [])

    # --- where pages are drawn -------------------------------------------------------------
    def _page_sizes(self) -> dict[int, QSize]:
        """Each shown page's size in pixels, as QPdfView sizes it for its zoom mode."""
        doc = self.document()
        if doc is None or doc.status() != QPdfDocument.Status.Ready:
            return {}
        screen = QGuiApplication.primaryScreen()
        resolution = (screen.logicalDotsPerInch() if screen else 72.0) / 72.0
        margins = self.documentMargins()
        view = self.viewport().size()
        if self.pageMode() == QPdfView.PageMode.SinglePage:
            pages = [self.pageNavigator().currentPage()]
        else:
            pages = list(range(doc.pageCount()))
        sizes: dict[int, QSize] = {}
        for page in pages:
            points = doc.pagePointSize(page)
            mode = self.zoomMode()
            if mode == QPdfView.ZoomMode.FitToWidth:
                size = QSizeF(points * resolution).toSize()
                width = view.width() - margins.left() - margins.right()
                size = size * (width / max(1, size.width()))
            elif mode == QPdfView.ZoomMode.FitInView:
                room = view + QSize(-margins.left() - margins.right(), -self.pageSpacing())
                size = (
                    QSizeF(points * resolution)
                    .toSize()
                    .scaled(room, Qt.AspectRatioMode.KeepAspectRatio)
                )
            else:
                size = QSizeF(points * resolution * self.zoomFactor()).toSize()
            sizes[page] = size
        return sizes

    def page_geometry(self, page_index: int) -> QRect | None:
        """Where the page lies in the scrolled document, in pixels (None when not shown)."""
        sizes = self._page_sizes()
        if page_index not in sizes:
            return None
        margins = self.documentMargins()
        total_width = max((s.width() for s in sizes.values()), default=0)
        total_width += margins.left() + margins.right()
        y = margins.top()
        for page, size in sizes.items():
            x = (max(total_width, self.viewport().width()) - size.width()) // 2
            if page == page_index:
                return QRect(x, y, size.width(), size.height())
            y += size.height() + self.pageSpacing()
        return None

    def view_rects(self) -> list[QRectF]:
        """The highlight's rectangles in viewport pixels (as painted now)."""
        geometry = self.page_geometry(self.highlight_page)
        doc = self.document()
        if geometry is None or doc is None:
            return []
        points = doc.pagePointSize(self.highlight_page)
        if points.width() <= 0 or points.height() <= 0:
            return []
        sx, sy = geometry.width() / points.width(), geometry.height() / points.height()
        dx = geometry.x() - self.horizontalScrollBar().value()
        dy = geometry.y() - self.verticalScrollBar().value()
        return [
            QRectF(dx + r.x() * sx, dy + r.y() * sy, r.width() * sx, r.height() * sy)
            for r in self.highlight_rects
        ]

    def scroll_to_highlight(self) -> None:
        """Scroll so the passage's first line shows near the top of the view."""
        rects = self.view_rects()
        if not rects:
            return
        top = min(r.top() for r in rects) + self.verticalScrollBar().value()
        self.verticalScrollBar().setValue(max(0, int(top) - SCROLL_MARGIN))
        left = min(r.left() for r in rects) + self.horizontalScrollBar().value()
        right = max(r.right() for r in rects) + self.horizontalScrollBar().value()
        bar = self.horizontalScrollBar()
        if right - bar.value() > self.viewport().width() or left < bar.value():
            bar.setValue(max(0, int(left) - SCROLL_MARGIN))

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        rects = self.view_rects()
        if not rects:
            return
        # The system's selection colour, see-through so the words stay readable in any theme.
        colour = QColor(self.palette().color(self.palette().ColorRole.Highlight))
        fill = QColor(colour)
        fill.setAlpha(90)
        painter = QPainter(self.viewport())
        painter.setPen(colour)
        painter.setBrush(fill)
        for rect in rects:
            painter.drawRect(rect.adjusted(-1, -1, 1, 1))
        painter.end()
