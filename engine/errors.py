"""One exception base for the engine. Every message is written for the person using Folio."""

from __future__ import annotations


class FolioError(Exception):
    """Base of every error the engine raises on purpose; ``str(err)`` is shown to the user."""


class Cancelled(FolioError):
    """A long operation stopped because its CancelToken was set."""

    def __init__(self, message: str = "Cancelled.") -> None:
        super().__init__(message)


class ReaderError(FolioError):
    """A file could not be read; the message is the per-file reason shown in the UI and CLI."""


class UnsupportedFile(ReaderError):
    """The file's content is not a format Folio reads."""


class CollectionError(FolioError):
    """A collection is missing, exists already, or its name is not usable."""


class EmbeddingModelMismatch(FolioError):
    """A collection was built with another embedding model than the one asked to query it."""


class IndexCorrupted(FolioError):
    """An index file is damaged; the collection can be rebuilt from its documents."""


class StorageError(FolioError):
    """Folio could not write its own files (disk full, no permission); earlier saves are kept."""


class ModelError(FolioError):
    """A model file is missing, not a GGUF file, or llama.cpp cannot load it."""
