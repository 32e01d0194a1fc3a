"""Why a file could not be read, in words for the person using Folio.

Every per-file reason Folio shows (the documents list, ``folio status``, ``folio index``) comes
from here or from the PDF reader's own list (``engine.ingest.pdf``): a sentence that says what
happened and, where there is something to do, what to do. Exception names, library messages,
error numbers and memory addresses go to the log, never into a reason. ``engine.messages``
holds the rules these sentences are checked against.
"""

from __future__ import annotations

VANISHED = (
    "The file was moved or deleted while Folio was reading it. If it comes back, Folio reads it "
    "again."
)
NO_PERMISSION = (
    "Folio is not allowed to open this file. Ask its owner or your IT team for read access, "
    "then add it again."
)
FOLDER_NO_PERMISSION = (
    "Folio is not allowed to open this folder. Ask its owner or your IT team for read access, "
    "then add it again."
)
DISK_PROBLEM = (
    "The file could not be read from its disk. Check that the drive or network share is "
    "connected, then try again."
)
FOLDER_DISK_PROBLEM = (
    "The folder could not be read from its disk. Check that the drive or network share is "
    "connected, then try again."
)
BROKEN_LINK = "This is a shortcut to a file that no longer exists, so there is nothing to read."
IS_FOLDER = "This is a folder, not a file."
NOT_A_FILE = (
    "This is not an ordinary file (it may be a device or a pipe), so Folio does not read it."
)
EMPTY = "The file is empty, so there is nothing to read."
NO_TEXT = "Folio found no text in this file, so there is nothing to search."
NESTED = (
    "The file is damaged or built in an unusual way (its structure is nested too deeply), so "
    "Folio could not read it."
)
UNREADABLE = (
    "Folio could not read this file: it may be damaged, or written by a program Folio does not "
    "know. Open it in its own program, save a fresh copy and add that instead."
)
NOT_PDF = "The file is named .pdf but holds no PDF (it may be mislabelled or damaged)."
NOT_DOCX = "The file is named .docx but holds no Word document (it may be mislabelled or damaged)."
DOCX_DAMAGED = (
    "This Word document is damaged and could not be read. Open it in Word, save a fresh copy "
    "and add that instead."
)
DOCX_TOO_LARGE = (
    "This Word document unpacks to more than 1 GB, too much to read safely. Save a smaller "
    "copy (for example without large pictures) and add that instead."
)
DOCX_MACROS = (
    "Folio does not read Word documents with macros or Word templates. Save it as an ordinary "
    "Word document (.docx) and add that instead."
)
BINARY = (
    "This file holds no text Folio can read (it looks like a picture, a program or another "
    "kind of data)."
)
OUT_OF_MEMORY = (
    "There was not enough free memory to read this file. Close other programs and try again, "
    "or split the file into smaller ones."
)
CRASHED = (
    "Folio's reader stopped unexpectedly on this file, which is probably damaged. The other "
    "files were read; a fresh copy of this one may work."
)
KILLED_MEMORY = (
    "Reading this file needed too much memory, so Folio stopped it and went on with the other "
    "files. The file may be damaged or very large."
)
TWIN_FAILED = "An identical copy of this file could not be read, so this one was not read either."


def unsupported_type(suffix: str) -> str:
    return (
        f"Folio does not read {suffix} files. Save it as PDF, Word (.docx), text or a web page "
        "and add that instead."
    )


def too_large(size: str, limit: str) -> str:
    return (
        f"The file is too large to read ({size}; Folio reads files up to {limit}). Split it "
        "into smaller files and add those instead."
    )


def timed_out(seconds: float) -> str:
    return (
        f"Reading this file took longer than {seconds:g} seconds, so Folio stopped and went on "
        "with the other files. The file may be damaged or very large."
    )


TIMED_OUT_START = "Reading this file took longer than"
