"""Chat history: sessions and their turns in one SQLite file under the home folder."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .budget import Turn
from .errors import FolioError, StorageError
from .index.lock import lock_file, unlock_file
from .messages import storage_cause, what_to_do
from .prompts import ChatMessage, Segment

_MIGRATIONS = [
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        title TEXT NOT NULL,
        collections TEXT NOT NULL,      -- JSON list of collection names
        created REAL NOT NULL,
        updated REAL NOT NULL
    );
    CREATE TABLE turns (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        question TEXT NOT NULL,
        answer TEXT NOT NULL,           -- as the model wrote it (sent back as history)
        sent TEXT NOT NULL,             -- JSON: the user message as sent, [[text, trusted], ...]
        result TEXT NOT NULL,           -- JSON: the answer as shown (citations, sources, timings)
        created REAL NOT NULL
    );
    CREATE INDEX turns_session ON turns(session_id, id);
    """,
    # 2: chats are keyed by the collections' stable ids (names change on rename and come back
    # for a new collection); NULL marks a chat made before ids, given them by ``adopt``.
    """
    ALTER TABLE sessions ADD COLUMN collection_ids TEXT;
    """,
]


@dataclass(frozen=True)
class SessionInfo:
    id: int
    title: str
    collections: tuple[str, ...]  # the collections' names (kept up to date on rename)
    created: float
    updated: float
    turns: int
    collection_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoredTurn:
    id: int
    question: str
    answer: str
    sent: ChatMessage | None
    result: dict[str, object]

    def as_turn(self) -> Turn:
        return Turn(self.question, self.answer, self.sent)


def _encode(msg: ChatMessage | None) -> str:
    return json.dumps([[p.text, p.trusted] for p in msg.parts] if msg else [], ensure_ascii=False)


def _decode(raw: str) -> ChatMessage | None:
    try:
        parts = json.loads(raw)
        if not parts:
            return None
        return ChatMessage("user", tuple(Segment(str(t), bool(tr)) for t, tr in parts))
    except (ValueError, TypeError):
        return None


def _unsaved(exc: sqlite3.Error) -> StorageError:
    cause = storage_cause(exc)
    return StorageError(
        f"Folio could not save the chat history because {cause}. Earlier chats are kept; "
        f"{what_to_do(cause)}."
    )


@contextmanager
def _saving() -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as exc:
        raise _unsaved(exc) from exc
    except sqlite3.IntegrityError as exc:  # the chat was deleted meanwhile
        raise StorageError(
            "This chat was deleted while the answer was being written, so the answer is shown "
            "but not saved. Ask again to start a new chat."
        ) from exc


@contextmanager
def _setting_up(home: Path) -> Iterator[None]:
    """An OS lock on ``chats.sqlite3.setup`` beside the chat file, held while a connection
    checks and migrates the schema (across threads and processes)."""
    with open(home / "chats.sqlite3.setup", "a") as f:
        deadline = time.monotonic() + 30.0
        while True:
            try:
                lock_file(f)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise sqlite3.OperationalError("chat history set-up lock timed out") from None
                time.sleep(0.02)
        try:
            yield
        finally:
            unlock_file(f)


