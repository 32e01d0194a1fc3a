"""A team's collection shared from the organisation's PostgreSQL server.

The same Collection as one kept on this computer (indexing, search, the exhaustive scan,
citations, the embedding-model pin), over a PostgreSQL store: IT indexes the shared folders on
the server (``folio index PATH --collection Team --store postgresql://...``); the desktops open
it read-only, with a database role that may only read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .collection import Collection
from .errors import Cancelled, CollectionError
from .index.pgstore import PgStore, PgVectorIndex, where
from .index.repair import Consistency
from .progress import CancelToken, ProgressCallback
from .route import DocumentIndex
from .types import Progress

if TYPE_CHECKING:
    from .library import Library

log = logging.getLogger("folio.library")


def is_server_store(store: str | None) -> bool:
    """True when ``store`` names a PostgreSQL server (a postgresql:// connection string)."""
    return bool(store) and str(store).startswith(("postgresql://", "postgres://"))


class SharedCollection(Collection):
    """One collection in a PostgreSQL database (see module docstring)."""

    shared = True

    def __init__(
        self,
        library: Library,
        dsn: str,
        name: str,
        *,
        create: bool = False,
        read_only: bool = False,
    ) -> None:
        self.library = library
        dim = library.embedder.dim if create else 0
        self.pg = PgStore(dsn, name, create=create, dim=dim, read_only=read_only)
        self.store = self.pg
        self.path = Path(f"{where(dsn)}/{self.pg.schema}")
        self.read_only = read_only
        self.repairs: list[str] = []
        self._ann = None
        self._ann_version: tuple[int, float] | None = None
        self._doc_index: tuple[tuple[int, float], DocumentIndex] | None = None

    def ann(self) -> PgVectorIndex:
        if not isinstance(self._ann, PgVectorIndex):
            emb = self._checked_embedder()
            self._ann = PgVectorIndex(self.pg, emb.dim)
        return self._ann

    @contextmanager
    def _writer_lock(
        self, progress: ProgressCallback | None = None, cancel: CancelToken | None = None
    ) -> Iterator[None]:
        """One indexer at a time: a PostgreSQL advisory lock on the collection's schema (it is
        let go by the server when the indexer's connection ends, killed or not)."""
        key = f"folio:{self.pg.schema}"
        told = False
        while not self.pg._run("SELECT pg_try_advisory_lock(hashtext(%s))", (key,)).fetchone()[0]:
            if cancel is not None and cancel.cancelled:
                raise Cancelled()
            if not told:
                message = (
                    f"Waiting for another indexer, which is updating shared collection "
                    f"'{self.name}'; Folio goes on as soon as it has finished."
                )
                log.info("%s", message)
                if progress is not None:
                    progress(Progress("waiting", 0, 0, current=message))
                told = True
            time.sleep(0.5)
        try:
            yield
        finally:
            if not self.pg.db.closed:
                self.pg._run("SELECT pg_advisory_unlock(hashtext(%s))", (key,))

    def reembed(self, *args: object, **kwargs: object) -> int:
        raise CollectionError(
            f"The shared collection '{self.name}' is re-embedded on the organisation's server: "
            "ask IT to index it again there with the new model."
        )

    def check(self) -> Consistency:
        report = Consistency()
        docs = self.pg.documents()
        report.documents = len(docs)
        report.chunks = self.pg.chunk_count()
        report.chunks_without_document, wrong = self.pg.orphans()
        report.chunks_without_keywords = self.pg.keyword_mismatch()
        if wrong:
            counts: dict[int, int] = {}
            for r in self.pg._run("SELECT doc_id, count(*) FROM chunks GROUP BY doc_id"):
                counts[int(r[0])] = int(r[1])
            report.wrong_chunk_count = [
                d.path for d in docs if d.status == "indexed" and counts.get(d.id, 0) != d.n_chunks
            ]
        return report

    def verify(self) -> dict[str, int | str]:
        n = self.pg.chunk_count()
        return {"chunks": n, "vectors": n}
