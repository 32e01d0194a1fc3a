"""Plain, frozen result types shared by the engine, the CLI and the desktop app."""

from __future__ import annotations

from dataclasses import dataclass, field

# Where a word of an OCR'd page is: (start, end) of the word in the page text, then
# (x0, y0, x1, y1) as fractions of the page's width and height, origin top left.
Box = tuple[int, int, float, float, float, float]
# Files that are pictures: each image (each page of a TIFF) is a page read by OCR.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff"})


@dataclass(frozen=True)
class Section:
    """A page of a PDF, or a section of another format, with its text.

    ``page`` is 1-based for PDFs (the page number a person sees in a viewer); other formats
    number their sections 1.. in reading order. ``label`` is what a citation prints
    (``"page 3"``, ``"section 2"``). A page read by OCR has the flag ``"ocr"`` and the box
    of each word (``boxes``), for highlights.
    """

    page: int
    text: str
    label: str = ""
    flags: tuple[str, ...] = ()
    boxes: tuple[Box, ...] = ()


@dataclass(frozen=True)
class ParsedDocument:
    """What a reader returns: the file's kind, its sections and any warnings."""

    kind: str
    sections: tuple[Section, ...]
    title: str = ""
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChunkSpan:
    """A chunk of a section: ``text == section.text[start:end]``."""

    page: int
    start: int
    end: int
    text: str
    n_tokens: int


@dataclass(frozen=True)
class Hit:
    """One retrieved passage."""

    chunk_id: int
    doc_id: int
    path: str
    page: int
    start: int
    end: int
    text: str
    score: float
    collection: str = ""
    vector_rank: int | None = None
    keyword_rank: int | None = None
    # The passage's context header (document, section, table): what it was indexed with,
    # never part of its text, offsets or citation.
    context: str = ""
    # Why the document's file cannot be reached now ('' when it can): the passage is still
    # found and cited, and the citation says the file cannot be opened now.
    unavailable: str = ""
    # The passage's page was read by OCR (a scan or a picture), not from a text layer.
    ocr: bool = False

    @property
    def name(self) -> str:
        return self.path.replace("\\", "/").rsplit("/", 1)[-1]

    @property
    def location(self) -> str:
        """Where the passage is, as a citation prints it: "page 3" (PDF, picture), "page 3,
        read by OCR" (a scanned page) or "section 3"."""
        lower = self.path.lower()
        paged = lower.endswith(".pdf") or any(lower.endswith(s) for s in IMAGE_SUFFIXES)
        kind = "page" if paged or self.ocr else "section"
        return f"{kind} {self.page}, read by OCR" if self.ocr else f"{kind} {self.page}"

    def snippet(self, width: int = 240) -> str:
        flat = " ".join(self.text.split())
        return flat if len(flat) <= width else flat[: width - 1].rstrip() + "…"


@dataclass(frozen=True)
class DocumentGroup:
    """All passages of one document that matched an exhaustive query, best first."""

    doc_id: int
    path: str
    score: float
    hits: tuple[Hit, ...]


@dataclass(frozen=True)
class FileOutcome:
    path: str
    status: str  # indexed | unchanged | moved | copied | failed | removed | unavailable
    reason: str = ""
    chunks: int = 0


@dataclass
class IndexReport:
    """Summary of one index run."""

    indexed: list[FileOutcome] = field(default_factory=list)
    unchanged: list[FileOutcome] = field(default_factory=list)
    moved: list[FileOutcome] = field(default_factory=list)
    failed: list[FileOutcome] = field(default_factory=list)
    removed: list[FileOutcome] = field(default_factory=list)
    # Folders and files that could not be reached (their documents are kept, marked).
    unavailable: list[FileOutcome] = field(default_factory=list)
    chunks_embedded: int = 0
    # Chunks whose text was already embedded (earlier in the run, or unchanged in the previous
    # version of an edited file): their vector is reused, not computed again.
    chunks_reused: int = 0
    seconds: float = 0.0
    # Time spent embedding, and time the embedder sat waiting for parsed files.
    embed_seconds: float = 0.0
    parse_wait_seconds: float = 0.0
    cancelled: bool = False

    def to_json(self) -> dict[str, object]:
        def rows(items: list[FileOutcome]) -> list[dict[str, object]]:
            return [
                {"path": o.path, "status": o.status, "reason": o.reason, "chunks": o.chunks}
                for o in items
            ]

        return {
            "indexed": rows(self.indexed),
            "unchanged": len(self.unchanged),
            "moved": rows(self.moved),
            "failed": rows(self.failed),
            "removed": rows(self.removed),
            "unavailable": rows(self.unavailable),
            "chunks_embedded": self.chunks_embedded,
            "chunks_reused": self.chunks_reused,
            "seconds": round(self.seconds, 3),
            "embed_seconds": round(self.embed_seconds, 3),
            "parse_wait_seconds": round(self.parse_wait_seconds, 3),
            "cancelled": self.cancelled,
        }


@dataclass(frozen=True)
class Progress:
    """A progress report from a long engine call."""

    stage: str
    files_done: int
    files_total: int
    chunks_embedded: int = 0
    current: str = ""
    eta_seconds: float | None = None
    # What is happening inside the current file, for a person: "page 12 of 40 (reading the
    # scan)" while its pages are read by OCR; "" otherwise.
    detail: str = ""
