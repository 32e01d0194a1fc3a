"""PDF reader: one section per page, via pypdf."""

from __future__ import annotations

import io
import logging

from ..errors import ReaderError
from ..types import ParsedDocument, Section
from . import _pypdf_speed
from ._textutil import clean_extracted, short_reason, strip_controls

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


def read_pdf(data: bytes) -> ParsedDocument:
    """Read a PDF held in ``data``; raises ReaderError for anything unreadable."""
    try:
        from pypdf import apply_configuration

        # pypdf's default cap of 100,000 elements per array or dictionary rejects real
        # filings (two SEC 10-Qs of the corpus); 1,000,000 still bounds memory and time.
        with apply_configuration(
            array_maximum_element_count=LIMIT_ELEMENTS,
            dictionary_maximum_element_count=LIMIT_ELEMENTS,
        ):
            return _read_pdf(data)
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


def _read_pdf(data: bytes) -> ParsedDocument:
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

    sections: list[Section] = []
    failed: list[int] = []
    blank: list[int] = []
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
        text = clean_extracted(raw or "")
        if text:
            sections.append(Section(page=number, text=text, label=f"page {number}"))
        else:
            blank.append(number)
            sections.append(
                Section(page=number, text="", label=f"page {number}", flags=("no_text",))
            )

    if len(failed) == total and first_error is not None:
        raise ReaderError(_damaged(first_error))
    if len(blank) + len(failed) == total:
        raise ReaderError(NO_TEXT)

    warnings: list[str] = []
    if failed:
        warnings.append(
            f"{len(failed)} of {total} pages could not be read and were skipped "
            f"(pages {_list_pages(failed)})."
        )
    if blank:
        warnings.append(
            f"{len(blank)} of {total} pages have no text (perhaps scanned images), so they "
            "cannot be searched."
        )
    return ParsedDocument(
        kind="pdf", sections=tuple(sections), title=_title(reader), warnings=tuple(warnings)
    )
