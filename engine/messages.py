"""The rules every message Folio shows a person is held to.

A message is for someone who knows their documents, not Python: a sentence (capital letter,
full stop) that says what happened and what to do, without exception class names, a library's
own wording, error numbers, memory addresses, fingerprints or terminal commands. The tests run
every per-file reason and every window error they can provoke through ``problems``.
"""

from __future__ import annotations

import builtins
import re

# Python's own exception names (KeyError, PdfReadError-style names are caught by the pattern).
_BUILTIN_ERRORS = frozenset(
    name
    for name in dir(builtins)
    if isinstance(getattr(builtins, name), type)
    and issubclass(getattr(builtins, name), BaseException)
)
_CLASS_NAME = re.compile(r"\b[A-Z][A-Za-z0-9]*(?:Error|Exception|Warning|Exit)\b")
_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{4,}\b|\bat 0x|IndirectObject\(")
_FINGERPRINT = re.compile(r"\b[0-9a-f]{12,}\b")
_TECHNICAL = re.compile(
    r"Traceback|\[Errno|\berrno\b|<class |<object |\bb'|\\x[0-9a-f]{2}|"
    r"\bsqlite3?\.|\bpypdf\b|\blxml\b|\bzipfile\b|\{|\}|"
    # Python's own wording for programming errors
    r"NoneType|has no attribute|not subscriptable|object is not|positional argument|"
    r"invalid literal|unexpected keyword",
)
_COMMAND = re.compile(r"`|(?:^|\s)--[a-z]|\bfolio [a-z]+ --")
_END = re.compile(r"[.!?…][)\"'”’]?$")
MAX_LENGTH = 500


def problems(message: str) -> list[str]:
    """What makes ``message`` unfit to show a person; empty when it is fine."""
    text = message.strip()
    found: list[str] = []
    if not text:
        return ["empty"]
    if not (text[0].isupper() or text[0].isdigit() or text[0] in "'\"‘“"):
        found.append("does not start like a sentence")
    if not _END.search(text):
        found.append("does not end with a full stop")
    if len(text) > MAX_LENGTH:
        found.append(f"longer than {MAX_LENGTH} characters")
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    names = sorted((words & _BUILTIN_ERRORS) | set(_CLASS_NAME.findall(text)))
    if names:
        found.append(f"names an exception: {', '.join(names)}")
    if _ADDRESS.search(text):
        found.append("holds a memory address")
    if _FINGERPRINT.search(text):
        found.append("holds a fingerprint or hash")
    tech = _TECHNICAL.search(text)
    if tech:
        found.append(f"holds technical text: {tech.group(0)!r}")
    if _COMMAND.search(text):
        found.append("asks for a terminal command")
    return found


def is_plain(message: str) -> bool:
    return not problems(message)


def storage_cause(exc: BaseException, reading: bool = False) -> str:
    """Why reading or writing one of Folio's files failed, as the end of "… because {cause}"."""
    text = str(exc).lower()
    errno_ = getattr(exc, "errno", None)
    if reading and (errno_ == 13 or "permission" in text):
        return "Folio is not allowed to open it"
    if "disk is full" in text or "no space" in text or errno_ == 28:
        return "the disk is full"
    if "readonly" in text or "read-only" in text or errno_ in (13, 30) or "permission" in text:
        return "Folio is not allowed to change the file (it is read-only)"
    if "locked" in text or "busy" in text:
        return "another program is using the file"
    if "unable to open" in text or errno_ == 2:
        return "the file could not be opened"
    return "the disk reported a problem"


def what_to_do(cause: str) -> str:
    """The advice that goes with ``storage_cause``."""
    if cause == "the disk is full":
        return "free some disk space, then try again"
    if cause.startswith("Folio is not allowed"):
        return "check the permissions of Folio's folder, then try again"
    if cause.startswith("another program"):
        return "close the other program or wait a moment, then try again"
    return "check the disk and Folio's folder, then try again"
