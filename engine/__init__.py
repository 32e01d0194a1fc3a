"""Folio's engine: collections, indexing, retrieval and grounded answers with citations.

Pure Python, no Qt. Importing it switches every Hugging Face library to offline mode.
"""

from .offline import go_offline

go_offline()

from .chat import Answer, AskOptions, ChatSession, Evidence  # noqa: E402
from .citations import Citation  # noqa: E402
from .config import EngineConfig  # noqa: E402
from .errors import (  # noqa: E402
    Cancelled,
    CollectionError,
    EmbeddingModelMismatch,
    FolioError,
    IndexCorrupted,
    ModelError,
    ReaderError,
)
from .generate import GenSettings, ModelInfo, discover_models, load_generator  # noqa: E402
from .history import ChatStore  # noqa: E402
from .ingest.ocr import LANGUAGES as OCR_LANGUAGES  # noqa: E402
from .library import Collection, CollectionInfo, Library  # noqa: E402
from .progress import CancelToken  # noqa: E402
from .types import DocumentGroup, FileOutcome, Hit, IndexReport, Progress  # noqa: E402

__all__ = [
    "OCR_LANGUAGES",
    "Answer",
    "AskOptions",
    "CancelToken",
    "Cancelled",
    "ChatSession",
    "ChatStore",
    "Citation",
    "Collection",
    "CollectionError",
    "CollectionInfo",
    "DocumentGroup",
    "EmbeddingModelMismatch",
    "EngineConfig",
    "Evidence",
    "FileOutcome",
    "FolioError",
    "GenSettings",
    "Hit",
    "IndexCorrupted",
    "IndexReport",
    "Library",
    "ModelError",
    "ModelInfo",
    "Progress",
    "ReaderError",
    "discover_models",
    "load_generator",
]
