"""Library: the registry of all collections under one home folder (create, list, open,
rename, delete), and the embedding models they share."""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
import tempfile
import threading
import time
import uuid
from pathlib import Path

from .collection import Collection, CollectionInfo
from .config import EngineConfig
from .embed.base import Embedder
from .errors import CollectionError, FolioError, StorageError
from .history import ChatStore
from .index.repair import SIDECAR, STORE, damage, read_sidecar, rebuild_store, write_sidecar
from .index.store import Store
from .messages import storage_cause, what_to_do
from .paths import collections_dir
from .shared_list import SharedEntry, SharedListing, SharedSource, name_taken

__all__ = ["Collection", "CollectionInfo", "Library"]

log = logging.getLogger("folio.library")
# The hidden folder a collection is made in before it is moved into place (never listed).
NEW_PREFIX = ".new-"


class Library:
    """Entry point of the engine: creates, lists and opens collections; owns the embedder."""

    def __init__(self, config: EngineConfig | None = None, embedder: Embedder | None = None):
        self.config = config or EngineConfig()
        self.home = Path(self.config.home)
        self.home.mkdir(parents=True, exist_ok=True)
        collections_dir(self.home).mkdir(exist_ok=True)
        self._embedder = embedder
        self._extra_embedders: dict[str, Embedder] = {}
        self._embedder_lock = threading.Lock()
        self._open_lock = threading.Lock()
        self._checked: set[Path] = set()  # collection folders whose database was checked
        # The organisation's shared collections (see use_shared): where, and the names known.
        self.shared_source: SharedSource | None = None
        self._shared_names: dict[str, str] = {}

    # -- embedder -----------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        """The embedding model, loaded on first use (seconds: keep it off the GUI thread)."""
        with self._embedder_lock:
            if self._embedder is None:
                from .embed import load_embedder

                self._embedder = load_embedder(self.config.embed_model, self.config.embed_precision)
            return self._embedder

    def embedder_at(self, model_dir: Path) -> Embedder:
        """A collection's own (fine-tuned) embedding model, loaded once and kept."""
        key = str(Path(model_dir).resolve())
        with self._embedder_lock:
            if key not in self._extra_embedders:
                from .embed import load_embedder

                self._extra_embedders[key] = load_embedder(Path(key), self.config.embed_precision)
            return self._extra_embedders[key]

    # -- collections --------------------------------------------------------------------

    def _dirs(self) -> list[Path]:
        root = collections_dir(self.home)
        return sorted(
            p for p in root.iterdir() if (p / STORE).exists() and not p.name.startswith(".")
        )

    def _open_store(self, d: Path, deep: bool = True) -> tuple[Store, str]:
        """Open a collection's database, rebuilding it from collection.json when it is damaged:
        one that cannot be opened is caught on every open, ``PRAGMA quick_check`` runs on the
        first ``deep`` open in this Library (listing stays cheap). Returns the store and a
        notice for the user ('' when nothing was repaired)."""
        notice = ""
        with self._open_lock:
            if d not in self._checked:
                problem = damage(d, deep)
                if problem:
                    try:
                        notice = rebuild_store(d, problem)
                    except OSError as exc:
                        log.warning("collection %s damaged (%s), not rebuilt: %s", d, problem, exc)
                        cause = storage_cause(exc)
                        raise StorageError(
                            f"The collection database in '{d}' is damaged and Folio could not "
                            f"rebuild it because {cause}. Your documents are untouched; "
                            f"{what_to_do(cause)}."
                        ) from exc
                if deep or problem:
                    self._checked.add(d)
        store = Store(d / STORE)
        store.on_settings_changed = lambda: write_sidecar(d, store)
        if not store.get_meta("id"):  # a collection from before stable ids: given one now
            try:
                store.set_meta("id", uuid.uuid4().hex)
            except sqlite3.OperationalError as exc:  # read-only or locked: next time
                log.warning("collection %s has no id yet: %s", d, exc)
        if not (d / SIDECAR).exists():  # a collection from before the settings file
            write_sidecar(d, store)
        return store, notice

    def _entries(self) -> list[tuple[Path, str, str]]:
        """(folder, name, id) of every collection. One collection that cannot be opened (even
        after a rebuild) is listed under its saved or folder name, never stops the listing."""
        out = []
        for d in self._dirs():
            try:
                store, _notice = self._open_store(d, deep=False)
                try:
                    name, cid = store.get_meta("name"), store.get_meta("id")
                finally:
                    store.close()
            except (FolioError, sqlite3.Error, OSError) as exc:
                log.warning("collection %s cannot be opened: %s", d, exc)
                saved = read_sidecar(d) or {}
                name, cid = str(saved.get("name") or ""), str(saved.get("id") or "")
            out.append((d, name or d.name, cid))
        return out

    def _named_dirs(self) -> list[tuple[Path, str]]:
        return [(d, name) for d, name, _cid in self._entries()]

    def ids(self) -> dict[str, str]:
        """Each collection's stable id by its current name. The id never changes (a rename
        keeps it; a new collection of an old name gets a new one): chats are keyed by it."""
        return {name: cid for _d, name, cid in self._entries()}

    def id_of(self, name: str) -> str:
        for _d, known, cid in self._entries():
            if known.casefold() == name.casefold():
                return cid
        if self._shared_name(name):
            from .index.pgstore import schema_of

            return schema_of(name)  # the id the server's indexer gives it (its schema)
        raise CollectionError(f"There is no collection named '{name}'.")

    def chat_store(self) -> ChatStore:
        """The chat history, with chats from before collection ids given theirs (once)."""
        store = ChatStore(self.home)
        try:
            if store.needs_adopting():
                store.adopt(self.ids())
        except BaseException:
            store.close()
            raise
        return store

    def names(self) -> list[str]:
        return [name for _d, name in self._named_dirs()]

    def _find(self, name: str) -> Path | None:
        for d, known in self._named_dirs():
            if known.casefold() == name.casefold():
                return d
        return None

    def create(self, name: str) -> Collection:
        name = name.strip()
        if not name or len(name) > 100 or any(c in name for c in "\0\n\r"):
            raise CollectionError("A collection needs a name of 1 to 100 characters.")
        if self._find(name) is not None:
            raise CollectionError(f"A collection named '{name}' exists already.")
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "collection"
        root = collections_dir(self.home)
        # Made in a hidden folder and moved into place whole: a listing meanwhile (the window's
        # reader thread, another Folio program) never sees it without its name.
        tmp = Path(tempfile.mkdtemp(prefix=NEW_PREFIX, dir=root))
        try:
            store, _notice = self._open_store(tmp)  # gives it its id
            try:
                store.set_meta("name", name)
                store.set_meta("created_at", str(time.time()))
            finally:
                store.close()
            d = _move_into_place(tmp, root, slug)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return Collection(self, d)

    def open(self, name: str) -> Collection:
        """The collection ``name``: this computer's own, else a shared one listed by
        ``shared_listing`` (or named by the organisation's settings), opened read-only."""
        d = self._find(name)
        if d is None:
            shared = self._shared_name(name)
            if shared and self.shared_source is not None:
                return self.open_shared(self.shared_source.dsn, shared, read_only=True)
            known = ", ".join(self.names()) or "none yet"
            raise CollectionError(f"There is no collection named '{name}' (collections: {known}).")
        return Collection(self, d)

    def open_shared(
        self, dsn: str, name: str, *, create: bool = False, read_only: bool = False
    ) -> Collection:
        """A collection shared from the organisation's PostgreSQL server (``dsn``: a
        postgresql:// connection string). ``create`` makes it when missing (the indexer on the
        server); the desktops open it ``read_only``. Nothing of PostgreSQL is loaded unless a
        shared collection is opened."""
        try:
            from .shared import SharedCollection
        except ImportError as exc:  # a Folio installed without the "postgres" extra
            raise StorageError(
                "This copy of Folio cannot open collections on a PostgreSQL server: its "
                "PostgreSQL client (psycopg) is not installed. Ask IT for the Folio package "
                "with it, or install Folio with its 'postgres' extra."
            ) from exc
        return SharedCollection(self, dsn, name, create=create, read_only=read_only)

    # -- the organisation's shared collections ---------------------------------------------

    def use_shared(self, source: SharedSource | None) -> None:
        """Show and open the organisation's shared collections at ``source`` beside this
        computer's own, read-only (None: none). Connects to nothing: see shared_listing."""
        self.shared_source = source
        self._shared_names = {n.casefold(): n for n in source.names} if source else {}

    def _shared_name(self, name: str) -> str:
        """The shared collection's name when ``name`` is one and no own collection has it."""
        shared = self._shared_names.get(name.strip().casefold(), "")
        return shared if shared and self._find(name) is None else ""

    def _refuse_shared(self, name: str, done: str) -> None:
        if self.is_shared(name):
            raise CollectionError(
                f"'{name}' is shared by your organisation and can only be read from this "
                f"computer: it cannot be {done} here. Ask IT if it needs changing."
            )

    def is_shared(self, name: str) -> bool:
        """True when ``name`` opens one of the organisation's shared collections."""
        return bool(self._shared_name(name))

    def shared_listing(self, connect_timeout: int = 5) -> SharedListing:
        """Ask the organisation's server which shared collections can be opened now (it
        connects: keep it off the GUI thread; the connection is closed before it returns).
        A server that is down or refuses never raises: each entry says why in a sentence,
        and asking again later lists them once the server answers."""
        source = self.shared_source
        if source is None:
            return SharedListing()

        def none_available(message: str) -> SharedListing:
            return SharedListing(
                tuple(SharedEntry(n, False, message) for n in source.names), message
            )

        try:
            from .index.pgstore import list_collections, where
        except ImportError:
            log.warning("shared collections set, but psycopg is not installed", exc_info=True)
            return none_available(
                "This computer's Folio cannot open the organisation's shared collections: "
                "the part that talks to the server is not installed. Ask IT to install it; "
                "your own collections work as usual."
            )
        try:
            on_server = list_collections(source.dsn, connect_timeout)
        except StorageError as exc:
            log.warning("shared collections not listed: %s", exc)
            return none_available(str(exc))
        own = {n.casefold() for n in self.names()}
        found = {n.casefold(): n for n in on_server}
        entries = []
        for wanted in source.names or tuple(on_server):
            name = found.get(wanted.casefold(), "")
            if not name:
                entries.append(
                    SharedEntry(
                        wanted,
                        False,
                        f"The organisation's server at {where(source.dsn)} has no shared "
                        f"collection named '{wanted}' that this computer may read; ask IT.",
                    )
                )
            elif name.casefold() in own:
                entries.append(SharedEntry(name, False, name_taken(name)))
            else:
                entries.append(SharedEntry(name, True))
        self._shared_names = {e.name.casefold(): e.name for e in entries if e.available}
        return SharedListing(tuple(entries))

    def get_or_create(self, name: str) -> Collection:
        return self.open(name) if self._find(name) else self.create(name)

    def rename(self, old: str, new: str) -> None:
        new = new.strip()
        if not new:
            raise CollectionError("A collection needs a name.")
        target = self._find(new)
        d = self._find(old)
        if d is None:
            self._refuse_shared(old, "renamed")
            raise CollectionError(f"There is no collection named '{old}'.")
        if target is not None and target != d:
            raise CollectionError(f"A collection named '{new}' exists already.")
        store, _notice = self._open_store(d)
        try:
            store.set_meta("name", new)
            cid = store.get_meta("id")
        finally:
            store.close()
        if cid:  # its chats follow it (keyed by id); their shown name follows too
            chats = self.chat_store()
            try:
                chats.rename_collection(cid, new)
            finally:
                chats.close()

    def chats_of(self, name: str) -> int:
        """How many chats asked this collection (what ``delete(delete_chats=True)`` deletes)."""
        cid = self.id_of(name)
        chats = self.chat_store()
        try:
            return len(chats.sessions(collection_id=cid)) if cid else 0
        finally:
            chats.close()

    def delete(self, name: str, delete_chats: bool = False) -> int:
        """Delete a collection's index (never the user's files). With ``delete_chats`` the
        chats that asked it are deleted too, else they are kept (listed by ``folio chats
        list``; a new collection of the same name does not inherit them). Returns the number
        of chats deleted."""
        d = self._find(name)
        if d is None:
            self._refuse_shared(name, "deleted")
            raise CollectionError(f"There is no collection named '{name}'.")
        cid = self.id_of(name)
        # Rename first so a crash mid-delete never leaves a half collection that still lists.
        trash = d.with_name(f".deleted-{d.name}-{os.getpid()}-{int(time.time())}")
        os.replace(d, trash)
        shutil.rmtree(trash, ignore_errors=True)
        if not (delete_chats and cid):
            return 0
        chats = self.chat_store()
        try:
            return chats.delete_sessions_of(cid)
        finally:
            chats.close()

    def infos(self) -> list[CollectionInfo]:
        out = []
        for d in self._dirs():
            try:
                c = Collection(self, d)
            except FolioError as exc:  # listed by names(); one bad collection stops nothing
                log.warning("collection %s cannot be opened: %s", d, exc)
                continue
            try:
                out.append(c.info())
            finally:
                c.close()
        return out


def _move_into_place(tmp: Path, root: Path, slug: str) -> Path:
    """Rename the finished folder ``tmp`` to ``root/slug`` (or slug-2, slug-3, … when taken)."""
    n = 1
    while True:
        d = root / (slug if n == 1 else f"{slug}-{n}")
        n += 1
        if d.exists():
            continue
        try:
            tmp.rename(d)
            return d
        except OSError:
            if d.exists():  # taken in the meantime by another program
                continue
            raise
