"""collection.json (a collection's settings kept outside SQLite) and rebuilding a damaged
collection database from it."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

from ..errors import IndexCorrupted
from .store import Store, storage_errors

STORE = "store.sqlite3"
VECTORS = "vectors.hnsw"
SIDECAR = "collection.json"  # the settings, kept outside SQLite to rebuild a damaged store
REBUILT = "rebuilt_notice"  # meta key: set when the store was rebuilt, until re-indexed
log = logging.getLogger("folio.library")


def read_sidecar(d: Path) -> dict[str, object] | None:
    try:
        data = json.loads((d / SIDECAR).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_sidecar(d: Path, store: Store) -> None:
    """Mirror the collection's settings (name, folders, embedding model) to collection.json,
    atomically. Best effort: the database stays the source of truth, so a failure is logged."""
    tmp = d / f"{SIDECAR}.{os.getpid()}-{threading.get_ident()}.tmp"
    try:
        data: dict[str, object] = {k: store.get_meta(k) for k in Store.SETTINGS_KEYS}
        data["roots"] = store.roots()
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, d / SIDECAR)
    except (OSError, sqlite3.Error) as exc:
        log.warning("could not save %s: %s", d / SIDECAR, exc)
        try:
            tmp.unlink()
        except OSError:
            pass


def damage(d: Path, deep: bool) -> str:
    """Why a collection's database cannot be used ('' when it is sound)."""
    try:
        store = Store(d / STORE)
    except IndexCorrupted as exc:
        return str(exc)
    try:
        with storage_errors():  # locked or unreadable is not damage: that error stands
            result = store.check_integrity() if deep else "ok"
            if result != "ok":
                return f"integrity check failed: {result}"
            if not store.get_meta("name") and (read_sidecar(d) or {}).get("name"):
                return "the database has lost the collection's settings (empty or replaced)"
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        store.close()
    return ""


def rebuild_store(d: Path, problem: str) -> str:
    """Move a damaged database aside and start a fresh one with the collection's settings from
    collection.json; the stale vector file goes too. Returns the notice for the user."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = d / f"{STORE}.damaged-{stamp}"
    n = 2
    while aside.exists():
        aside = d / f"{STORE}.damaged-{stamp}-{n}"
        n += 1
    for suffix in ("", "-wal", "-shm"):
        src = d / (STORE + suffix)
        if src.exists():
            os.replace(src, aside.with_name(aside.name + suffix))
    # Chunk ids start again at 1: vectors under the old ids would be wrong, not just missing.
    for name in (VECTORS, VECTORS + ".sha256", VECTORS + ".tmp", VECTORS + ".sha256.tmp"):
        (d / name).unlink(missing_ok=True)
    saved = read_sidecar(d)
    name = str((saved or {}).get("name") or d.name)
    if saved is not None:
        notice = (
            f"Collection '{name}' was damaged and has been rebuilt from its folders; "
            "its documents are being indexed again."
        )
    else:
        notice = (
            f"Collection '{name}' was damaged and has been rebuilt, but its settings could not "
            f"be recovered ({SIDECAR} is missing): add its folders again to index them."
        )
    store = Store(d / STORE)
    try:
        store.begin()
        for key in Store.SETTINGS_KEYS:
            value = (saved or {}).get(key)
            if value:
                store.set_meta(key, str(value))
        store.set_meta("name", name)
        roots = (saved or {}).get("roots")
        for root in roots if isinstance(roots, list) else []:
            store.add_root(str(root))
        store.set_meta(REBUILT, notice)
        store.commit()
    except BaseException:
        store.rollback()
        raise
    finally:
        store.close()
    log.warning("%s (%s; the damaged database is kept as %s)", notice, problem, aside.name)
    return notice
