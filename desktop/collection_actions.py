"""What the tool bar does to collections: add or remove a folder, create, rename and delete.

Each action asks (a dialog on the GUI thread), then does the work in an ``Operation``: writes on
the index executor, reads (the folders, the number of chats) on the read executor. It says what
happened through signals; the window shows the sentence and reads the collections again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QToolBar, QWidget

from engine import Library

from .indexing import Refuses, never_refused
from .tasks import Executor, Operation


class CollectionActions(QObject):
    status = Signal(str)  # a sentence for the status line
    changed = Signal()  # the collections changed: read them again
    select = Signal(str)  # the collection to show once they are read again
    add_folder = Signal(object)  # list[Path]: folders to index into the current collection

    def __init__(
        self,
        library: Library,
        parent: QWidget,
        current: Callable[[], str | None],
        index_executor: Executor,
        read_executor: Executor,
        refuses: Refuses = never_refused,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self._refuses = refuses  # says why (and True) when a change is refused: shared ones
        self._parent = parent
        self._current = current
        self._index_executor = index_executor
        self._read_executor = read_executor
        self.delete_box: QMessageBox | None = None  # the last delete question, for tests

    def fill(self, bar: QToolBar) -> None:
        """Put the collection actions on the tool bar, in the order people look for them."""
        bar.addAction("Add folder…", self.pick_folder)
        bar.addAction("Remove folder…", self.ask_remove_folder)
        bar.addAction("New collection…", self.ask_new_collection)
        bar.addAction("Rename…", self.ask_rename_collection)
        bar.addAction("Delete…", self.ask_delete_collection)

    def pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self._parent, "Add a folder to the collection")
        if folder:
            self.add_folder.emit([Path(folder)])

    def ask_remove_folder(self) -> None:
        """Ask which folder of the current collection to remove (its roots are read off the
        GUI thread), confirm, then remove it: the only way documents leave for good."""
        name = self._current()
        if not name or self._refuses(name, "remove"):
            return
        library = self.library

        def work(_op: Operation) -> list[str]:
            with library.open(name) as coll:
                return coll.roots()

        def choose(roots: list[str]) -> None:
            if not roots:
                self.status.emit(f"'{name}' has no folders to remove.")
                return
            folder, ok = QInputDialog.getItem(
                self._parent, "Remove folder", f"Folder to remove from '{name}':", roots, 0, False
            )
            if not ok or not folder:
                return
            answer = QMessageBox.question(
                self._parent,
                "Remove folder",
                f"Remove '{folder}' from the collection '{name}'? Its documents leave the "
                "collection and its chats can no longer cite them; the files themselves stay "
                "where they are.",
            )
            if answer == QMessageBox.StandardButton.Yes:
                self.remove_folder(name, Path(folder))

        op = Operation(work)
        op.succeeded.connect(choose)
        op.failed.connect(self.status.emit)
        self._read_executor.submit(op)

    def remove_folder(self, name: str, folder: Path) -> Operation:
        library = self.library

        def work(_op: Operation) -> int:
            with library.open(name) as coll:
                return coll.remove_root(folder)

        op = Operation(work)
        op.succeeded.connect(
            lambda n: self.status.emit(
                f"Removed '{folder.name}' from '{name}': {n} document(s) left the collection."
            )
        )
        op.succeeded.connect(lambda _n: self.changed.emit())
        op.failed.connect(self.status.emit)
        return self._index_executor.submit(op)

    def ask_new_collection(self) -> None:
        name, ok = QInputDialog.getText(self._parent, "New collection", "Name:")
        if ok and name.strip():
            self.create_collection(name.strip())

    def ask_rename_collection(self) -> None:
        old = self._current()
        if old and not self._refuses(old, "rename"):
            new, ok = QInputDialog.getText(self._parent, "Rename collection", "New name:", text=old)
            if ok and new.strip() and new.strip() != old:
                self.rename_collection(old, new.strip())

    def ask_delete_collection(self) -> None:
        """Count the collection's chats (off the GUI thread), then ask what to delete."""
        name = self._current()
        if not name or self._refuses(name, "delete"):
            return
        library = self.library
        op = Operation(lambda _op: library.chats_of(name))
        op.succeeded.connect(lambda n: self.confirm_delete_collection(name, int(n)))
        op.failed.connect(self.status.emit)
        self._read_executor.submit(op)

    def confirm_delete_collection(self, name: str, n_chats: int) -> QMessageBox:
        box = QMessageBox(self._parent)
        box.setWindowTitle("Delete collection")
        box.setIcon(QMessageBox.Icon.Question)
        if n_chats:
            box.setText(
                f"Delete the collection '{name}'? Its index goes; your files stay where they "
                f"are. It has {n_chats} chat(s): delete them too, or keep them? Kept chats "
                "stay in Folio's chat history but are no longer listed under a collection."
            )
            with_chats = box.addButton(
                f"Delete it and its {n_chats} chat(s)", QMessageBox.ButtonRole.DestructiveRole
            )
            keep = box.addButton("Delete it, keep the chats", QMessageBox.ButtonRole.AcceptRole)
        else:
            box.setText(
                f"Delete the collection '{name}'? Its index goes; your files stay where they are."
            )
            with_chats = None
            keep = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)

        def chosen(button: object) -> None:
            if button is with_chats:
                self.delete_collection(name, delete_chats=True)
            elif button is keep:
                self.delete_collection(name, delete_chats=False)

        box.buttonClicked.connect(chosen)
        box.setModal(True)
        box.open()
        self.delete_box = box
        return box

    def _collection_op(self, work: Callable[[], object], select: str | None = None) -> Operation:
        op = Operation(lambda _op: work())
        if select:
            op.succeeded.connect(lambda _r: self.select.emit(select))
        op.succeeded.connect(lambda _r: self.changed.emit())
        op.failed.connect(self.status.emit)
        return self._index_executor.submit(op)

    def create_collection(self, name: str) -> Operation:
        return self._collection_op(lambda: self.library.create(name).close(), select=name)

    def rename_collection(self, old: str, new: str) -> Operation:
        return self._collection_op(lambda: self.library.rename(old, new), select=new)

    def delete_collection(self, name: str, delete_chats: bool = False) -> Operation:
        """Delete the collection's index (never the files); its chats too when asked."""
        op = self._collection_op(lambda: self.library.delete(name, delete_chats=delete_chats))
        op.succeeded.connect(
            lambda n: self.status.emit(
                f"Deleted '{name}' and its {n} chat(s); your files were not touched."
                if delete_chats
                else f"Deleted '{name}'; your files were not touched."
            )
        )
        return op
