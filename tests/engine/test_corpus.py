"""Real documents from ../shared/corpus: page-level search, and bad PDFs that never stop a run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import corpus_path


def expected_files(root: Path) -> set[str]:
    """Every file a run must account for: all regular files, hidden ones excepted."""
    out = set()
    for p in root.rglob("*"):
        rel = p.relative_to(root).parts
        if p.is_file() and not any(part.startswith(".") for part in rel):
            out.add(str(p))
    return out


@pytest.mark.slow
def test_broken_and_encrypted_pdfs_never_stop_a_run(tmp_path: Path) -> None:
    # Malformed and fuzzed PDFs, and the encrypted set (tests/trust runs every corpus PDF
    # through the readers; this run also embeds and stores what they yield).
    roots = [
        corpus_path("pdfs", "qpdf-qtest"),
        corpus_path("pdfs", "pypdf-resources", "encryption"),
    ]
    home = tmp_path / "home"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine.cli",
            "--home",
            str(home),
            "index",
            *map(str, roots),
            "--collection",
            "pdfs",
            "--no-ocr",  # the readers' and the store's robustness; OCR has tests/engine/test_ocr.py
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout)
    status = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine.cli",
            "--home",
            str(home),
            "status",
            "--collection",
            "pdfs",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(status.stdout)
    indexed = {d["document"] for d in data["document_list"]}
    failed = {f["document"]: f["reason"] for f in data["failures"]}
    expected = set().union(*(expected_files(r) for r in roots))
    # Every file is accounted for, exactly once, and every failure says why.
    assert indexed | set(failed) == expected
    assert not indexed & set(failed)
    assert all(reason.strip() for reason in failed.values())
    assert len(indexed) > 50
    assert any("password" in r for r in failed.values())
    assert report["failed"] and len(report["failed"]) == len(failed)
    print(f"\ncorpus pdfs: {len(expected)} files, {len(indexed)} indexed, {len(failed)} failed")
