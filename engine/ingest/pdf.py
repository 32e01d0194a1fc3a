"""PDF reader: one section per page, via pypdf."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import Any

from ..errors import ReaderError
from ..types import ParsedDocument, Section
from . import _pypdf_speed
from ._textutil import clean_extracted, short_reason, strip_controls
from .ocr import OcrOptions, OcrUnavailable, needs_ocr, read_image_text

LIMIT_ELEMENTS = 1_000_000
# Reasons shown to the user, one per way a PDF cannot be read: what happened, what to do.
NEEDS_CRYPTO = (
    "This PDF is encrypted in a way this installation of Folio cannot open. Reinstalling "
    "Folio should fix it; if it does not, ask your IT team."
)
PASSWORD = (
    "This PDF is protected by a password, so Folio cannot read it. Save a copy without the "
    "password and add that instead."
)
DAMAGED = (
    "This PDF is damaged and could not be read. Open it in a PDF viewer, save a fresh copy "
    "and add that instead."
)
TOO_COMPLEX = (
    "This PDF is too complex to read safely (it holds an unusually large number of parts). "
    "Save a smaller copy, for example by printing it to PDF, and add that instead."
)
NO_PAGES = "This PDF has no pages, so there is nothing to read."
NO_TEXT = (
    "This PDF has no text that Folio can read: its pages look like scanned images, and Folio "
    "cannot read text in images yet. A copy made with text recognition (OCR) can be added."
)
# The same, when text recognition is there but turned off, or found nothing.
NO_TEXT_OCR_OFF = (
    "This PDF has no text that Folio can read: its pages look like scanned images, and text "
    "recognition (OCR) is turned off in Folio's settings. Turn it on to read them."
)
NO_TEXT_OCR_EMPTY = (
    "This PDF has no text that Folio can read: its pages look like scanned images, and text "
    "recognition (OCR) found no words on them (the scan may be blank, too faint or "
    "handwritten)."
)
NO_TEXT_OCR_MISSING = (
    "This PDF has no text that Folio can read: its pages look like scanned images, and the "
    "text recognition (OCR) part of this installation of Folio is missing. Reinstalling "
    "Folio should fix it."
)
# Reasons and warnings written when OCR was not used: with OCR on, such files are read again.
SCANNED_WITHOUT_OCR = (NO_TEXT, NO_TEXT_OCR_OFF, NO_TEXT_OCR_MISSING)
SCANNED_PAGES_WARNING = "pages have no text (perhaps scanned images)"
log = logging.getLogger("folio.ingest")
# Producers' placeholders that are no title at all.
_NO_TITLE = frozenset({"untitled", "(anonymous)", "anonymous", "untitled document", "title"})


def _quiet_pypdf() -> None:
    """pypdf logs a warning for every flaw it works around; a reader only needs its errors.
    Also switches in the faster readings of hex strings and content streams (``_pypdf_speed``)."""
    log = logging.getLogger("pypdf")
    if log.level == logging.NOTSET:
        log.setLevel(logging.ERROR)
    _pypdf_speed.install()


def _list_pages(numbers: list[int], limit: int = 10) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    more = len(numbers) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def _title(reader: object) -> str:
    """The document title from the PDF's metadata, or "" (metadata is often broken)."""
    try:
        meta = getattr(reader, "metadata", None)
        title = getattr(meta, "title", None) if meta is not None else None
        if not isinstance(title, str):
            return ""
        title = " ".join(strip_controls(title).split())[:300]
        return "" if title.lower() in _NO_TITLE else title
    except MemoryError:
        raise
    except Exception:  # any failure here just means "no title"
        return ""


def read_pdf(data: bytes, ocr: OcrOptions | None = None) -> ParsedDocument:
    """Read a PDF held in ``data``; raises ReaderError for anything unreadable.

    Pages without usable text (see :func:`~engine.ingest.ocr.needs_ocr`) are read by OCR
    when ``ocr`` is given and enabled; the other pages keep their own text layer."""
    try:
        from pypdf import apply_configuration

        # pypdf's default cap of 100,000 elements per array or dictionary rejects real
        # filings (two SEC 10-Qs of the corpus); 1,000,000 still bounds memory and time.
        with apply_configuration(
            array_maximum_element_count=LIMIT_ELEMENTS,
            dictionary_maximum_element_count=LIMIT_ELEMENTS,
        ):
            return _read_pdf(data, ocr or OcrOptions(enabled=False))
    except ReaderError:
        raise
    except MemoryError:
        raise
    except RecursionError:
        raise ReaderError(DAMAGED) from None
    except Exception as exc:  # pypdf raises many types (PdfReadError, ValueError, KeyError…)
        raise ReaderError(_damaged(exc)) from None


def _damaged(exc: Exception) -> str:
    """The user's reason for a PDF pypdf gave up on; pypdf's own words go to the log only."""
    from pypdf.errors import DependencyError, LimitReachedError

    log.info("PDF not read: %s: %s", type(exc).__name__, short_reason(exc))
    if isinstance(exc, DependencyError):
        # pypdf needs the 'cryptography' package for AES; it may only notice while reading.
        return NEEDS_CRYPTO
    if isinstance(exc, LimitReachedError):
        return TOO_COMPLEX
    return DAMAGED


