"""Paths: the viewer opens only documents of the collection; link loops, unreadable folders and
files that vanish mid-index give per-file errors while the run goes on.

tests/desktop/test_viewer.py checks a plain outside path; here: a path that climbs out with
"..", a link planted after indexing, and the moment between a click and the ownership check.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtGui import QDesktopServices

from engine import EngineConfig, Library, reasons
from engine.index.scan import NOT_ALLOWED
from tests.trust.conftest import write_docs


@pytest.fixture
def lib(tmp_path: Path, embedder) -> Library:  # type: ignore[no-untyped-def]
    return Library(EngineConfig(home=tmp_path / "home", parse_workers=1), embedder=embedder)


def test_viewer_opens_only_documents_of_the_collection(
    qtbot, lib: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from desktop.main_window import MainWindow

    folder = write_docs(tmp_path / "docs", {"notes.md": "# Notes\n\nThe key is in the drawer."})
    secret = tmp_path / "secret.md"
    secret.write_text("# Secret\n\nNot for Folio.", "utf-8")
    with lib.create("Notes") as coll:
        coll.index([folder])
        assert coll.owns(folder / "notes.md")
        assert not coll.owns(secret)
        assert not coll.owns(f"{folder}/../secret.md")
    (folder / "planted.md").symlink_to(secret)  # appeared after indexing: not a document

    opened: list[str] = []
    monkeypatch.setattr(
        QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True
    )
    window = MainWindow(lib)
    qtbot.addWidget(window)
    window.show()
    viewer = window.viewer
    owned = str(folder / "notes.md")
    with qtbot.waitSignal(viewer.shown, timeout=30_000):
        viewer.show_passage("Notes", owned, 1, 0, 5, "The key")
    assert viewer.open_button.isEnabled() and viewer.open_externally()
    assert opened == [owned]

    for outside in [str(secret), f"{folder}/../secret.md", str(folder / "planted.md")]:
        viewer.show_passage("Notes", outside, 1, 0, 5, "Secret")
        # Between the click and the ownership check the previous document's button is off.
        assert viewer.open_externally() is False
        qtbot.waitUntil(
            lambda: "not part of the collection" in viewer.message.text(), timeout=10_000
        )
        assert viewer.message.isVisible()
        assert viewer.open_externally() is False
        assert "Not for Folio" not in viewer.text_view.toPlainText()
    assert opened == [owned]
    window.close()


def test_link_loops_are_walked_once(lib: Library, tmp_path: Path) -> None:
    folder = write_docs(
        tmp_path / "docs", {"a.md": "# A\n\nApples.", "sub/b.md": "# B\n\nBananas."}
    )
    (folder / "loop").symlink_to(folder, target_is_directory=True)
    (folder / "sub" / "up").symlink_to(folder, target_is_directory=True)
    (folder / "sub" / "self").symlink_to(folder / "sub", target_is_directory=True)
    (folder / "dangling.md").symlink_to(tmp_path / "nowhere.md")
    with lib.create("Loops") as coll:
        report = coll.index([folder])
        assert sorted(Path(o.path).name for o in report.indexed) == ["a.md", "b.md"]
        assert {Path(o.path).name: o.reason for o in report.failed} == {
            "dangling.md": reasons.BROKEN_LINK
        }


def test_unreadable_folder_and_file_are_per_file_errors(
    lib: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Permission denied on a folder (scanning) and on a file (reading), the rest is indexed.

    Real permissions when not root; as root (which ignores them) the same errors are injected
    where the operating system would raise them.
    """
    folder = write_docs(
        tmp_path / "docs",
        {"ok.md": "# Ok\n\nFine.", "locked/x.md": "# X\n\nHidden.", "private.md": "# P\n\nNo."},
    )
    locked, private = folder / "locked", folder / "private.md"
    if os.geteuid() != 0:
        locked.chmod(0)
        private.chmod(0)
    else:
        import engine.index.indexer as indexer
        import engine.index.scan as scan

        real_scandir, real_sha = os.scandir, indexer.sha256_file

        def scandir(path):  # type: ignore[no-untyped-def]
            if Path(path) == locked:
                raise PermissionError(13, "Permission denied", str(path))
            return real_scandir(path)

        def sha(path: str) -> str:
            if Path(path) == private:
                raise PermissionError(13, "Permission denied", path)
            return real_sha(path)

        monkeypatch.setattr(scan.os, "scandir", scandir)
        monkeypatch.setattr(indexer, "sha256_file", sha)
    try:
        with lib.create("Locked") as coll:
            report = coll.index([folder])
    finally:
        locked.chmod(0o755)
        private.chmod(0o644)
    assert [Path(o.path).name for o in report.indexed] == ["ok.md"]
    failed = {Path(o.path).name: o.reason for o in report.failed}
    assert failed == {
        "locked": NOT_ALLOWED,
        "private.md": reasons.NO_PERMISSION,
    }


def test_files_vanishing_mid_index_are_per_file_errors(
    lib: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One file disappears after the scan, another after hashing (before its reader opens
    it): both are reported, the others are indexed."""
    import engine.index.indexer as indexer

    folder = write_docs(tmp_path / "docs", {f"f{i}.md": f"# F{i}\n\nFact {i}." for i in range(5)})
    real_sha = indexer.sha256_file

    def sha(path: str) -> str:
        name = Path(path).name
        if name == "f1.md":
            os.unlink(path)  # gone before Folio reads it
        digest = real_sha(path)
        if name == "f3.md":
            os.unlink(path)  # gone before the reader process opens it
        return digest

    monkeypatch.setattr(indexer, "sha256_file", sha)
    with lib.create("Vanish") as coll:
        report = coll.index([folder])
        assert sorted(Path(o.path).name for o in report.indexed) == ["f0.md", "f2.md", "f4.md"]
        assert {Path(o.path).name: o.reason for o in report.failed} == {
            "f1.md": reasons.VANISHED,
            "f3.md": reasons.VANISHED,
        }
        # The next run (file still gone) is clean: nothing half-indexed remains.
        monkeypatch.undo()
        again = coll.index()
        assert not again.indexed
        assert {d.status for d in coll.documents()} == {"indexed"}
