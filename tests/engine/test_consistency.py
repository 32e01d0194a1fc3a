"""Identical copies and deletes stay consistent, and `folio status --check` finds what is not:
documents whose file is gone, vectors and keyword entries without a passage. Real folders,
real MiniLM, real hnswlib, real SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine import Library
from engine.cli import main
from engine.index.ann import VectorIndex

SAME = "The fire assembly point is the car park behind building C. Wardens wear yellow vests."
OTHER = "Expense claims are paid on the last working day of each month."


def copies(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = folder / f"copy{i}.txt"
        p.write_text(SAME, "utf-8")
        out.append(p)
    (folder / "other.txt").write_text(OTHER, "utf-8")
    return out


def indexed_paths(coll) -> set[str]:  # type: ignore[no-untyped-def]
    return {d.path for d in coll.documents() if d.status == "indexed"}


def found_paths(coll) -> set[str]:  # type: ignore[no-untyped-def]
    return {h.path for h in coll.search("where is the fire assembly point", k=10)}


@pytest.mark.parametrize("delete", [[0, 1, 2], [0, 1, 2, 3]])
def test_deleting_identical_copies_removes_exactly_those(
    library: Library, tmp_path: Path, delete: list[int]
) -> None:
    folder = tmp_path / "docs"
    files = copies(folder, 4)
    coll = library.create("Copies")
    first = coll.index([folder])
    assert first.failed == [] and len(first.indexed) == 5
    for i in delete:
        files[i].unlink()
    report = coll.index()
    assert sorted(o.path for o in report.removed) == sorted(str(files[i]) for i in delete)
    left = {str(p) for i, p in enumerate(files) if i not in delete}
    assert indexed_paths(coll) == left | {str(folder / "other.txt")}
    assert found_paths(coll) & {str(p) for p in files} == left  # no ghost in search
    assert coll.ann().labels == coll.store.chunk_ids()
    again = coll.index()  # and none comes back on the next run
    assert again.removed == [] and indexed_paths(coll) == left | {str(folder / "other.txt")}
    assert coll.check().ok
    coll.close()


def test_copies_moved_and_deleted_at_once(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    files = copies(folder, 3)
    coll = library.create("Copies")
    coll.index([folder])
    files[0].rename(folder / "moved.txt")  # one copy moves, two are deleted
    files[1].unlink()
    files[2].unlink()
    report = coll.index()
    assert report.chunks_embedded == 0
    assert [o.path for o in report.moved] == [str(folder / "moved.txt")]
    assert len(report.removed) == 2
    assert indexed_paths(coll) == {str(folder / "moved.txt"), str(folder / "other.txt")}
    assert coll.check().ok
    coll.close()


def status_check(home: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["--home", str(home), "status", "--collection", "Check", "--check", "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_status_check_reports_ghosts_and_orphans(
    library: Library, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "docs"
    files = copies(folder, 2)
    coll = library.create("Check")
    coll.index([folder])
    n_chunks = coll.store.chunk_count()
    coll.close()

    code, clean = status_check(library.home, capsys)
    assert code == 0 and clean["ok"] is True and clean["chunks"] == n_chunks

    # A file deleted behind Folio's back (not re-indexed yet), a keyword entry and a vector
    # that belong to no passage.
    files[0].unlink()
    with library.open("Check") as coll:
        coll.store.db.execute(
            "INSERT INTO chunks_fts(rowid, context, text, keywords)"
            " VALUES (987654, '', 'ghost', '')"
        )
        ann = VectorIndex(coll.path / "vectors.hnsw", coll.embedder.dim)
        assert ann.load()
        ann.add([987655], np.ones((1, coll.embedder.dim), dtype=np.float32))
        ann.save()

    code, found = status_check(library.home, capsys)
    assert code == 1 and found["ok"] is False
    assert found["files_gone"] == [str(files[0])]
    assert found["keywords_without_chunk"] == 1
    assert found["vectors_without_chunk"] == 1
    assert found["chunks_without_vector"] == 0 and found["chunks_without_keywords"] == 0
    # The words a person reads.
    assert main(["--home", str(library.home), "status", "-c", "Check", "--check"]) == 1
    text = capsys.readouterr().out
    assert f"{files[0]}: indexed, but the file is no longer there." in text
    assert "1 keyword entries have no passage." in text

    # Indexing the collection again brings it in line.
    assert main(["--home", str(library.home), "index", "--collection", "Check"]) == 0
    capsys.readouterr()
    code, fixed = status_check(library.home, capsys)
    assert code == 0 and fixed["ok"] is True, fixed


def test_documents_outside_every_folder_are_found_and_dropped(
    library: Library, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An older Folio could stop between forgetting a folder and deleting its documents."""
    a, b = tmp_path / "a", tmp_path / "b"
    copies(a, 1)
    (b).mkdir()
    (b / "b.txt").write_text(OTHER + " Receipts go to finance.", "utf-8")
    with library.create("Check") as coll:
        coll.index([a, b])
        coll.store.remove_root(str(b))  # the folder is forgotten, its document is not
    code, found = status_check(library.home, capsys)
    assert code == 1 and found["outside_folders"] == [str(b / "b.txt")]
    with library.open("Check") as coll:
        report = coll.index()
        assert [o.path for o in report.removed] == [str(b / "b.txt")]
        assert coll.check().ok