def _read_pdf(data: bytes, ocr: OcrOptions) -> ParsedDocument:
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError

    _quiet_pypdf()
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        try:
            # Many PDFs are encrypted only to set permissions and open with an empty password.
            result = reader.decrypt("")
        except DependencyError:
            raise ReaderError(NEEDS_CRYPTO) from None
        if result == PasswordType.NOT_DECRYPTED:
            raise ReaderError(PASSWORD)

    pages = reader.pages
    total = len(pages)
    if total == 0:
        raise ReaderError(NO_PAGES)

    texts: dict[int, str] = {}
    failed: list[int] = []
    first_error: Exception | None = None
    for index in range(total):
        number = index + 1
        try:
            raw = pages[index].extract_text()
        except MemoryError:
            raise
        except Exception as exc:  # one bad page (RecursionError included) must not sink the file
            failed.append(number)
            if first_error is None:
                first_error = exc
            continue
        texts[number] = clean_extracted(raw or "")

    if len(failed) == total and first_error is not None:
        raise ReaderError(_damaged(first_error))

    # Pages whose text layer is no usable text: a scan, a photo, glyphs without meaning.
    # With OCR off, PDFium is never asked (the reader is then pypdf alone, as before).
    scans = _Scans(data)
    read: dict[int, Section] = {}
    ocr_missing = False
    try:
        wanted = (
            [n for n, text in texts.items() if needs_ocr(text, scans.share_of(n))]
            if ocr.enabled
            else []
        )
        if wanted:
            try:
                read = scans.read(wanted, total, ocr)
            except OcrUnavailable as exc:
                log.warning("OCR not available: %s", exc)
                ocr_missing = True
    finally:
        scans.close()

    sections: list[Section] = []
    blank: list[int] = []
    for number, text in texts.items():
        if number in read:
            sections.append(read[number])
        elif text:
            sections.append(Section(page=number, text=text, label=f"page {number}"))
        else:
            blank.append(number)
            sections.append(
                Section(page=number, text="", label=f"page {number}", flags=("no_text",))
            )

    if len(blank) + len(failed) == total:
        if not ocr.enabled:
            raise ReaderError(NO_TEXT_OCR_OFF)
        if ocr_missing:
            raise ReaderError(NO_TEXT_OCR_MISSING)
        raise ReaderError(NO_TEXT_OCR_EMPTY)

    warnings: list[str] = []
    if failed:
        warnings.append(
            f"{len(failed)} of {total} pages could not be read and were skipped "
            f"(pages {_list_pages(failed)})."
        )
    if blank:
        if ocr.enabled and not ocr_missing:
            warnings.append(
                f"{len(blank)} of {total} pages have no text, and text recognition (OCR) found "
                f"no words on them (pages {_list_pages(blank)})."
            )
        else:
            warnings.append(
                f"{len(blank)} of {total} {SCANNED_PAGES_WARNING}, so they cannot be searched."
            )
    n_ocr = sum(1 for s in sections if "ocr" in s.flags)
    if n_ocr:
        log.info("read %d of %d pages by OCR", n_ocr, total)
    return ParsedDocument(
        kind="pdf", sections=tuple(sections), title=_title(reader), warnings=tuple(warnings)
    )


class _Scans:
    """The PDF opened in PDFium, for what pypdf cannot do: how much of a page is picture,
    and the page rendered as an image for OCR. Opened only when first needed."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pdf: Any = None
        self._failed = False

    def _open(self) -> Any:
        if self._pdf is None and not self._failed:
            try:
                import pypdfium2 as pdfium

                self._pdf = pdfium.PdfDocument(self._data)
            except MemoryError:
                raise
            except Exception as exc:  # PDFium refuses some files pypdf reads
                log.info("PDFium could not open the PDF: %s", short_reason(exc))
                self._failed = True
        return self._pdf

    def close(self) -> None:
        if self._pdf is not None:
            try:
                self._pdf.close()
            except Exception:
                pass
            self._pdf = None

    def share_of(self, number: int) -> Callable[[], float]:
        return lambda: self.image_share(number)

    def image_share(self, number: int) -> float:
        """The share of page ``number``'s area covered by images (0 when unknown)."""
        pdf = self._open()
        if pdf is None:
            return 0.0
        try:
            import pypdfium2.raw as raw

            page = pdf[number - 1]
            try:
                width, height = page.get_size()
                area = max(1.0, float(width) * float(height))
                covered = 0.0
                for obj in page.get_objects(filter=(raw.FPDF_PAGEOBJ_IMAGE,), max_depth=2):
                    left, bottom, right, top = obj.get_pos()
                    w = max(0.0, min(right, width) - max(left, 0.0))
                    h = max(0.0, min(top, height) - max(bottom, 0.0))
                    covered += w * h
                return min(1.0, covered / area)
            finally:
                page.close()
        except MemoryError:
            raise
        except Exception:
            return 0.0

    def read(self, numbers: list[int], total: int, ocr: OcrOptions) -> dict[int, Section]:
        """OCR the pages ``numbers``; a page that yields no words is left out."""
        pdf = self._open()
        if pdf is None:
            return {}
        out: dict[int, Section] = {}
        for number in numbers:
            if ocr.on_page is not None:
                ocr.on_page(number, total)
            try:
                page = pdf[number - 1]
                try:
                    bitmap = page.render(scale=_scale(page.get_size(), ocr.dpi), grayscale=True)
                    image = bitmap.to_pil().copy()  # its own pixels: PDFium's are freed now
                    bitmap.close()
                finally:
                    page.close()
            except MemoryError:
                raise
            except Exception as exc:  # one page PDFium cannot draw must not sink the file
                log.info("page %d could not be drawn for OCR: %s", number, short_reason(exc))
                continue
            found = read_image_text(image, ocr.threads)
            del image
            if found.text.strip():
                out[number] = Section(
                    page=number,
                    text=found.text,
                    label=f"page {number}",
                    flags=("ocr",),
                    boxes=found.boxes,
                )
        return out


def _scale(size: tuple[float, float], dpi: int) -> float:
    """PDFium's scale for ``dpi``, lowered so the longer side stays within OCR's limit."""
    from .ocr import MAX_SIDE

    longest = max(1.0, float(max(size)))
    return min(dpi / 72.0, MAX_SIDE / longest)
