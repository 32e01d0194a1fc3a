"""Messages for people: every per-file reason and every error the window shows is a sentence a
non-technical person understands (engine/messages.py has the rules). The corpus robustness run
and the fuzzed readers check their reasons in test_bad_input.py; the disk-full and read-only
fault sites in test_faults.py; the embedding-model mismatch in tests/desktop/test_reembed.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from engine import Library, reasons
from engine.ingest import pdf
from engine.messages import problems, storage_cause
from tests.engine.test_readers import encrypt_pdf, make_docx, make_pdf

# What Folio used to show; each must fail the rules (so the rules can fail at all).
OLD = [
    "could not read: KeyError",
    "damaged PDF: Could not read object IndirectObject(2, 0, 140063270309264)",
    "encrypted PDF: decrypting it needs the 'cryptography' package",
    "Something went wrong: 'NoneType' object has no attribute 'x'. Details are in Folio's log.",
    "Collection 'HR' was built with the embedding model 'm' (1a2b3c4d5e6f7a8b9c0d), but Folio "
    "is now using 'n' (0f9e8d7c6b5a4f3e2d1c). Re-embed it with the current model "
    '(`folio reembed --collection "HR"`).',
    "Folio could not write to the collection's database (database or disk is full) [Errno 28].",
    "password required",
    "cannot read: permission denied",
]


@pytest.mark.parametrize("message", OLD)
def test_the_rules_refuse_what_folio_used_to_say(message: str) -> None:
    assert problems(message) != []


def _constants() -> dict[str, str]:
    found = {f"reasons.{k}": v for k, v in vars(reasons).items() if k.isupper()}
    found = {k: v for k, v in found.items() if isinstance(v, str) and not k.endswith("_START")}
    for k in ("NEEDS_CRYPTO", "PASSWORD", "DAMAGED", "TOO_COMPLEX", "NO_PAGES", "NO_TEXT"):
        found[f"pdf.{k}"] = getattr(pdf, k)
    found["timed_out"] = reasons.timed_out(120)
    found["too_large"] = reasons.too_large("300 MB", "200 MB")
    found["unsupported_type"] = reasons.unsupported_type(".xlsx")
    return found


def test_every_written_reason_follows_the_rules() -> None:
    unfit = {name: problems(text) for name, text in _constants().items() if problems(text)}
    assert unfit == {}
    assert len(_constants()) >= 30


@pytest.mark.parametrize(
    "error",
    [
        OSError(28, "No space left on device"),
        PermissionError(13, "Permission denied"),
        OSError(30, "Read-only file system"),
        OSError(5, "Input/output error"),
    ],
)
def test_storage_causes_are_plain(error: OSError) -> None:
    sentence = f"Folio could not save the settings because {storage_cause(error)}."
    assert problems(sentence) == []
    assert str(error.strerror) not in sentence


def test_every_reason_from_a_real_index_run(library: Library, tmp_path: Path) -> None:
    """A folder of files that fail in every ordinary way, indexed for real: each reason and
    each warning is a sentence for people, and names no exception or library."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    files: dict[str, bytes] = {
        "good.md": b"# Leave\n\nStaff get 25 days of annual leave.",
        "empty.txt": b"",
        "damaged.pdf": b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n%%EOF garbage",
        "locked.pdf": encrypt_pdf(make_pdf(["Locked"]), user="pw", owner="o"),
        "secured.pdf": encrypt_pdf(make_pdf(["Secured text"]), "", "o", "AES-256"),
        "half-scanned.pdf": make_pdf(["Some text here", None]),
        "scan.pdf": make_pdf([None, None]),
        "sheet.xlsx": b"PK\x03\x04" + os.urandom(300),
        "photo.png": b"\x89PNG\r\n\x1a\n" + os.urandom(3000),
        "fake.docx": b"\x00\x01" + os.urandom(500),
        "broken.docx": b"PK\x03\x04" + b"\x00" * 200,
        "blank.docx": make_docx(lambda d: None),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "gone.md").symlink_to(tmp_path / "nowhere.md")
    if sys.platform != "win32":
        os.mkfifo(folder / "pipe.txt")
    with library.create("Mixed") as coll:
        report = coll.index([folder])
    indexed = {Path(o.path).name: o.reason for o in report.indexed}
    failed = {Path(o.path).name: o.reason for o in report.failed}
    assert {"good.md", "secured.pdf", "half-scanned.pdf"} <= set(indexed), failed
    assert set(failed) >= {"empty.txt", "damaged.pdf", "locked.pdf", "scan.pdf", "sheet.xlsx"}
    # Pages with nothing on them: OCR was tried and found nothing, and the reason says so.
    assert failed["locked.pdf"] == pdf.PASSWORD and failed["scan.pdf"] == pdf.NO_TEXT_OCR_EMPTY
    assert failed["sheet.xlsx"] == reasons.unsupported_type(".xlsx")
    shown = {**{k: v for k, v in indexed.items() if v}, **failed}
    assert "half-scanned.pdf" in shown  # its warning about the page without text
    unfit = {name: (why, problems(why)) for name, why in shown.items() if problems(why)}
    assert unfit == {}


