"""Pictures as documents: PNG, JPEG and TIFF (each page of a multi-page TIFF is a page), read
by OCR. A photographed receipt or a scanned form saved as a picture is searchable like a PDF."""

from __future__ import annotations

import io
import logging

from ..errors import ReaderError
from ..types import ParsedDocument, Section
from .ocr import OcrOptions, OcrUnavailable, read_image_text

log = logging.getLogger("folio.ingest")

# Pages of a TIFF read at most (a fax archive in one file is split into smaller files first).
MAX_FRAMES = 500
# Pixels of one picture Folio decodes at most (PIL's guard against decompression bombs).
MAX_PIXELS = 180_000_000

IMAGE_OCR_OFF = (
    "This is a picture. Folio reads the text in pictures with text recognition (OCR), which "
    "is turned off in Folio's settings. Turn it on to read it."
)
IMAGE_OCR_MISSING = (
    "This is a picture, and the text recognition (OCR) part of this installation of Folio is "
    "missing, so its text cannot be read. Reinstalling Folio should fix it."
)
IMAGE_NO_WORDS = (
    "This picture holds no text that Folio could recognise (it may be a photo, too faint or "
    "handwritten)."
)
IMAGE_DAMAGED = (
    "This picture is damaged or in a form Folio cannot open. Open it in an image viewer, save "
    "a fresh copy (PNG or JPEG) and add that instead."
)
IMAGE_TOO_LARGE = (
    "This picture is too large to read safely. Save a smaller copy (fewer pixels) and add that "
    "instead."
)
# Reasons written when OCR was not used: with OCR on, such pictures are read again.
PICTURE_WITHOUT_OCR = (IMAGE_OCR_OFF, IMAGE_OCR_MISSING)


def read_image(data: bytes, ocr: OcrOptions | None = None) -> ParsedDocument:
    """Read the text of a picture by OCR; raises ReaderError when there is none to read."""
    ocr = ocr or OcrOptions(enabled=False)
    from PIL import Image, ImageOps, ImageSequence

    try:
        picture = Image.open(io.BytesIO(data))
        if picture.width * picture.height > MAX_PIXELS:
            raise ReaderError(IMAGE_TOO_LARGE)
        total = min(MAX_FRAMES, getattr(picture, "n_frames", 1) or 1)
    except ReaderError:
        raise
    except MemoryError:
        raise
    except Image.DecompressionBombError:
        raise ReaderError(IMAGE_TOO_LARGE) from None
    except Exception as exc:  # PIL raises many types on damaged files
        log.info("picture not opened: %s", type(exc).__name__)
        raise ReaderError(IMAGE_DAMAGED) from None
    if not ocr.enabled:
        raise ReaderError(IMAGE_OCR_OFF)

    sections: list[Section] = []
    unreadable = 0
    try:
        for index, frame in enumerate(ImageSequence.Iterator(picture)):
            if index >= total:
                break
            number = index + 1
            if ocr.on_page is not None:
                ocr.on_page(number, total)
            try:
                if frame.width * frame.height > MAX_PIXELS:
                    raise ReaderError(IMAGE_TOO_LARGE)
                # A photo taken sideways says so in its EXIF orientation.
                page = ImageOps.exif_transpose(frame.copy())
            except ReaderError:
                raise
            except MemoryError:
                raise
            except Exception:  # one damaged frame must not sink the others
                unreadable += 1
                continue
            found = read_image_text(page, ocr.threads)
            if found.text.strip():
                sections.append(
                    Section(
                        page=number,
                        text=found.text,
                        label=f"page {number}",
                        flags=("ocr",),
                        boxes=found.boxes,
                    )
                )
    except OcrUnavailable as exc:
        log.warning("OCR not available: %s", exc)
        raise ReaderError(IMAGE_OCR_MISSING) from None
    except (ReaderError, MemoryError):
        raise
    except Exception as exc:
        log.info("picture not read: %s", type(exc).__name__)
        if not sections:
            raise ReaderError(IMAGE_DAMAGED) from None
    if not sections:
        raise ReaderError(IMAGE_DAMAGED if unreadable == total else IMAGE_NO_WORDS)
    warnings: list[str] = []
    empty = total - len(sections)
    if empty and total > 1:
        warnings.append(
            f"{empty} of {total} pages of this picture file hold no text Folio could recognise."
        )
    return ParsedDocument(kind="image", sections=tuple(sections), warnings=tuple(warnings))
