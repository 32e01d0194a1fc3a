"""Shared fixtures: isolated home folders, the real default embedding model, the corpus."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"


def corpus_path(*parts: str) -> Path:
    """A folder of ../shared/corpus, or skip the test when the corpus is not there."""
    p = CORPUS.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"corpus folder {p} is not available")
    return p


@pytest.fixture(autouse=True)
def _none_guard() -> None:
    # One test process makes many Qt calls; each loses a reference to None on Python 3.11
    # with PySide6 6.12 (see desktop/none_guard.py), which would abort a long run.
    from desktop.none_guard import top_up

    top_up()


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Nothing a test does may touch the real user folder.
    monkeypatch.setenv("FOLIO_HOME", str(tmp_path / "folio-home"))
    # Nor an organisation settings file the computer running the tests may have.
    monkeypatch.setenv("FOLIO_SYSTEM_SETTINGS", str(tmp_path / "no-organisation-settings.json"))
    yield


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    from engine.embed import load_embedder

    return load_embedder()


@pytest.fixture
def library(tmp_path: Path, embedder):  # type: ignore[no-untyped-def]
    from engine import EngineConfig, Library

    return Library(EngineConfig(home=tmp_path / "home", parse_workers=1), embedder=embedder)