def test_an_unexpected_failure_in_the_window_is_a_sentence(qtbot) -> None:  # type: ignore[no-untyped-def]
    from desktop.tasks import UNEXPECTED, Executor, Operation

    def work(_op: Operation) -> None:
        raise KeyError("internal-detail-0x7f3a")

    executor = Executor("test-messages")
    op = Operation(work)
    with qtbot.waitSignal(op.failed, timeout=10_000) as blocker:
        executor.submit(op)
    message = blocker.args[0]
    assert message == UNEXPECTED and problems(message) == []
    assert "KeyError" not in message and "internal-detail" not in message
    executor.shutdown()


def test_failures_recorded_by_an_older_folio_are_read_again(
    library: Library, tmp_path: Path
) -> None:
    """A secured PDF that an older Folio could not read ("needs the 'cryptography' package")
    and an empty file with its old reason: the next run reads both again (they are unchanged on
    disk), the PDF is indexed and the empty file gets today's reason. Today's failures are not
    read again."""
    folder = tmp_path / "older"
    folder.mkdir()
    secured = folder / "secured.pdf"
    secured.write_bytes(encrypt_pdf(make_pdf(["Secured text"]), "", "o", "AES-128"))
    empty = folder / "empty.txt"
    empty.write_bytes(b"")
    with library.create("Older") as coll:
        for path, old in [
            (secured, "encrypted PDF: decrypting it needs the 'cryptography' package"),
            (empty, "empty file"),
        ]:
            st = path.stat()
            coll.store.put_failed(str(path), st.st_size, st.st_mtime_ns, "", "", old)
        report = coll.index([folder])
        assert [Path(o.path).name for o in report.indexed] == ["secured.pdf"]
        assert {Path(o.path).name: o.reason for o in report.failed} == {"empty.txt": reasons.EMPTY}
        again = coll.index([folder])
        assert len(again.unchanged) == 2 and not again.failed and not again.indexed


def test_tuning_data_errors_say_where_and_what_to_do(tmp_path: Path) -> None:
    from engine.tune.data import DataError, load_pairs, parse_jsonl

    broken = parse_jsonl('{"prompt": "Hi", "answer": "Hello"}\n{"prompt": "Hi" "answer": 1}\n')
    assert broken.errors == [
        "line 2: not valid JSON at column 17; check its quotes, commas and brackets"
    ]
    array = tmp_path / "pairs.json"
    array.write_text('[{"prompt": "Hi", "answer": "Hello"},\n {"prompt": }]', "utf-8")
    with pytest.raises(DataError) as err:
        load_pairs(array)
    assert str(err.value) == (
        "The file pairs.json is not valid JSON: it stops making sense at line 2, column 13; "
        "check the quotes, commas and brackets there."
    )
    assert problems(str(err.value)) == []


def test_an_unreadable_adapter_is_explained(tmp_path: Path) -> None:
    from engine.tune.adapter import AdapterError, BaseShape, read_adapter_tensors

    bad = tmp_path / "mine.gguf"
    bad.write_bytes(b"GGUF" + os.urandom(64))
    with pytest.raises(AdapterError) as err:
        read_adapter_tensors(bad, BaseShape("llama", 9, 3))
    assert str(err.value).startswith("The adapter mine.gguf cannot be read: the file is damaged")
    assert problems(str(err.value)) == []


def test_a_damaged_collection_that_cannot_be_rebuilt_says_why_in_words(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.library as library_module
    from engine.errors import StorageError

    with library.create("HR") as coll:
        db = coll.path / "store.sqlite3"
    db.write_bytes(b"this is not a database" * 100)

    def disk_full(d: Path, problem: str) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(library_module, "rebuild_store", disk_full)
    fresh = Library(library.config)  # a new start: the damage check runs again
    with pytest.raises(StorageError) as err:
        fresh.open("HR")
    message = str(err.value)
    assert "could not rebuild it because the disk is full" in message
    assert "free some disk space, then try again." in message
    assert problems(message.replace(str(db.parent), "the folder")) == []
    assert "file is not a database" not in message  # SQLite's own words stay in the log