class ChatStore:
    """Thread-safe; every write is one transaction, so a crash loses at most the turn in flight."""

    def __init__(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            # The window and a collection operation (a rename, say) may each have the file
            # open: a writer waits for the other's transaction rather than failing at once.
            self._db = sqlite3.connect(
                home / "chats.sqlite3", check_same_thread=False, timeout=30.0
            )
            self._db.row_factory = sqlite3.Row
            # One connection at a time sets the file up: two that both read version 0 would
            # both create the tables (the window and a rename each open the file).
            with self._lock, _setting_up(home), self._db:
                # Switching the journal needs the file to itself: only when it is not WAL yet.
                if self._db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA foreign_keys=ON")
                # A deleted chat's text is overwritten in the file, not only unlinked.
                self._db.execute("PRAGMA secure_delete=ON")
                version = self._db.execute("PRAGMA user_version").fetchone()[0]
                for i, script in enumerate(_MIGRATIONS[version:], start=version + 1):
                    self._db.executescript(script)
                    self._db.execute(f"PRAGMA user_version={i}")
        except sqlite3.OperationalError as exc:
            raise _unsaved(exc) from exc

    def close(self) -> None:
        self._db.close()

    def create_session(
        self, collections: list[str], title: str = "", ids: Sequence[str] = ()
    ) -> int:
        """A new chat that asks ``collections`` (names, shown) with their stable ``ids``."""
        now = time.time()
        with self._lock, _saving(), self._db:
            cur = self._db.execute(
                "INSERT INTO sessions (title, collections, created, updated, collection_ids)"
                " VALUES (?, ?, ?, ?, ?)",
                (title or "New chat", json.dumps(collections), now, now, json.dumps(list(ids))),
            )
            return int(cur.lastrowid or 0)

    def sessions(
        self, collection: str | None = None, collection_id: str | None = None
    ) -> list[SessionInfo]:
        """Sessions, newest first; with ``collection_id`` only those that asked that
        collection (with ``collection``, by name: chats made without ids)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT s.*, (SELECT COUNT(*) FROM turns t WHERE t.session_id = s.id) AS n "
                "FROM sessions s ORDER BY updated DESC, id DESC"
            ).fetchall()
        out = []
        for r in rows:
            names = tuple(json.loads(r["collections"]))
            ids = tuple(json.loads(r["collection_ids"] or "[]"))
            if collection is not None and collection not in names:
                continue
            if collection_id is not None and collection_id not in ids:
                continue
            out.append(
                SessionInfo(r["id"], r["title"], names, r["created"], r["updated"], r["n"], ids)
            )
        return out

    def adopt(self, ids_by_name: dict[str, str]) -> int:
        """Give chats made before collection ids the ids of the collections they asked, by
        name (case-insensitive) as they are now; a name no collection has any more gets ''.
        Runs once per chat: afterwards a new collection of an old name inherits nothing."""
        folded = {k.casefold(): v for k, v in ids_by_name.items()}
        with self._lock, _saving(), self._db:
            rows = self._db.execute(
                "SELECT id, collections FROM sessions WHERE collection_ids IS NULL"
            ).fetchall()
            for r in rows:
                ids = [folded.get(str(n).casefold(), "") for n in json.loads(r["collections"])]
                self._db.execute(
                    "UPDATE sessions SET collection_ids = ? WHERE id = ?",
                    (json.dumps(ids), r["id"]),
                )
        return len(rows)

    def needs_adopting(self) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM sessions WHERE collection_ids IS NULL LIMIT 1"
            ).fetchone()
        return row is not None

    def rename_collection(self, collection_id: str, name: str) -> None:
        """Show a renamed collection's new name in the chats that asked it."""
        with self._lock, _saving(), self._db:
            rows = self._db.execute(
                "SELECT id, collections, collection_ids FROM sessions WHERE collection_ids LIKE ?",
                (f'%"{collection_id}"%',),
            ).fetchall()
            for r in rows:
                names = list(json.loads(r["collections"]))
                ids = list(json.loads(r["collection_ids"] or "[]"))
                for i, cid in enumerate(ids):
                    if cid == collection_id and i < len(names):
                        names[i] = name
                self._db.execute(
                    "UPDATE sessions SET collections = ? WHERE id = ?", (json.dumps(names), r["id"])
                )

    def delete_sessions_of(self, collection_id: str) -> int:
        """Delete every chat that asked this collection; returns how many."""
        doomed = [s.id for s in self.sessions(collection_id=collection_id)]
        with self._lock, _saving(), self._db:
            self._db.executemany("DELETE FROM sessions WHERE id = ?", [(i,) for i in doomed])
        self._forget()
        return len(doomed)

    def session(self, session_id: int) -> SessionInfo:
        for s in self.sessions():
            if s.id == session_id:
                return s
        raise FolioError(f"There is no chat number {session_id}.")

    def turns(self, session_id: int) -> list[StoredTurn]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM turns WHERE session_id = ? ORDER BY id", (session_id,)
            ).fetchall()
        return [
            StoredTurn(
                r["id"], r["question"], r["answer"], _decode(r["sent"]), json.loads(r["result"])
            )
            for r in rows
        ]

    def add_turn(
        self,
        session_id: int,
        question: str,
        answer: str,
        sent: ChatMessage | None,
        result: dict[str, object],
    ) -> int:
        now = time.time()
        with self._lock, _saving(), self._db:
            cur = self._db.execute(
                "INSERT INTO turns (session_id, question, answer, sent, result, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, question, answer, _encode(sent), json.dumps(result), now),
            )
            # The first question names the chat.
            self._db.execute(
                "UPDATE sessions SET updated = ?, title = CASE WHEN title = 'New chat' "
                "THEN ? ELSE title END WHERE id = ?",
                (now, question.strip()[:80] or "New chat", session_id),
            )
            return int(cur.lastrowid or 0)

    def rename_session(self, session_id: int, title: str) -> None:
        with self._lock, _saving(), self._db:
            self._db.execute("UPDATE sessions SET title = ? WHERE id = ?", (title, session_id))

    def delete_session(self, session_id: int) -> None:
        """Delete one chat and its turns (FolioError when there is no such chat)."""
        with self._lock, _saving(), self._db:
            cur = self._db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
        if cur.rowcount == 0:
            raise FolioError(f"There is no chat number {session_id}.")
        self._forget()

    def _forget(self) -> None:
        """Move deleted pages out of the write-ahead log into the (overwritten) database file,
        so deleted text does not linger in chats.sqlite3-wal. Best effort: another open
        connection may hold the log; its next checkpoint does the same."""
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.OperationalError:
                pass
