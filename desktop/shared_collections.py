"""The organisation's shared collections in the window's collection list, read-only.

IT names them in the organisation's settings file (``shared_store``, ``shared_collections``;
see engine/shared_list.py). They are listed under a heading below the user's own collections
(rows of the window's ``CollectionsModel``, handed over by ``rows``);
one is chosen and asked like an own collection (the engine's ``Library.open`` opens it from the
server, read-only). What would change it (adding files or folders, dropping files, removing a
folder, renaming, deleting, re-embedding) is refused with a sentence, and the toolbar's
actions for them are disabled while one is chosen.

The server is asked on the window's read worker (never on the GUI thread), at start and when
the user presses Try again: a server that does not answer or refuses leaves the user's own
collections as they are and says so under the list.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from engine import Library
from engine.shared_list import SharedEntry, SharedListing, name_taken, shared_source
from engine.system_settings import load_system_settings

from .item_models import HEADING as HEADING_KIND
from .item_models import SHARED, UNREACHABLE, CollectionRow
from .tasks import Executor, Operation

log = logging.getLogger("folio.desktop")

HEADING = "Shared by your organisation · read-only"
# The heading as the list shows it: two lines, so it fits the list's usual width.
HEADING_SHOWN = "Shared by your organisation\nread-only"
NOT_REACHABLE = "not reachable"
UNAVAILABLE = "not available"

# What each write action would do, for the sentence that refuses it.
WRITES = {
    "add": "files and folders are added to it on the organisation's server",
    "remove": "its folders are removed on the organisation's server",
    "rename": "it is renamed on the organisation's server",
    "delete": "it can only be deleted on the organisation's server",
    "reembed": "it is re-embedded on the organisation's server",
}
# The toolbar's actions that change a collection (and what they do): disabled while a shared
# collection is chosen.
WRITE_ACTIONS = {
    "Add folder…": "add",
    "Remove folder…": "remove",
    "Rename…": "rename",
    "Delete…": "delete",
}


def refusal(name: str, action: str) -> str:
    """The sentence that refuses ``action`` (a key of WRITES) on shared collection ``name``."""
    what = WRITES.get(action, "it is changed on the organisation's server")
    then = (
        "To add files of your own, choose one of your collections or make one with "
        "New collection… first."
        if action == "add"
        else "Ask IT if it needs changing; your own collections are not affected."
    )
    return (
        f"'{name}' is shared by your organisation and can only be read from this computer: "
        f"{what}. {then}"
    )


class SharedCollections(QObject):
    """The shared collections of one window (see module docstring). ``say`` shows a sentence
    to the user (the window's status line)."""

    changed = Signal()  # a new listing arrived: the window lists its collections again

    def __init__(self, library: Library, executor: Executor, say: Callable[[str], None]) -> None:
        super().__init__()
        self.library = library
        self._executor = executor
        self._say = say
        source, problem = shared_source(load_system_settings().values)
        library.use_shared(source)
        self.configured = source is not None
        self._problem = problem  # the settings name a server Folio cannot use
        self.listing = SharedListing()
        self._op: Operation | None = None
        self._actions: list[QAction] = []
        self._tips: dict[QAction, str] = {}  # the write actions' own tooltips while disabled
        self._own: set[str] = set()  # the user's own collections, as last listed (casefolded)

        # Under the collection list: why shared collections cannot be shown, and Try again.
        self.panel = QWidget()
        row = QHBoxLayout(self.panel)
        row.setContentsMargins(0, 0, 0, 0)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.retry_button = QPushButton("Try again")
        self.retry_button.setToolTip("Ask the organisation's server again")
        self.retry_button.clicked.connect(self.refresh)
        row.addWidget(self.message, 1)
        row.addWidget(self.retry_button)
        self._show_message()

    # -- asking the server ----------------------------------------------------------------

    def refresh(self) -> Operation | None:
        """Ask the server which shared collections can be opened (on the read worker)."""
        if not self.configured or self._op is not None:
            return self._op
        library = self.library
        op = Operation(lambda _op: library.shared_listing())
        op.succeeded.connect(self._listed)
        op.failed.connect(self._failed)
        self._op = op
        self.retry_button.setEnabled(False)
        if self.listing.message:
            self.message.setText("Asking the organisation's server again…")
        return self._executor.submit(op)

    def _listed(self, listing: SharedListing) -> None:
        self._op = None
        self.listing = listing
        self._show_message()
        self.changed.emit()

    def _failed(self, message: str) -> None:  # shared_listing says why instead of raising
        self._op = None
        self.listing = SharedListing(self.listing.entries, message)
        self._show_message()

    def _show_message(self) -> None:
        problems = [e.message for e in self._entries() if not e.available and e.message]
        text = self._problem or self.listing.message or " ".join(dict.fromkeys(problems))
        self.message.setText(text)
        self.retry_button.setEnabled(self._op is None)
        self.retry_button.setVisible(self.configured and bool(text))
        self.panel.setVisible(bool(text))

    # -- the collection list ---------------------------------------------------------------

    def _entries(self) -> list[SharedEntry]:
        """The listing's entries, those named like an own collection made since not chosen."""
        return [
            SharedEntry(e.name, False, name_taken(e.name))
            if e.available and e.name.casefold() in self._own
            else e
            for e in self.listing.entries
        ]

    def names(self) -> list[str]:
        """The shared collections that can be chosen now."""
        return [e.name for e in self._entries() if e.available]

    def is_shared(self, name: str | None) -> bool:
        """True when ``name`` is a shared collection listed now (no server asked)."""
        return bool(name) and str(name).casefold() in {n.casefold() for n in self.names()}

    def rows(self, own: Sequence[str]) -> list[CollectionRow]:
        """The heading and the shared collections, to show below the user's ``own``
        collections (as listed now: the listing may predate one of them)."""
        self._own = {n.casefold() for n in own}
        entries = self._entries()
        if not entries:
            return []
        self._show_message()  # an entry named like an own collection says so under the list
        heading = CollectionRow("", HEADING_KIND, HEADING_SHOWN, HEADING, HEADING)
        return [heading] + [self._row(e) for e in entries]

    def _row(self, entry: SharedEntry) -> CollectionRow:
        if entry.available:
            tip = f"{HEADING}: searched on the organisation's server."
            return CollectionRow(entry.name, SHARED, "", tip, HEADING)
        # Shown, greyed and not choosable, with the reason.
        word = NOT_REACHABLE if self.listing.message else UNAVAILABLE
        text = f"{entry.name} ({word})"
        return CollectionRow(entry.name, UNREACHABLE, text, entry.message, HEADING)

    # -- refusing writes --------------------------------------------------------------------

    def watch_toolbar(self, actions: Sequence[QAction]) -> None:
        """Disable the toolbar's write actions among ``actions`` while a shared collection is
        chosen (the refusals below stay, for every other way in)."""
        self._actions = [a for a in actions if a.text() in WRITE_ACTIONS]

    def follow(self, name: str | None) -> None:
        """The collection ``name`` is chosen now: the toolbar's write actions are disabled
        (with the reason as their tooltip) while it is a shared one."""
        shared = self.is_shared(name)
        for action in self._actions:
            if shared:
                self._tips.setdefault(action, action.toolTip())  # its own, given back after
                action.setToolTip(refusal(str(name), WRITE_ACTIONS[action.text()]))
            elif action in self._tips:
                action.setToolTip(self._tips.pop(action))
            action.setEnabled(not shared)

    def refuses(self, name: str | None, action: str) -> bool:
        """True (and the reason said) when ``name`` is shared and ``action`` would change it."""
        if not self.is_shared(name):
            return False
        assert name is not None
        self._say(refusal(name, action))
        return True


@dataclass(frozen=True)
class SourceAway:
    """A cited document of a shared collection whose file this computer cannot reach: the
    page as the server indexed it (``text``, which the passage's offsets refer to) and the
    sentence that says why the file itself is not shown (``message``)."""

    text: str
    message: str


def source_away(path: str) -> str:
    """Why a shared collection's document cannot be opened from this computer."""
    p = Path(path)
    return (
        f"“{p.name}” is kept on the organisation's server or a shared folder ({p.parent}) that "
        "this computer cannot reach, so the file itself cannot be opened here. Below is the "
        "page as Folio indexed it on the server, with the cited passage marked."
    )


__all__ = ["HEADING", "HEADING_SHOWN", "SharedCollections", "SourceAway", "refusal", "source_away"]
