"""EngineConfig: every path and knob the engine uses, passed in, never discovered deep inside."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .paths import default_home


def _default_workers() -> int:
    return max(1, min(4, (os.cpu_count() or 2) - 1))


@dataclass
class EngineConfig:
    home: Path = field(default_factory=default_home)
    # A sentence-transformers model folder; None means the bundled all-MiniLM-L6-v2.
    embed_model: Path | None = None
    chunk_tokens: int = 200
    chunk_overlap: int = 32
    # Embed and keyword-index each passage with its context header (document, section, table).
    context_headers: bool = True
    parse_workers: int = field(default_factory=_default_workers)
    # One more reader process that works only while the embedder waits for parsed files.
    parse_helpers: int = 1
    file_time_limit: float = 120.0
    file_mem_limit: int = 3 * 1024**3
    # 16, not 32: on one thread per batch, smaller batches run ~12% faster (less padding,
    # warmer caches; measured with MiniLM on 200-token chunks).
    embed_batch: int = 16
    # Embedding batches run side by side on this many threads (one CPU thread each).
    embed_streams: int = field(default_factory=lambda: max(1, min(4, os.cpu_count() or 1)))
    # "auto": batches of passages in bfloat16 where the CPU does it in hardware (about twice as
    # fast, same vectors to a cosine of 0.9999); "float32" or "bfloat16" to choose. IT can set
    # it for every program on a computer with the FOLIO_EMBED_PRECISION environment variable.
    embed_precision: str = field(
        default_factory=lambda: os.environ.get("FOLIO_EMBED_PRECISION", "").strip() or "auto"
    )
    # Seconds a collection's folder may take to answer (a network share) before its documents
    # are kept as "not reachable now" instead of being read.
    probe_seconds: float = 10.0
    # Who this program is, for another Folio program that waits for it to finish writing.
    program: str = "a Folio program"
    # The longest wait for another program that is updating the same collection.
    lock_wait_seconds: float = 3600.0
    # Read scanned PDF pages and pictures (PNG, JPEG, TIFF) by text recognition (OCR), pages
    # drawn at ``ocr_dpi``; off, such pages stay unsearchable ("no text, scanned?").
    ocr: bool = True
    ocr_dpi: int = 200
    # Threads of one OCR run (0: as many cores as there are, at most 4).
    ocr_threads: int = 0
