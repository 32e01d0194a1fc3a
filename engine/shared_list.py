"""The organisation's shared collections as a desktop lists them.

IT names them in the organisation's settings file (see system_settings.py): ``shared_store``,
the PostgreSQL address the desktops use (normally with a role that may only read), and
``shared_collections``, the collections to show (absent or empty: every collection on the
server that the role may read). The desktops open them read-only, beside their own.

Nothing here connects to anything or imports psycopg: the Library asks the server (see
``Library.shared_listing``), on a worker thread, only when a shared store is set.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

log = logging.getLogger("folio.library")

POSTGRES_PREFIXES = ("postgresql://", "postgres://")


@dataclass(frozen=True)
class SharedSource:
    """Where the shared collections are: ``dsn`` (a postgresql:// address) and the names to
    show (``names``; empty: every collection on the server that the role may read)."""

    dsn: str
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class SharedEntry:
    """One shared collection as listed: ``available`` when it can be opened now, else
    ``message`` says why not, in a sentence."""

    name: str
    available: bool
    message: str = ""


@dataclass(frozen=True)
class SharedListing:
    """The shared collections (``entries``) and, when the server could not be asked, why
    (``message``; the entries are then the configured names, none of them available)."""

    entries: tuple[SharedEntry, ...] = ()
    message: str = ""

    @property
    def available(self) -> list[str]:
        return [e.name for e in self.entries if e.available]


def name_taken(name: str) -> str:
    """Why shared collection ``name`` is not shown: an own collection has its name."""
    return (
        f"One of your own collections is also named '{name}', so the organisation's collection "
        "of that name cannot be shown; rename yours to see it."
    )


def shared_source(values: Mapping[str, object]) -> tuple[SharedSource | None, str]:
    """The shared collections named by the organisation's settings ``values``: (source, '')
    when set, (None, '') when not, (None, a sentence) when set but unusable. A single name
    given instead of a list is taken as that one name."""
    raw = values.get("shared_store")
    if raw is None or raw == "":
        return None, ""
    dsn = raw.strip() if isinstance(raw, str) else ""
    if not dsn.startswith(POSTGRES_PREFIXES):
        log.warning("organisation settings: shared_store is not a postgresql:// address")
        return None, (
            "The organisation's settings name a server for shared collections that Folio "
            "cannot use (its address must start with postgresql://); ask IT to check it. "
            "Your own collections work as usual."
        )
    listed = values.get("shared_collections") or []
    if isinstance(listed, str):
        listed = [listed]
    if not isinstance(listed, list):
        log.warning("organisation settings: shared_collections is not a list; showing all")
        listed = []
    names: list[str] = []
    for item in listed:
        name = item.strip() if isinstance(item, str) else ""
        if name and name.casefold() not in {n.casefold() for n in names}:
            names.append(name)
    return SharedSource(dsn, tuple(names)), ""


__all__ = ["SharedEntry", "SharedListing", "SharedSource", "name_taken", "shared_source"]
