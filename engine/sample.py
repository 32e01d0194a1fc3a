"""The sample collection: a few short office documents that ship with Folio, so a first-time
user (and the installer's own check) can ask a question before adding any files."""

from __future__ import annotations

import shutil
from pathlib import Path

from .errors import FolioError
from .library import Library
from .messages import storage_cause, what_to_do
from .paths import assets_dir
from .progress import CancelToken, ProgressCallback
from .types import IndexReport

SAMPLE_COLLECTION = "Sample"
SAMPLE_FOLDER = "Sample documents"
# A first question the bundled model answers well on the sample documents.
SAMPLE_QUESTION = "What are the core hours?"


def sample_source() -> Path:
    return assets_dir() / "sample"


def copy_sample(home: Path) -> Path:
    """Copy the sample documents into the home folder (once; the user may edit the copies)."""
    src = sample_source()
    if not src.is_dir():
        raise FolioError(f"The sample documents are missing from this installation ({src}).")
    dest = home / SAMPLE_FOLDER
    if not dest.exists():
        try:
            shutil.copytree(src, dest)
        except OSError as exc:
            shutil.rmtree(dest, ignore_errors=True)
            cause = storage_cause(exc)
            raise FolioError(
                f"The sample documents could not be copied because {cause}; {what_to_do(cause)}."
            ) from exc
    return dest


def install_sample(
    library: Library,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> IndexReport:
    """Create (or refresh) the sample collection from the bundled documents."""
    dest = copy_sample(library.home)
    with library.get_or_create(SAMPLE_COLLECTION) as coll:
        return coll.index([dest], progress, cancel)
