"""A collection appears in listings whole: never under its folder's name while it is being
made (the window lists collections on another thread while a first drop creates one)."""

from __future__ import annotations

import pytest

from engine import Library
from engine.index.store import Store
from engine.paths import collections_dir


def test_a_listing_while_a_collection_is_made_never_shows_it_unnamed(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[str]] = []
    real = Store.set_meta

    def set_meta_and_look(self: Store, key: str, value: str) -> None:
        if key == "name":  # the moment before the name is written: another thread lists
            seen.append(library.names())
        real(self, key, value)

    monkeypatch.setattr(Store, "set_meta", set_meta_and_look)
    library.create("My documents")
    assert seen == [[]]
    assert library.names() == ["My documents"]


def test_names_that_share_a_folder_name_get_their_own_folders(library: Library) -> None:
    a = library.create("Board papers")
    b = library.create("Board: papers")
    assert a.path.name == "board-papers" and b.path.name == "board-papers-2"
    assert sorted(library.names()) == ["Board papers", "Board: papers"]
    # Nothing is left behind of the folders they were made in.
    assert [p.name for p in collections_dir(library.home).iterdir() if p.name.startswith(".")] == []


def test_a_collection_that_fails_to_be_made_leaves_nothing(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(self: Store, key: str, value: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Store, "set_meta", fail)
    with pytest.raises(OSError):
        library.create("Minutes")
    monkeypatch.undo()
    assert library.names() == []
    assert list(collections_dir(library.home).iterdir()) == []
    assert library.create("Minutes").path == collections_dir(library.home) / "minutes"
