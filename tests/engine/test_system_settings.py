"""The organisation's settings file as `folio ask` reads it: which server, and what a lock
refuses (pure logic; the file itself is read in tests/desktop/test_org_settings.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from engine.errors import FolioError
from engine.system_settings import (
    SystemSettings,
    load_system_settings,
    server_choice,
    system_settings_path,
)

URL = "http://llm.example.internal:8080"
ORG = {"answers_from": "server", "server_url": URL, "server_model": "qwen2.5-7b"}


def test_where_the_file_is(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FOLIO_SYSTEM_SETTINGS", str(tmp_path / "it.json"))
    assert system_settings_path() == tmp_path / "it.json"
    monkeypatch.delenv("FOLIO_SYSTEM_SETTINGS")
    if sys.platform.startswith("linux"):
        assert system_settings_path() == Path("/etc/folio/settings.json")
    (tmp_path / "it.json").write_text('{"k": 3, "_note": "x", "locked": ["k", 7]}')
    s = load_system_settings(tmp_path / "it.json")
    assert s.values == {"k": 3} and s.locked == frozenset({"k"})


def test_no_file_means_this_computer_unless_told() -> None:
    none = SystemSettings()
    assert server_choice(none, None, None, False) == ("", "")
    assert server_choice(none, "http://a:1", None, False) == ("http://a:1", "")
    assert server_choice(none, "http://a:1", "m", False) == ("http://a:1", "m")


def test_the_organisations_server_is_the_default() -> None:
    org = SystemSettings(dict(ORG))
    assert server_choice(org, None, None, False) == (URL, "qwen2.5-7b")
    assert server_choice(org, None, "llama3.1:8b", False) == (URL, "llama3.1:8b")
    # Not locked: --model answers locally, --server goes elsewhere.
    assert server_choice(org, None, None, True) == ("", "")
    assert server_choice(org, "http://b:2", None, False) == ("http://b:2", "")
    # A server that only names a URL, without answers_from, is not used by default.
    assert server_choice(SystemSettings({"server_url": URL}), None, None, False) == ("", "")


def test_locks_refuse_what_contradicts_them() -> None:
    locked = SystemSettings(dict(ORG), frozenset({"answers_from", "server_url", "server_model"}))
    with pytest.raises(FolioError, match=r"cannot be used\. Leave out --model"):
        server_choice(locked, None, None, True)
    with pytest.raises(FolioError, match=r"Folio cannot use another one\. Leave out --server"):
        server_choice(locked, "http://b:2", None, False)
    with pytest.raises(FolioError, match="Leave out --server-model"):
        server_choice(locked, None, "llama3.1:8b", False)
    assert server_choice(locked, URL, None, False) == (URL, "qwen2.5-7b")
    assert server_choice(locked, None, "qwen2.5-7b", False) == (URL, "qwen2.5-7b")
