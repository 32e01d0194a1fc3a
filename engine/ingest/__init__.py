"""Readers that turn a document file into a :class:`~engine.types.ParsedDocument`.

:func:`read_file` picks the reader by the file's content (see :mod:`engine.ingest.sniff`) and
either returns a document or raises :class:`~engine.errors.ReaderError` with a reason meant
for the person using Folio; it raises nothing else but MemoryError and KeyboardInterrupt.
"""

from __future__ import annotations

import io
import logging
import stat
import warnings
from collections.abc import Callable
from pathlib import Path

from .. import reasons
from ..errors import ReaderError, UnsupportedFile
from ..types import ParsedDocument
from .docx import read_docx
from .html import read_html
from .image import read_image
from .ocr import OcrOptions
from .pdf import read_pdf
from .sniff import sniff, sniff_stream
from .text import read_text

__all__ = ["DEFAULT_MAX_BYTES", "SUPPORTED_KINDS", "OcrOptions", "read_file", "sniff"]

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
log = logging.getLogger("folio.ingest")

_READERS: dict[str, Callable[[bytes], ParsedDocument]] = {
    "pdf": read_pdf,
    "docx": read_docx,
    "html": read_html,
    "markdown": lambda data: read_text(data, markdown=True),
    "text": read_text,
}
# Readers that may read pages by OCR.
_OCR_READERS: dict[str, Callable[[bytes, OcrOptions | None], ParsedDocument]] = {
    "pdf": read_pdf,
    "image": read_image,
}
SUPPORTED_KINDS: frozenset[str] = frozenset(_READERS) | frozenset(_OCR_READERS)

# Formats people may expect Folio to read; named in the reason instead of "binary content".
_OTHER_FORMATS = frozenset(
    {
        ".doc", ".docm", ".dotx", ".xls", ".xlsx", ".xlsm", ".ppt", ".pptx", ".odt", ".ods",
        ".odp", ".epub", ".rtf", ".pages", ".key", ".numbers", ".msg", ".zip",
    }
)  # fmt: skip


def _size(n: int) -> str:
    """A size in MB as the messages print it (KB or bytes for small test limits)."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.0f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} bytes"


def _unsupported(path: Path, data: bytes) -> ReaderError:
    """The error for content no reader takes, worded by what the extension promised."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return UnsupportedFile(reasons.NOT_PDF)
    if suffix == ".docx":
        if data.startswith(b"PK"):
            return ReaderError(reasons.DOCX_DAMAGED)
        return UnsupportedFile(reasons.NOT_DOCX)
    if suffix in _OTHER_FORMATS:
        return UnsupportedFile(reasons.unsupported_type(suffix))
    return UnsupportedFile(reasons.BINARY)


def _read(path: Path, max_bytes: int, ocr: OcrOptions | None) -> ParsedDocument:
    info = path.stat()
    if stat.S_ISDIR(info.st_mode):
        raise ReaderError(reasons.IS_FOLDER)
    if not stat.S_ISREG(info.st_mode):
        # Opening a FIFO or device would block or never end.
        raise ReaderError(reasons.NOT_A_FILE)
    if info.st_size > max_bytes:
        raise ReaderError(reasons.too_large(_size(info.st_size), _size(max_bytes)))
    with path.open("rb") as stream:
        # One read: the file may change meanwhile, so the limit is checked again on what came.
        data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ReaderError(reasons.too_large(f"over {_size(max_bytes)}", _size(max_bytes)))
    if not data:
        raise ReaderError(reasons.EMPTY)
    kind = sniff_stream(io.BytesIO(data), path.name)
    if kind is None:
        raise _unsupported(path, data)
    if kind in _OCR_READERS:
        return _OCR_READERS[kind](data, ocr)
    return _READERS[kind](data)


def read_file(
    path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, ocr: OcrOptions | None = None
) -> ParsedDocument:
    """Read the document at ``path``; raise ReaderError (or UnsupportedFile) when it cannot.

    Files over ``max_bytes`` are refused without being read. ``ocr`` says whether and how
    scanned pages and pictures are read by text recognition (None: they are not).
    """
    try:
        with warnings.catch_warnings():
            # Library warnings about sloppy files are noise here (and errors under pytest).
            warnings.simplefilter("ignore")
            return _read(Path(path), max_bytes, ocr)
    except ReaderError:
        raise
    except MemoryError:
        raise
    except FileNotFoundError:
        raise ReaderError(reasons.VANISHED) from None
    except PermissionError:
        raise ReaderError(reasons.NO_PERMISSION) from None
    except IsADirectoryError:
        raise ReaderError(reasons.IS_FOLDER) from None
    except OSError as exc:
        log.info("cannot read %s: %s", path, exc.strerror or type(exc).__name__)
        raise ReaderError(reasons.DISK_PROBLEM) from None
    except RecursionError:
        raise ReaderError(reasons.NESTED) from None
    except Exception as exc:  # the promise: nothing but ReaderError leaves this function
        log.info("could not read %s: %s", path, type(exc).__name__)
        raise ReaderError(reasons.UNREADABLE) from None
