"""`folio ask` with an organisation's settings file that names a real model server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.servers.conftest import ModelServer


def test_folio_ask_uses_the_organisations_server_and_honours_its_lock(
    model_server: ModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.engine.test_cli import folio

    org = tmp_path / "settings.json"
    org.write_text(json.dumps({"answers_from": "server", "server_url": model_server.url}))
    monkeypatch.setenv("FOLIO_SYSTEM_SETTINGS", str(org))
    home = tmp_path / "home"
    run = folio(home, "ask", "Say hello.", "--no-retrieval", "--max-tokens", "8")
    assert run.stderr.startswith(
        f"Answers come from the model server at 127.0.0.1:{model_server.port} "
        "(SmolLM2-135M-Instruct.Q4_1.gguf). "
        "Prompt sizes are counted with the server's own tokenizer."
    )
    org.write_text(
        json.dumps(
            {
                "answers_from": "server",
                "server_url": model_server.url,
                "locked": ["answers_from", "server_url"],
            }
        )
    )
    run = folio(home, "ask", "Hi", "--no-retrieval", "--model", "other.gguf", ok=False)
    assert run.returncode == 2
    assert "Your organisation has set Folio to answer from its model server" in run.stderr
    assert "Traceback" not in run.stderr
