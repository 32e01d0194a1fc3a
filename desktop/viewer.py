"""The source viewer: opens a citation at its place.

PDFs are rendered with QtPdf at the cited page with the whole passage highlighted, every line
of it, and scrolled into view (``pdf_highlight``); when the passage cannot be placed on the page
its opening words are found by the PDF search model instead. A page read by OCR (a scan, a
picture) is shown as its image with the passage's words marked where OCR found them. Other
formats show the cited section as text with the passage selected and scrolled into view. "Open
in default app" opens only documents of the collection, and asks first for a web page: a
browser may fetch its pictures and scripts from the internet.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QModelIndex, QPointF, QRectF, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QImage,
    QImageReader,
    QPainter,
    QPalette,
    QPen,
    QPixmap,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtPdf import QPdfDocument, QPdfSearchModel
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTextBrowser,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from engine import FolioError, Library
from engine.ingest.ocr import Rect, span_rects
from engine.types import IMAGE_SUFFIXES, Box

from .pdf_highlight import HighlightPdfView, passage_rects
from .shared_collections import SourceAway, source_away
from .tasks import Executor, Operation


def search_phrase(passage: str, words: int = 6) -> str:
    """A short, distinctive run of the passage's first words for the PDF text search."""
    tokens = re.findall(r"\S+", passage)
    return " ".join(tokens[:words])


