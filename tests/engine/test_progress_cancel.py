"""Progress reports, cancellation, and the parse pool's per-file time limit."""

from __future__ import annotations

import time
from pathlib import Path

from engine import CancelToken, Library, Progress, reasons
from engine.ingest.pool import ParsePool, ParseTask


def make_notes(folder: Path, n: int) -> Path:
    folder.mkdir()
    for i in range(n):
        (folder / f"note-{i:03d}.txt").write_text(
            f"Minutes of meeting {i}. The committee discussed budget item {i} and agreed to "
            f"revisit topic {i % 5} next month.",
            "utf-8",
        )
    return folder


def test_progress_reports_files_chunks_and_eta(library: Library, tmp_path: Path) -> None:
    folder = make_notes(tmp_path / "notes", 30)
    seen: list[Progress] = []
    with library.create("Minutes") as coll:
        coll.index([folder], progress=seen.append)
    assert seen[-1].stage == "done"
    assert seen[-1].files_done == seen[-1].files_total == 30
    assert seen[-1].chunks_embedded == 30
    assert any(p.eta_seconds is not None for p in seen)
    done = [p.files_done for p in seen]
    assert done == sorted(done)


def test_cancel_keeps_what_was_done_and_resumes(library: Library, tmp_path: Path) -> None:
    folder = make_notes(tmp_path / "notes", 40)
    token = CancelToken()

    def stop_after_first_commit(p: Progress) -> None:
        if p.files_done >= 8:
            token.cancel()

    with library.create("Minutes") as coll:
        first = coll.index([folder], progress=stop_after_first_commit, cancel=token)
        assert first.cancelled
        kept = len(coll.documents())
        assert 0 < kept < 40
        second = coll.index([folder])
        assert not second.cancelled
        assert len(second.unchanged) == kept
        assert len(coll.documents()) == 40
        assert coll.ann().labels == coll.store.chunk_ids()


def test_parse_pool_times_out_a_slow_file_and_goes_on(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    big = tmp_path / "big.txt"
    big.write_text("A sentence that goes on. " * 400_000, "utf-8")  # ~10 MB of text
    small = tmp_path / "small.txt"
    small.write_text("Just one short line of text.", "utf-8")
    pool = ParsePool(embedder.tokenizer_file, 200, 32, workers=1, time_limit=0.5)
    try:
        pool.submit(ParseTask(1, str(big)))
        pool.submit(ParseTask(2, str(small)))
        results = {r.key: r for r in (pool.results.get(timeout=120) for _ in range(2))}
    finally:
        pool.close()
    assert results[1].error == reasons.timed_out(0.5)
    assert results[1].error.startswith("Reading this file took longer than 0.5 seconds")
    assert not results[2].error and len(results[2].chunks) == 1


def test_reader_processes_that_cannot_start_give_an_error_not_a_hang(
    library, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from engine.errors import FolioError
    from engine.ingest import pool

    def broken(*_a, **_k):  # type: ignore[no-untyped-def]
        raise OSError("no processes left")

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nSome text.", "utf-8")
    monkeypatch.setattr(pool._Worker, "__init__", broken)
    coll = library.create("Broken")
    with pytest.raises(FolioError, match="could not start its document readers"):
        coll.index([folder])
    coll.close()


def test_helper_reader_works_only_while_the_embedder_waits(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    files = []
    for i in range(8):
        f = tmp_path / f"long-{i}.txt"
        f.write_text(f"Sentence {i} that goes on for a while. " * 60_000, "utf-8")  # ~2 MB
        files.append(f)
    pool = ParsePool(embedder.tokenizer_file, 200, 32, workers=1, helpers=1)
    try:
        for i, f in enumerate(files):
            pool.submit(ParseTask(i, str(f)))
        most = 0
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:  # not hungry: the helper stays out of the way
            most = max(most, pool.busy)
            time.sleep(0.01)
        assert most == 1
        pool.hungry.set()  # the consumer waits with nothing to do: both readers work
        deadline = time.monotonic() + 30
        while pool.busy < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pool.busy == 2
        results = [pool.results.get(timeout=120) for _ in files]
    finally:
        pool.close()
    assert sorted(r.key for r in results) == list(range(8))
    assert all(not r.error and r.chunks for r in results)
