"""Folio's engine: collections, indexing, retrieval and (soon) grounded answers.

Pure Python, no Qt. Importing it switches every Hugging Face library to offline mode.
"""

from .offline import go_offline

go_offline()

from .config import EngineConfig  # noqa: E402
from .errors import (  # noqa: E402
    Cancelled,
    CollectionError,
    EmbeddingModelMismatch,
    FolioError,
    IndexCorrupted,
    ReaderError,
)
from .library import Collection, CollectionInfo, Library  # noqa: E402
from .progress import CancelToken  # noqa: E402
from .types import DocumentGroup, FileOutcome, Hit, IndexReport, Progress  # noqa: E402

__all__ = [
    "CancelToken",
    "Cancelled",
    "Collection",
    "CollectionError",
    "CollectionInfo",
    "DocumentGroup",
    "EmbeddingModelMismatch",
    "EngineConfig",
    "FileOutcome",
    "FolioError",
    "Hit",
    "IndexCorrupted",
    "IndexReport",
    "Library",
    "Progress",
    "ReaderError",
]
