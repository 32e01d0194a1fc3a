"""The llama.cpp generator with the real default model: streaming, cancel, loops, bad files."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.errors import ModelError
from engine.generate import GenSettings, add_model, default_model_path, discover_models
from engine.generate.base import Generator
from engine.generate.gguf import model_info
from engine.generate.llama import LlamaGenerator, resolve_gpu_layers
from engine.progress import CancelToken
from engine.prompts import ChatMessage, Segment


@pytest.fixture(scope="module")
def model() -> Iterator[Generator]:
    yield LlamaGenerator(default_model_path(), GenSettings(temperature=0.0, seed=1))


def chat(g: Generator, text: str) -> list[int]:
    return g.prompt_tokens([ChatMessage("user", (Segment(text),))])


def test_default_model_metadata() -> None:
    info = model_info(default_model_path())
    assert info.quantization == "Q4_1"
    assert info.context_length == 8192
    assert info.has_chat_template and info.architecture == "llama"


def test_context_is_smaller_of_setting_and_trained(model: Generator) -> None:
    assert model.n_ctx == 4096
    small = LlamaGenerator(default_model_path(), GenSettings(n_ctx=100_000))
    assert small.n_ctx == 8192  # the model was trained for 8192
    # Without a GPU build of llama.cpp, "auto" offloads nothing.
    assert resolve_gpu_layers(-1) in (0, -1)
    assert resolve_gpu_layers(5) == 5


def test_streams_pieces_and_reports_timings(model: Generator) -> None:
    gen = model.generate(chat(model, "What is the capital of France? One word."), max_tokens=20)
    pieces = list(gen)
    assert len(pieces) >= 1 and "".join(pieces).strip()
    assert "Paris" in gen.text
    assert gen.stats.stop in ("end", "length")
    assert gen.stats.prompt_tokens > 10 and gen.stats.ttft_s > 0


def test_cancel_stops_within_a_few_tokens(model: Generator) -> None:
    cancel = CancelToken()
    gen = model.generate(chat(model, "Write a long story about a lighthouse keeper."), cancel, 300)
    for seen, _ in enumerate(gen, start=1):
        if seen == 3:
            cancel.cancel()
    assert gen.stats.stop == "cancelled"
    assert gen.stats.answer_tokens <= 5


def test_follow_up_reuses_cached_prefix(model: Generator) -> None:
    first = chat(model, "Name a colour.")
    model.generate(first, max_tokens=5).run()
    follow = model.prompt_tokens(
        [
            ChatMessage("user", (Segment("Name a colour."),)),
            ChatMessage("assistant", (Segment("Blue."),)),
            ChatMessage("user", (Segment("Name another."),)),
        ]
    )
    gen = model.generate(follow, max_tokens=5)
    gen.run()
    assert gen.stats.cached_tokens >= len(first) - 2


def test_repeating_generation_is_stopped_and_flagged() -> None:
    # No repetition penalty, greedy: this prompt makes the 135M model loop.
    loopy = LlamaGenerator(
        default_model_path(),
        GenSettings(temperature=0.0, repeat_penalty=1.0, max_answer_tokens=400),
    )
    gen = loopy.generate(chat(loopy, "Write a long list of fruits."))
    gen.run()
    assert gen.stats.stop == "loop"
    assert gen.stats.answer_tokens < 200  # stopped well before the limit
    # What came before the loop is kept; the repeats are not.
    assert gen.text.startswith("Here is a list")
    assert gen.text.count("Ananas Malabacan") <= 3


def test_not_a_gguf_file_gives_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "model.gguf"
    bad.write_text("this is a text file, not a model")
    with pytest.raises(ModelError, match="is not a GGUF model file"):
        LlamaGenerator(bad)
    with pytest.raises(ModelError, match="does not exist"):
        LlamaGenerator(tmp_path / "missing.gguf")
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(default_model_path().read_bytes()[:4096])
    with pytest.raises(ModelError, match="cut short"):
        LlamaGenerator(cut)
    # Header intact but tensors missing: llama.cpp refuses it, and we say so.
    broken = tmp_path / "broken.gguf"
    data = default_model_path().read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="could not load"):
        LlamaGenerator(broken)


def test_discovery_finds_app_folders_and_added_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    fake_user = tmp_path / "user"
    monkeypatch.setenv("HOME", str(fake_user))
    monkeypatch.delenv("HF_HOME", raising=False)
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    src = default_model_path()
    lms = fake_user / ".lmstudio" / "models" / "pub" / "repo"
    hf = fake_user / ".cache" / "huggingface" / "hub" / "models--x--y" / "snapshots" / "abc"
    for folder in (lms, hf):
        folder.mkdir(parents=True)
    (lms / "tiny-Q4_1.gguf").symlink_to(src)
    shutil.copy(src, hf / "copy.Q4_1.gguf")
    (hf / "junk.gguf").write_text("not a model")
    elsewhere = tmp_path / "elsewhere" / "mine.gguf"
    elsewhere.parent.mkdir()
    shutil.copy(src, elsewhere)
    add_model(home, elsewhere)
    shared = tmp_path / "shared"  # what IT installs for every user
    shared.mkdir()
    shutil.copy(src, shared / "office-model.gguf")
    monkeypatch.setenv("FOLIO_SHARED_MODELS", str(shared))

    models, problems = discover_models(home)
    by_source = {m.source: m for m in models}
    assert models[0].source == "Built in"
    assert "Added" in by_source and by_source["Added"].path == str(elsewhere.resolve())
    assert "Hugging Face cache" in by_source
    assert by_source["Hugging Face cache"].quantization == "Q4_1"
    assert by_source["Shared"].path == str((shared / "office-model.gguf").resolve())
    # The LM Studio entry is a link to the built-in file: listed once, not twice.
    assert "LM Studio" not in by_source
    assert any("junk.gguf" in p and "not a GGUF" in p for p in problems)
    with pytest.raises(ModelError):
        add_model(home, hf / "junk.gguf")


def test_a_real_list_from_the_default_model_is_not_cut() -> None:
    # Asked to copy a fee table, the 135M model writes eleven distinct lines, three of them
    # "Page N: The fee is N euros per visit for adults." with different numbers: a list, not a
    # loop (a guard that ignored digits cut it after the second).
    from tests.engine.test_loop import FEES

    g = LlamaGenerator(default_model_path(), GenSettings(temperature=0.0, max_answer_tokens=400))
    gen = g.generate(chat(g, "Copy this text exactly, line by line:\n\n" + FEES))
    gen.run()
    lines = [line for line in gen.text.splitlines() if line.startswith("- Page")]
    assert gen.stats.stop == "end"
    assert len(lines) >= 9 and len(set(lines)) == len(lines)
    assert sum("for adults" in line for line in lines) >= 3
