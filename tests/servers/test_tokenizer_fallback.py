"""A model server without a tokenizer: prompts are counted with a local model of the same
family plus a margin, else one token per byte, and never overflow the context either way.

The real llama-cpp-python server offers ``/extras/tokenize``; pointing Folio's probe at paths
the server does not have makes it a server without a tokenizer (as many are) while everything
else — the chat template, the prompt it really reads — stays the real server's.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from engine import EngineConfig, Library
from engine.chat import AskOptions, ChatSession
from engine.generate import GenSettings, connect_server
from engine.generate.families import (
    LOCAL_MARGIN,
    family_of,
    gguf_family,
    known_local_models,
    matching_local_model,
)
from engine.generate.server import ServerConfig, ServerError, ServerGenerator, list_models
from engine.history import ChatStore
from tests.servers.conftest import ALIAS, SERVER_KEY, ModelServer

N_CTX = 1024
ANSWER = 48
CITIES = ["Lisbon", "Ghent", "Tartu", "Bergen", "Lyon", "Padua", "Graz", "Cork"]
ITEMS = ["printer paper", "desk chairs", "train tickets", "software licences", "coffee"]


@pytest.fixture
def no_server_tokenizer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Folio's probe asks paths this server does not have: a server without a tokenizer."""
    paths = {kind: "/no-tokenizer-here" for kind in ServerGenerator.TOKENIZE_PATHS}
    monkeypatch.setattr(ServerGenerator, "TOKENIZE_PATHS", paths)


def _collection(tmp_path: Path, embedder):  # type: ignore[no-untyped-def]
    """Twelve reports, each longer than a passage: far more text than 1024 tokens hold."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(12):
        lines = [f"# Spending report {i}", ""]
        for q in range(1, 5):
            for j, item in enumerate(ITEMS):
                lines.append(
                    f"In quarter {q} the {CITIES[(i + j) % len(CITIES)]} office of department "
                    f"{i} spent {100 + 7 * i + 13 * j + q} euros on {item}."
                )
        (folder / f"report-{i}.md").write_text("\n".join(lines), encoding="utf-8")
    lib = Library(EngineConfig(home=tmp_path / "home", parse_workers=1), embedder=embedder)
    coll = lib.create("Reports")
    coll.index([folder])
    return lib, coll


def _server_prompt_tokens(server: ModelServer, messages: list[dict[str, str]]) -> int:
    """What the server itself counts for these messages, in its own chat template."""
    body = {"messages": messages, "max_tokens": 1, "temperature": 0}
    req = urllib.request.Request(
        server.url + "/v1/chat/completions",
        json.dumps(body).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=120) as r:
        return int(json.load(r)["usage"]["prompt_tokens"])


def test_family_names() -> None:
    assert family_of("/models/SmolLM2-135M-Instruct.Q4_1.gguf") == "smollm2"
    assert family_of("smollm2:135m") == "smollm2"
    assert family_of("meta-llama/Llama-3.1-8B-Instruct") == "llama-3"
    assert family_of("llama3.2:3b") == "llama-3"
    assert family_of("Qwen/Qwen2.5-7B-Instruct") == "qwen2"
    assert family_of("mistralai/Mistral-7B-Instruct-v0.3") == "mistral"
    assert family_of("Mistral-Nemo-Instruct-2407") == "mistral-nemo"
    assert family_of(ALIAS) == ""
    assert family_of("gpt-4o") == ""


def test_the_default_model_lends_its_tokenizer_to_its_family_only() -> None:
    models = known_local_models(None)
    assert models and gguf_family(models[0]) == "smollm2"
    assert matching_local_model("HuggingFaceTB/SmolLM2-360M-Instruct", models) == models[0]
    assert matching_local_model("qwen2.5:7b", models) is None
    assert matching_local_model(ALIAS, models) is None


def test_no_server_tokenizer_counts_with_the_local_family_and_never_overflows(
    model_server: ModelServer, no_server_tokenizer: None, tmp_path: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    lib, coll = _collection(tmp_path, embedder)
    store = ChatStore(lib.home)
    settings = GenSettings(n_ctx=N_CTX, temperature=0.0, max_answer_tokens=ANSWER)
    config = ServerConfig(model_server.url)
    family = connect_server(config, settings, lib.home)
    assert isinstance(family, ServerGenerator)
    assert family.counting == "local" and not family.exact_counts
    assert family.describe()["tokenizer"] == "local SmolLM2-135M-Instruct.Q4_1.gguf + 10 %"
    assert "plus a 10 % margin" in family.counting_sentence()
    by_bytes = ServerGenerator(config, settings, local_models=[])
    assert by_bytes.counting == "bytes"
    assert "one token per byte" in str(by_bytes.describe()["counting"])

    question = "How much did the Lisbon office spend on coffee in quarter 3?"
    opts = AskOptions(k=12, preset="answer")
    results = {}
    for name, gen in (("family", family), ("bytes", by_bytes)):
        answer = ChatSession([coll], gen, store).ask(question, opts)
        sent = list(gen._prompts.values())[-1]  # the messages this question sent
        real = _server_prompt_tokens(model_server, sent)
        planned = answer.stats.prompt_tokens
        results[name] = (real, planned, len(answer.included), len(answer.cut))
        # The prompt the server really read fits, with the answer's room, in the context.
        assert real <= planned, (name, real, planned)
        assert real + ANSWER <= N_CTX, (name, real)
        assert answer.cut, name  # the budget was what limited the sources
    print(f"\n(real, planned, sources, left out): {results}")
    real, planned, included, _cut = results["family"]
    # The family count is an upper bound close to the truth: within its margin (+ template).
    assert planned <= real * (1 + LOCAL_MARGIN) + 60, (real, planned)
    # …so more sources fit than with the byte estimate.
    assert included > results["bytes"][2], results
    assert real > results["bytes"][0], results
    store.close()
    coll.close()


def test_unknown_family_falls_back_to_bytes_and_a_key_is_asked(
    keyed_server: ModelServer, no_server_tokenizer: None
) -> None:
    """A server whose model's name says nothing of its family: the byte estimate, even though
    a tokenizer of that very model is on this computer (Folio cannot know)."""
    with pytest.raises(ServerError) as info:
        list_models(ServerConfig(keyed_server.url, api_key="wrong"))
    assert "refused Folio's key" in str(info.value)
    config = ServerConfig(keyed_server.url, api_key=SERVER_KEY)
    assert list_models(config) == [ALIAS]
    gen = connect_server(config, GenSettings(n_ctx=N_CTX))
    assert isinstance(gen, ServerGenerator)
    assert gen.model == ALIAS and gen.counting == "bytes"
    assert gen.count("Full-time staff get 25 days.") == len(b"Full-time staff get 25 days.") + 1
