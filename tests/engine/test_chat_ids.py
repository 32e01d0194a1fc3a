"""Collections have a stable id; chats are keyed by it: they follow a rename, never pass to a
new collection that takes an old name, and are deleted with their collection only when asked
(real SQLite, real collections, the real `folio` command in-process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import Library
from engine.cli import main
from engine.history import ChatStore


def chat(library: Library, name: str, question: str = "Where is the canteen?") -> int:
    store = library.chat_store()
    try:
        sid = store.create_session([name], ids=[library.id_of(name)])
        store.add_turn(sid, question, "By the door [1].", None, {"question": question})
        return sid
    finally:
        store.close()


def chats(library: Library, name: str) -> list[int]:
    store = library.chat_store()
    try:
        return [s.id for s in store.sessions(collection_id=library.id_of(name))]
    finally:
        store.close()


def test_id_is_kept_through_rename_and_new_for_a_new_collection(library: Library) -> None:
    with library.create("Office") as coll:
        first = coll.id
    assert len(first) == 32 and library.id_of("office") == first
    library.rename("Office", "Front desk")
    assert library.id_of("Front desk") == first
    saved = json.loads((library.home / "collections" / "office" / "collection.json").read_text())
    assert saved["id"] == first  # a database rebuilt from collection.json keeps it
    library.delete("Front desk")
    with library.create("Office") as again:
        assert again.id not in ("", first)


def test_chats_follow_a_rename_and_stay_with_their_collection(library: Library) -> None:
    library.create("Office").close()
    library.create("HR").close()
    mine, other = chat(library, "Office"), chat(library, "HR")
    library.rename("Office", "Front desk")
    assert chats(library, "Front desk") == [mine]
    store = library.chat_store()
    assert store.session(mine).collections == ("Front desk",)  # the shown name follows
    store.close()

    # Deleted, chats kept: a new collection of the old name does not inherit them.
    assert library.chats_of("Front desk") == 1
    assert library.delete("Front desk", delete_chats=False) == 0
    library.create("Front desk").close()
    assert chats(library, "Front desk") == []
    store = library.chat_store()
    assert {s.id for s in store.sessions()} == {mine, other}
    store.close()

    # Deleted with its chats: exactly those go.
    extra = chat(library, "HR", "Who signs leave requests?")
    assert library.delete("HR", delete_chats=True) == 2
    store = library.chat_store()
    assert {s.id for s in store.sessions()} == {mine}
    assert extra not in {s.id for s in store.sessions()}
    store.close()


def test_chats_from_before_ids_are_adopted_once(library: Library) -> None:
    library.create("Office").close()
    old = ChatStore(library.home)
    sid = old.create_session(["Office"])
    old._db.execute("UPDATE sessions SET collection_ids = NULL")  # as an older Folio left it
    old._db.commit()
    old.close()
    assert chats(library, "Office") == [sid]  # adopted by the collection of that name
    library.delete("Office")
    library.create("Office").close()
    assert chats(library, "Office") == []  # and not again by a newcomer


def test_folio_chats_list_and_delete(library: Library, capsys: pytest.CaptureFixture[str]) -> None:
    library.create("Office").close()
    library.create("HR").close()
    a, b = chat(library, "Office"), chat(library, "HR")
    home = str(library.home)
    assert main(["--home", home, "chats", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {c["id"]: c["collections"] for c in listed} == {a: ["Office"], b: ["HR"]}
    assert main(["--home", home, "chats", "list", "-c", "HR", "--json"]) == 0
    assert [c["id"] for c in json.loads(capsys.readouterr().out)] == [b]
    assert main(["--home", home, "chats", "delete", str(a)]) == 0
    assert f"Deleted chat {a}" in capsys.readouterr().out
    assert main(["--home", home, "chats", "delete", str(a)]) == 2
    assert f"There is no chat number {a}." in capsys.readouterr().err

    # Deleting a collection with chats asks what to do with them (no terminal: refused).
    assert main(["--home", home, "collections", "delete", "HR"]) == 2
    assert "--delete-chats" in capsys.readouterr().err and "HR" in library.names()
    assert main(["--home", home, "collections", "delete", "HR", "--keep-chats"]) == 0
    assert "its 1 chat(s) are kept" in capsys.readouterr().out
    assert main(["--home", home, "chats", "list"]) == 0
    assert "HR (deleted)" in capsys.readouterr().out
    library.create("Office 2").close()
    chat(library, "Office 2")
    assert main(["--home", home, "collections", "delete", "Office 2", "--delete-chats"]) == 0
    assert "and its 1 chat(s)" in capsys.readouterr().out
    store = ChatStore(Path(home))
    assert [c.id for c in store.sessions()] == [b]
    store.close()


def test_a_deleted_chat_leaves_no_text_in_the_files(library: Library) -> None:
    library.create("Office").close()
    secret = "Which supplier did we blacklist in March?"
    sid = chat(library, "Office", secret)
    kept = chat(library, "Office", "Where is the canteen?")
    store = library.chat_store()
    store.delete_session(sid)
    store.close()
    raw = b"".join(p.read_bytes() for p in library.home.glob("chats.sqlite3*") if p.is_file())
    assert b"Where is the canteen?" in raw  # the file is readable as bytes: the check is real
    assert secret.encode() not in raw
    assert chats(library, "Office") == [kept]
