"""The `folio` command: collections, index, search and status, with their documented JSON shapes."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest


def folio(home: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the `folio` command in this process (the model and torch stay loaded between calls;
    the crash and corpus tests run it as a real program)."""
    from engine.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["--home", str(home), *args])
        except SystemExit as exc:  # argparse refusing the arguments
            code = int(exc.code or 0)
    run = subprocess.CompletedProcess(["folio", *args], code, out.getvalue(), err.getvalue())
    if ok:
        assert run.returncode == 0, run.stderr
    return run


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    d.mkdir()
    (d / "leave.md").write_text(
        "# Annual leave\n\nStaff get twenty-eight days of annual leave a year, bank holidays "
        "included. Requests go to your line manager two weeks ahead.",
        "utf-8",
    )
    (d / "expenses.txt").write_text(
        "Travel expenses are refunded within ten working days when the receipt is attached.",
        "utf-8",
    )
    (d / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n%%EOF garbage")
    (d / "empty.txt").write_bytes(b"")
    return d


def test_cli_end_to_end(tmp_path: Path, folder: Path) -> None:
    home = tmp_path / "home"
    folio(home, "collections", "create", "HR")
    dup = folio(home, "collections", "create", "HR", ok=False)
    assert dup.returncode == 2 and "exists already" in dup.stderr

    # Some files fail: the run still exits 0 and lists each failure with its reason.
    run = folio(home, "index", str(folder), "--collection", "HR", "--json")
    report = json.loads(run.stdout)
    assert {Path(o["path"]).name for o in report["indexed"]} == {"leave.md", "expenses.txt"}
    reasons = {Path(o["path"]).name: o["reason"] for o in report["failed"]}
    assert set(reasons) == {"broken.pdf", "empty.txt"}
    assert reasons["empty.txt"] == "The file is empty, so there is nothing to read."
    assert reasons["broken.pdf"]

    hits = json.loads(
        folio(home, "search", "how many holidays do I get", "--collection", "HR", "--json").stdout
    )
    assert hits["mode"] == "top_k"
    top = hits["hits"][0]
    assert set(top) == {
        "collection",
        "document",
        "page",
        "start",
        "end",
        "score",
        "text",
        "context",
        "unavailable",
        "ocr",
        "location",
    }
    assert top["unavailable"] == ""
    assert top["ocr"] is False and top["location"] == "section 1"  # a text file, not a scan
    assert top["document"].endswith("leave.md") and top["collection"] == "HR"
    # The context header the passage was embedded with (its heading) comes apart from the text.
    assert "annual leave" in top["context"].lower()

    every = json.loads(
        folio(home, "search", "annual leave", "--collection", "HR", "--all", "--json").stdout
    )
    assert every["mode"] == "all"
    assert every["documents"][0]["document"].endswith("leave.md")
    assert set(every["documents"][0]) == {"document", "score", "passages"}

    status = json.loads(folio(home, "status", "--collection", "HR", "--json").stdout)
    assert status["documents"] == 2 and status["failed"] == 2
    assert status["folders"] == [str(folder)]
    assert status["embed_model"] == "all-MiniLM-L6-v2"
    assert {Path(f["document"]).name for f in status["failures"]} == {"broken.pdf", "empty.txt"}

    listed = json.loads(folio(home, "collections", "list", "--json").stdout)
    assert [c["name"] for c in listed] == ["HR"]
    folio(home, "collections", "rename", "HR", "People")
    folio(home, "collections", "delete", "People")
    assert json.loads(folio(home, "collections", "list", "--json").stdout) == []
    missing = folio(home, "search", "x", "--collection", "People", ok=False)
    assert missing.returncode == 2 and "no collection named" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_home_from_environment(tmp_path: Path) -> None:
    import os

    env = dict(os.environ, FOLIO_HOME=str(tmp_path / "envhome"))
    subprocess.run(
        [sys.executable, "-m", "engine.cli", "collections", "create", "X"],
        check=True,
        env=env,
        capture_output=True,
    )
    assert (tmp_path / "envhome" / "collections").is_dir()


def test_ask_streams_then_lists_sources_and_json_shape(tmp_path: Path, folder: Path) -> None:
    home = tmp_path / "home"
    folio(home, "index", str(folder), "-c", "HR")
    run = folio(
        home, "ask", "How many days of annual leave?", "-c", "HR", "--json", "--max-tokens", "60"
    )
    data = json.loads(run.stdout)
    assert set(data) >= {"answer", "citations", "included", "cut", "timings", "context", "stop"}
    assert data["mode"] == "answer" and data["answer"]
    assert {"retrieval_ms", "prompt_tokens", "time_to_first_token_s", "tokens_per_s"} <= set(
        data["timings"]
    )
    assert any(s["document"].endswith("leave.md") for s in data["included"])
    # Every sentence carries its own status and reason; each citation repeats the status of
    # the sentence it belongs to, and only a supported sentence goes without a reason.
    by_span = {tuple(s["span"]): s for s in data["sentences"]}
    for s in data["sentences"]:
        assert set(s) == {"sentence", "span", "sources", "status", "reason"}
        assert (s["status"] == "supported") == (s["reason"] == "")
    for c in data["citations"]:
        assert set(c) >= {"document", "page", "span", "status", "reason"}
        sentence = next(s for s in data["sentences"] if s["sentence"] == c["sentence"])
        assert c["status"] == sentence["status"] and c["number"] in sentence["sources"]
    backed = sum(s["status"] in ("supported", "inferred") for s in by_span.values())
    if by_span:
        assert data["summary"].startswith(
            f"{backed} of {len(by_span)}" if len(by_span) > 1 else "The statement is"
        )
    # The chat was kept: a follow-up continues it. Without --json the answer streams to the
    # terminal, then the sources are listed.
    follow = folio(home, "ask", "And expenses?", "-c", "HR", "--session", str(data["session_id"]))
    assert "Sources:" in follow.stdout and "prompt tokens" in follow.stdout
    from engine import ChatStore

    store = ChatStore(home)
    assert [s.turns for s in store.sessions("HR")] == [2]
    store.close()

    bad = tmp_path / "notes.gguf"
    bad.write_text("hello")
    run = folio(home, "ask", "q?", "-c", "HR", "--model", str(bad), ok=False)
    assert run.returncode == 2 and "not a GGUF model file" in run.stderr

    models = json.loads(folio(home, "models", "--json").stdout)
    assert models["models"][0]["quantization"] == "Q4_1"


def test_sample_collection_set_up_from_the_command_line(tmp_path: Path) -> None:
    home = tmp_path / "h"
    first = json.loads(folio(home, "sample", "--json").stdout)
    assert first["collection"] == "Sample"
    assert sorted(Path(row["path"]).name for row in first["indexed"]) == sorted(
        p.name for p in (Path(__file__).parents[2] / "assets" / "sample").iterdir()
    )
    assert (home / "Sample documents" / "Working hours.md").is_file()
    again = json.loads(folio(home, "sample", "--json").stdout)  # a second time: nothing redone
    assert again["indexed"] == [] and again["unchanged"] == 5
    hits = json.loads(folio(home, "search", "core hours", "-c", "Sample", "--json").stdout)
    assert Path(hits["hits"][0]["document"]).name == "Working hours.md"