class SourceViewer(QWidget):
    """A non-modal window showing one cited passage in its document."""

    shown = Signal()  # the passage is on screen

    def __init__(self, library: Library, executor: Executor, parent: QWidget | None = None) -> None:
        # A separate window, owned by the main window so Qt deletes it on the GUI thread.
        super().__init__(parent, Qt.WindowType.Window)
        self.library = library
        self._executor = executor
        self.setWindowTitle("Source")
        self.resize(800, 900)
        self.current_path = ""
        self.current_page = 0
        self.collection = ""

        self.title = QLabel("")
        self.open_button = QPushButton("Open in default app")
        self.open_button.clicked.connect(self.open_externally)
        self.pdf_doc = QPdfDocument(self)
        self.pdf_search = QPdfSearchModel(self)
        self.pdf_search.setDocument(self.pdf_doc)
        # The search runs incrementally; pick the cited page's hit as results come in.
        self._target_page = -1
        self.pdf_search.countChanged.connect(self._on_search_results)
        self.pdf_view = HighlightPdfView()
        self.pdf_view.setDocument(self.pdf_doc)
        self.pdf_view.setSearchModel(self.pdf_search)
        self.pdf_view.setPageMode(QPdfView.PageMode.MultiPage)
        self.text_view = QTextBrowser()
        # A page read by OCR: its image, the passage's words marked on it.
        self.scan_label = QLabel()
        self.scan_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.scan_area = QScrollArea()
        self.scan_area.setWidget(self.scan_label)
        self.scan_rects: list[Rect] = []  # highlighted, as fractions of the page
        self.stack = QStackedWidget()
        self.stack.addWidget(self.pdf_view)
        self.stack.addWidget(self.text_view)
        self.stack.addWidget(self.scan_area)
        self.message = QLabel("")
        self.message.setWordWrap(True)

        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.open_button)
        lay = QVBoxLayout(self)
        lay.addLayout(head)
        lay.addWidget(self.message)
        lay.addWidget(self.stack, 1)

    def show_passage(
        self, collection: str, path: str, page: int, start: int, end: int, passage: str
    ) -> None:
        self.collection, self.current_path, self.current_page = collection, path, page
        kind = "page" if _is_pdf(path) or _is_picture(path) else "section"
        self.title.setText(f"{Path(path).name} — {kind} {page}")
        self.message.setText("")
        # Not openable until this path is confirmed to be a document of the collection.
        self.open_button.setEnabled(False)
        self.show()
        self.raise_()
        library = self.library

        def work(_op: Operation) -> tuple[bool, str, list[Box]] | SourceAway:
            with library.open(collection) as coll:
                if not coll.owns(path):
                    return False, "", []
                if coll.shared and not Path(path).is_file():
                    return SourceAway(coll.section_text(path, page), source_away(path))
                boxes = coll.page_boxes(path, page)  # a page read by OCR has them
                if _is_pdf(path) and not boxes:
                    if passage:
                        return True, "", []  # the passage's own words place it (no re-reading)
                    # No passage text: the page as indexed, which the offsets refer to.
                    try:
                        return True, coll.section_text(path, page), []
                    except FolioError:
                        return True, "", []
                return True, coll.section_text(path, page), boxes

        op = Operation(work)
        op.succeeded.connect(lambda r: self._display(r, path, page, start, end, passage))
        op.failed.connect(self.message.setText)
        self._executor.submit(op)

    def _display(
        self,
        result: tuple[bool, str, list[Box]] | SourceAway,
        path: str,
        page: int,
        start: int,
        end: int,
        passage: str,
    ) -> None:
        if path != self.current_path:
            return  # another citation was opened meanwhile
        if isinstance(result, SourceAway):  # the page as indexed, and why the file is not here
            self.stack.setCurrentWidget(self.text_view)
            self.text_view.setPlainText(result.text)
            self._highlight(start, end)
            self.message.setText(result.message)
            self.shown.emit()
            return
        owned, text, boxes = result
        self.open_button.setEnabled(owned)
        if not owned:
            self.message.setText("This file is not part of the collection, so Folio won't open it.")
            return
        self.scan_rects = []
        if boxes and self._show_scan(path, page, span_rects(boxes, start, end)):
            self.message.setText("This page was read by text recognition (OCR).")
        elif _is_pdf(path) and not boxes:
            self.stack.setCurrentWidget(self.pdf_view)
            if self.pdf_doc.load(path) != QPdfDocument.Error.None_:
                self.message.setText("The PDF could not be opened (changed or locked since?).")
                return
            self.pdf_view.pageNavigator().jump(page - 1, QPointF(0, 0), 0)
            self.pdf_view.setCurrentSearchResultIndex(-1)
            if passage:
                # Placed by its own words, the occurrence nearest its offset winning; this
                # also holds when the file changed since it was indexed.
                rects = passage_rects(self.pdf_doc, page - 1, passage, 0, len(passage), start)
            else:
                rects = passage_rects(self.pdf_doc, page - 1, text, start, end) if text else []
            self.pdf_view.set_highlight(page - 1, rects)
            if rects:
                self._target_page = -1
                self.pdf_search.setSearchString("")
                self.pdf_view.scroll_to_highlight()
                # Again once the view has laid the pages out at its final size.
                QTimer.singleShot(0, self.pdf_view.scroll_to_highlight)
            else:
                # The passage could not be placed: find its opening words instead.
                self._target_page = page - 1
                self.pdf_search.setSearchString(search_phrase(passage))
                self._on_search_results()
        else:
            self.stack.setCurrentWidget(self.text_view)
            self.text_view.setPlainText(text)
            self._highlight(start, end)
        self.shown.emit()

    def _show_scan(self, path: str, page: int, rects: list[Rect]) -> bool:
        """Show the page image with ``rects`` marked; False when it cannot be drawn."""
        image = _page_image(path, page, SCAN_WIDTH)
        if image is None or image.isNull():
            return False
        image = image.convertToFormat(QImage.Format.Format_RGB32)
        w, h = image.width(), image.height()
        painter = QPainter(image)
        painter.setPen(QPen(QColor(230, 150, 0), 2))
        painter.setBrush(QColor(255, 214, 0, 90))
        for x0, y0, x1, y1 in rects:
            painter.drawRect(QRectF(x0 * w - 4, y0 * h - 2, (x1 - x0) * w + 8, (y1 - y0) * h + 4))
        painter.end()
        self.scan_label.setPixmap(QPixmap.fromImage(image))
        self.scan_label.resize(image.size())
        self.stack.setCurrentWidget(self.scan_area)
        self.scan_rects = rects
        if rects:
            x0, y0, _x1, _y1 = rects[0]
            self.scan_area.ensureVisible(int(x0 * w), int(y0 * h), 40, 120)
        return True

    def _on_search_results(self) -> None:
        if self._target_page >= 0 and self.pdf_view.currentSearchResultIndex() < 0:
            self._select_result_on_page(self._target_page)

    def _select_result_on_page(self, page_index: int) -> None:
        """Make the first search hit on the cited page the current (highlighted) one."""
        for i in range(self.pdf_search.rowCount(QModelIndex())):
            if self.pdf_search.resultAtIndex(i).page() == page_index:
                self.pdf_view.setCurrentSearchResultIndex(i)
                return

    def highlighted_page(self) -> int | None:
        """The 0-based page of the highlighted passage (or PDF search hit), if any."""
        if self.pdf_view.highlight_rects:
            return self.pdf_view.highlight_page
        i = self.pdf_view.currentSearchResultIndex()
        if i < 0:
            return None
        return int(self.pdf_search.resultAtIndex(i).page())

    def _highlight(self, start: int, end: int) -> None:
        cursor = QTextCursor(self.text_view.document())
        cursor.setPosition(max(0, start))
        cursor.setPosition(
            min(end, len(self.text_view.toPlainText())), QTextCursor.MoveMode.KeepAnchor
        )
        fmt = QTextCharFormat()
        # The system's selection colours, readable in light, dark and high-contrast themes.
        fmt.setBackground(self.palette().color(QPalette.ColorRole.Highlight))
        fmt.setForeground(self.palette().color(QPalette.ColorRole.HighlightedText))
        sel = QTextEdit.ExtraSelection()
        sel.cursor = cursor
        sel.format = fmt
        self.text_view.setExtraSelections([sel])
        self.text_view.setTextCursor(cursor)
        self.text_view.ensureCursorVisible()

    def selected_text(self) -> str:
        return self.text_view.textCursor().selectedText()

    def open_externally(self) -> bool:
        """Open the document in the system's default app, only if it belongs to the collection."""
        if not self.current_path or not self.open_button.isEnabled():
            return False
        if is_web_page(self.current_path) and not self._confirm_browser():
            return False
        return bool(QDesktopServices.openUrl(QUrl.fromLocalFile(self.current_path)))

    def _confirm_browser(self) -> bool:
        """Ask before a web page goes to the browser: opening it there can reach the internet."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Open a web page in your browser?")
        box.setText(
            f"{Path(self.current_path).name} is a web page. Your browser may download its "
            "pictures, fonts or scripts from the internet when it opens it, and the sites "
            "they come from can see that the page was opened."
        )
        box.setInformativeText(
            "Folio shows the page's text here without going online. Open it in the browser anyway?"
        )
        open_button = box.addButton("Open in browser", QMessageBox.ButtonRole.AcceptRole)
        stay = box.addButton("Keep reading in Folio", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(stay)
        box.setEscapeButton(stay)
        box.exec()
        chosen = box.clickedButton() is open_button
        box.deleteLater()
        return chosen


WEB_PAGE_SUFFIXES = frozenset({".html", ".htm", ".xhtml", ".shtml", ".mht", ".mhtml"})


def is_web_page(path: str) -> bool:
    """Files the system would hand to a web browser."""
    return Path(path).suffix.lower() in WEB_PAGE_SUFFIXES


def _is_pdf(path: str) -> bool:
    return path.lower().endswith(".pdf")


def _is_picture(path: str) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


# Width in pixels at which a scanned page is shown.
SCAN_WIDTH = 1000


def _page_image(path: str, page: int, width: int) -> QImage | None:
    """Page ``page`` of a PDF or a picture (a TIFF's page), ``width`` pixels wide."""
    if _is_pdf(path):
        doc = QPdfDocument()
        try:
            if doc.load(path) != QPdfDocument.Error.None_ or not 0 < page <= doc.pageCount():
                return None
            points = doc.pagePointSize(page - 1)
            if points.width() <= 0:
                return None
            height = round(width * points.height() / points.width())
            return doc.render(page - 1, QSize(width, height))
        finally:
            doc.close()
    reader = QImageReader(path)
    # Turned as its EXIF data says, as OCR read it.
    reader.setAutoTransform(True)
    if page > 1 and not reader.jumpToImage(page - 1):
        return None
    image = reader.read()
    if image.isNull():
        return None
    return image.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
