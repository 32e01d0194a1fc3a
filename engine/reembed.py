"""When a collection was embedded with another model: say so in words, and how long fixing it
takes.

A collection remembers the embedding model it was built with; searching it with another one
would return nonsense, so the engine refuses (``EmbeddingModelMismatch``). The window turns
that refusal into ``ReembedNeeded``: which models, how many passages, and an estimate of the
time *Re-embed now* takes, measured on a sample of the collection's own passages with the
model that will do the work.
"""

from __future__ import annotations

import time
from typing import Any

from .errors import CollectionError, EmbeddingModelMismatch

SAMPLE = 32  # passages embedded to measure the speed


class ReembedNeeded(EmbeddingModelMismatch):
    """A collection must be re-embedded before it can be searched; the message says so."""

    def __init__(self, collection: str, built_with: str, now: str, chunks: int, seconds: float):
        self.collection = collection
        self.built_with = built_with
        self.now = now
        self.chunks = chunks
        self.seconds = seconds
        before = built_with or "an older one"
        super().__init__(
            f"'{collection}' was indexed with a different search model ({before}) "
            f"than the one Folio uses now ({now}), so it cannot be searched until its passages "
            f"are embedded again. Re-embed now takes {duration(seconds)} for {chunks} "
            "passages; your documents are not read again."
        )


def duration(seconds: float) -> str:
    """A time estimate as people say it."""
    if seconds < 60:
        return "less than a minute"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} minute{'s' if minutes != 1 else ''}"
    hours, rest = divmod(minutes, 60)
    rest = 5 * round(rest / 5)
    tail = f" {rest} minutes" if rest else ""
    return f"about {hours} hour{'s' if hours != 1 else ''}{tail}"


def explain(coll: Any) -> ReembedNeeded:
    """The mismatch of ``coll`` (a Collection) with its estimate; call on a worker thread.
    A shared collection is re-embedded on the organisation's server, never from a desktop:
    for one, the CollectionError that says so is raised instead."""
    emb = coll.library.embedder  # what Re-embed now embeds with
    if getattr(coll, "shared", False):
        raise CollectionError(
            f"The shared collection '{coll.name}' was indexed with a different search model "
            f"({coll.embed_model or 'an older one'}) than the one Folio uses now ({emb.name}), "
            "so it cannot be searched from this computer. Ask IT to index it again on the "
            "organisation's server with the model the desktops use."
        )
    rows = coll.store.db.execute(
        "SELECT text FROM chunks ORDER BY id LIMIT ?", (SAMPLE,)
    ).fetchall()
    total = int(coll.store.chunk_count())
    seconds = 0.0
    if rows:
        started = time.perf_counter()
        emb.embed([r[0] for r in rows], coll.library.config.embed_batch)
        per_chunk = (time.perf_counter() - started) / len(rows)
        seconds = per_chunk * total * 1.1  # plus writing and rebuilding the vector index
    return ReembedNeeded(coll.name, coll.embed_model, emb.name, total, seconds)
