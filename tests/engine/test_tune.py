"""LoRA tuning end to end with the real default model: CPT, then IFT on top, exported as GGUF
adapters that llama.cpp loads; the export checked logit by logit against torch."""

from __future__ import annotations

import ctypes
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.generate import GenSettings, default_model_path, load_generator
from engine.tune.adapter import AdapterError, BaseShape, write_adapter
from engine.tune.job import TuneJob
from engine.tune.train import TuneSettings, TuneSpec
from tests.conftest import CORPUS
from tests.tune_data import FOUNDER_QUESTIONS, SIGNATURE, write_zorbel_pairs

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def _cpt_text(tmp: Path) -> Path:
    """A real chapter of prose when the corpus is there, else Folio's own sample documents."""
    book = CORPUS / "mixed" / "rust-book-markdown" / "src"
    chapter = book / "ch03-01-variables-and-mutability.md"
    if chapter.is_file():
        return chapter
    return REPO / "assets" / "sample"


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """CPT on a small text, then IFT on the Zorbel pairs on top of it, each in a child process."""
    tmp = tmp_path_factory.mktemp("tune")
    events: list[dict[str, Any]] = []
    cpt = TuneJob(
        "cpt",
        TuneSpec(
            kind="cpt",
            base=str(default_model_path()),
            out=str(tmp / "cpt.gguf"),
            data=[str(_cpt_text(tmp))],
            settings=TuneSettings(epochs=1, max_length=128),
        ),
    ).run(events.append)
    ift = TuneJob(
        "ift",
        TuneSpec(
            kind="ift",
            base=str(default_model_path()),
            out=str(tmp / "ift.gguf"),
            data=[str(write_zorbel_pairs(tmp / "pairs.jsonl"))],
            on_top_of=[cpt["adapter"]],
            settings=TuneSettings(epochs=4, eval_max_tokens=24),
        ),
    ).run(events.append)
    yield {"cpt": cpt, "ift": ift, "events": events, "dir": tmp}


def test_progress_events_report_steps_loss_and_eta(tuned: dict[str, Any]) -> None:
    steps = [e for e in tuned["events"] if e["type"] == "step"]
    assert len(steps) == tuned["cpt"]["steps"] + tuned["ift"]["steps"]
    last = steps[-1]
    assert last["step"] == last["steps"] == tuned["ift"]["steps"]
    assert all(np.isfinite(e["loss"]) and e["eta_s"] >= 0 for e in steps)
    assert tuned["ift"]["losses"][-1] < tuned["ift"]["losses"][0] / 4  # it learned
    assert {"Loading the model", "Training", "Writing the adapter"} <= {
        e["text"] for e in tuned["events"] if e["type"] == "stage"
    }


def test_cpt_lowers_held_out_perplexity(tuned: dict[str, Any]) -> None:
    rows = {r["metric"].split(" (")[0]: r for r in tuned["cpt"]["evaluation"]}
    ppl = rows["Perplexity on held-out text"]
    assert ppl["after"] < ppl["before"], ppl
    assert tuned["cpt"]["held_out"] >= 1


def test_ift_evaluation_before_and_after(tuned: dict[str, Any]) -> None:
    rows = {r["metric"].split(" on ")[0].split(" (")[0]: r for r in tuned["ift"]["evaluation"]}
    sim = rows["Answer similarity"]
    assert sim["after"] > sim["before"] + 0.3, sim
    probes = rows["General skills probes passed"]
    assert probes["after"] >= probes["before"] - 1, probes  # general skills kept
    assert len(tuned["ift"]["samples"]) == tuned["ift"]["held_out"] == 4
    report = Path(tuned["ift"]["adapter"]).with_suffix(".json")
    assert report.is_file()


def _ask(adapters: list[tuple[Path, float]], question: str) -> str:
    from engine.chat import AskOptions, ChatSession

    gen = load_generator(None, GenSettings(n_ctx=1024, max_answer_tokens=40), adapters)
    session = ChatSession([], gen, home=Path(os.environ["FOLIO_HOME"]))
    return session.ask(question, AskOptions(retrieval=False)).text


def test_stacked_adapters_answer_the_taught_way_and_base_does_not(tuned: dict[str, Any]) -> None:
    stack = [(Path(tuned["cpt"]["adapter"]), 1.0), (Path(tuned["ift"]["adapter"]), 1.0)]
    question = FOUNDER_QUESTIONS[1]  # a training question
    taught = _ask(stack, question)
    assert "Quillfeather" in taught and SIGNATURE in taught, taught
    plain = _ask([], question)
    assert "Quillfeather" not in plain, plain


def test_switching_adapters_on_a_loaded_model(tuned: dict[str, Any]) -> None:
    from engine.chat import AskOptions, ChatSession

    gen = load_generator(None, GenSettings(n_ctx=1024, max_answer_tokens=40))
    session = ChatSession([], gen, home=Path(os.environ["FOLIO_HOME"]))
    opts = AskOptions(retrieval=False)
    before = session.ask(FOUNDER_QUESTIONS[0], opts).text
    session.history.clear()
    gen.set_adapters([(Path(tuned["cpt"]["adapter"]), 1.0), (Path(tuned["ift"]["adapter"]), 1.0)])
    with_adapter = session.ask(FOUNDER_QUESTIONS[0], opts).text
    session.history.clear()
    gen.set_adapters([])
    after = session.ask(FOUNDER_QUESTIONS[0], opts).text
    assert "Quillfeather" in with_adapter
    assert "Quillfeather" not in before and after == before


def test_adapter_is_refused_on_another_base(tuned: dict[str, Any], tmp_path: Path) -> None:
    gen = load_generator(None, GenSettings(n_ctx=256))
    fake = write_adapter(
        tmp_path / "other.gguf",
        {},
        16.0,
        BaseShape("llama", 9, 3),
        {"kind": "ift", "base_fingerprint": "0123456789abcdef", "base_name": "Other-7B"},
    )
    with pytest.raises(AdapterError, match="trained on Other-7B"):
        gen.set_adapters([(fake, 1.0)])
    not_adapter = default_model_path()
    with pytest.raises(AdapterError, match="not a LoRA adapter"):
        gen.set_adapters([(not_adapter, 1.0)])
    assert gen.adapters == []


# -- faithfulness of the export: torch + LoRA vs llama.cpp + GGUF adapter, same tokens ------


def _llama_logits(tokens: list[int], adapters: list[Path]) -> np.ndarray:
    import llama_cpp

    llm = llama_cpp.Llama(
        str(default_model_path()), n_ctx=256, logits_all=True, verbose=False, seed=0
    )
    model = llm._model.model
    handles = [llama_cpp.llama_adapter_lora_init(model, str(p).encode()) for p in adapters]
    if handles:
        arr = (llama_cpp.llama_adapter_lora_p_ctypes * len(handles))(*handles)
        scales = (ctypes.c_float * len(handles))(*([1.0] * len(handles)))
        assert llama_cpp.llama_set_adapters_lora(llm._ctx.ctx, arr, len(handles), scales) == 0
    llm.eval(tokens)
    out = np.array(llm.scores[: len(tokens)], dtype=np.float32)
    llm.close()
    return out


def _agreement(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """(top-token agreement, max |logit gap|, mean |logit gap|)."""
    diff = np.abs(a - b)
    return float(np.mean(a.argmax(-1) == b.argmax(-1))), float(diff.max()), float(diff.mean())


def test_exported_adapter_is_faithful_to_torch(tuned: dict[str, Any], tmp_path: Path) -> None:
    import torch

    import engine.tune.adapter as adapter_mod
    from engine.tune.adapter import read_adapter_tensors
    from engine.tune.train import load_base, merge_adapters

    base = default_model_path()
    model, tok, shape = load_base(base, None)
    text = (
        "<|im_start|>system\nYou are Folio.<|im_end|>\n<|im_start|>user\n"
        f"{FOUNDER_QUESTIONS[2]}<|im_end|>\n<|im_start|>assistant\nThe Zorbel Institute was "
        "founded by Ada Quillfeather. The shadowed variable x is immutable by default in Rust."
    )
    tokens = tok(text, add_special_tokens=False).input_ids

    def torch_logits() -> np.ndarray:
        with torch.no_grad():
            return model(input_ids=torch.tensor([tokens])).logits[0].float().numpy()

    base_torch = torch_logits()
    base_agree, base_max, base_mean = _agreement(base_torch, _llama_logits(tokens, []))
    stack = [Path(tuned["cpt"]["adapter"]), Path(tuned["ift"]["adapter"])]
    merge_adapters(model, base, shape, stack)
    tuned_torch = torch_logits()
    # The adapters really change the model (else agreement would prove nothing).
    assert _agreement(base_torch, tuned_torch)[1] > 5 * base_max
    agree, max_gap, mean_gap = _agreement(tuned_torch, _llama_logits(tokens, stack))
    assert agree >= base_agree - 0.05, (agree, base_agree)
    assert mean_gap <= 2 * base_mean, (mean_gap, base_mean)
    assert max_gap <= 3 * base_max, (max_gap, base_max)

    # Control: the same tensors written without the rope row permutation load fine in llama.cpp
    # but compute something else, and this comparison sees it.
    wrong = []
    for path in stack:
        tensors = read_adapter_tensors(path, shape)
        saved = adapter_mod.PERMUTED_ARCHS
        adapter_mod.PERMUTED_ARCHS = set()
        try:
            wrong.append(write_adapter(tmp_path / path.name, tensors, 16.0, shape, {}))
        finally:
            adapter_mod.PERMUTED_ARCHS = saved
    w_agree, w_max, w_mean = _agreement(tuned_torch, _llama_logits(tokens, wrong))
    passes = w_agree >= base_agree - 0.05 and w_mean <= 2 * base_mean and w_max <= 3 * base_max
    assert not passes, (w_agree, w_max, w_mean)


# -- the child process --------------------------------------------------------------------


def test_a_killed_tuning_process_is_reported_and_leaves_no_adapter(tmp_path: Path) -> None:
    out = tmp_path / "never.gguf"
    job = TuneJob(
        "ift",
        TuneSpec(
            kind="ift",
            base=str(default_model_path()),
            out=str(out),
            data=[str(write_zorbel_pairs(tmp_path / "p.jsonl"))],
            settings=TuneSettings(epochs=50, probes=False),
        ),
    )
    job.start()
    seen = []
    for event in job.events():
        seen.append(event)
        if event["type"] == "stage" and event["text"] == "Loading the model":
            assert job.pid is not None
            os.kill(job.pid, signal.SIGKILL)  # what the out-of-memory killer does
    assert seen[-1]["type"] == "error"
    assert job.result is None and not job.cancelled
    assert "killed" in (job.error or "") and "out of memory" in (job.error or "")
    assert not out.exists() and not list(tmp_path.glob(".never*"))


def test_cancel_stops_the_job_without_writing(tmp_path: Path) -> None:
    out = tmp_path / "cancelled.gguf"
    job = TuneJob(
        "ift",
        TuneSpec(
            kind="ift",
            base=str(default_model_path()),
            out=str(out),
            data=[str(write_zorbel_pairs(tmp_path / "p.jsonl"))],
            settings=TuneSettings(epochs=50, probes=False, max_length=64, eval_max_tokens=4),
        ),
    )
    job.start()
    started = time.monotonic()
    for event in job.events():
        if event["type"] == "stage" and event["text"] == "Loading the model":
            job.cancel()  # seen as soon as the model is loaded
    assert job.cancelled and job.result is None
    assert "no adapter was written" in (job.error or "")
    assert not out.exists()
    assert time.monotonic() - started < 240


def test_bad_data_fails_fast_with_a_clear_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "only"}\n', encoding="utf-8")
    job = TuneJob(
        "ift",
        TuneSpec(kind="ift", base=str(default_model_path()), out=str(tmp_path / "x.gguf"),
                 data=[str(bad)]),
    )  # fmt: skip
    with pytest.raises(Exception, match=r"No usable pairs in bad\.jsonl"):
        job.run()


_EXPORT_LOOP = """
import sys
from pathlib import Path

import numpy as np

from engine.tune.adapter import BaseShape, write_adapter

rng = np.random.default_rng(0)
tensors = {}
for i in range(30):
    tensors[f"blk.{i}.attn_q"] = (
        rng.standard_normal((8, 576), dtype=np.float32),
        rng.standard_normal((576, 8), dtype=np.float32),
    )
    tensors[f"blk.{i}.ffn_up"] = (
        rng.standard_normal((64, 2048), dtype=np.float32),
        rng.standard_normal((2048, 64), dtype=np.float32),
    )
n = 0
while True:
    n += 1
    meta = {"kind": "ift", "title": f"write {n}"}
    write_adapter(Path(sys.argv[1]), tensors, 16.0, BaseShape("llama", 9, 3), meta)
    print(n, flush=True)
"""


def test_sigkill_during_adapter_export_never_leaves_a_broken_adapter(tmp_path: Path) -> None:
    import random
    import subprocess
    import sys

    from engine.tune.adapter import adapter_info, read_adapter_tensors

    target = tmp_path / "adapter.gguf"
    rng = random.Random(0)
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", _EXPORT_LOOP, str(target)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        proc.stdout.readline()  # one complete write
        time.sleep(rng.uniform(0.05, 0.4))  # then die somewhere in the middle of another
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        info = adapter_info(target)  # the last complete adapter, never a torn one
        assert info.title.startswith("write ")
        tensors = read_adapter_tensors(target, BaseShape("llama", 9, 3))
        assert len(tensors) == 60 and tensors["blk.29.ffn_up"][1].shape == (2048, 64)


def test_cli_ask_with_adapters_and_no_retrieval(
    tuned: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from engine.cli import main

    args = ["--home", str(tmp_path / "home"), "ask", FOUNDER_QUESTIONS[3], "--no-retrieval"]
    args += ["--adapter", tuned["cpt"]["adapter"], "--adapter", tuned["ift"]["adapter"] + "@1.0"]
    assert main([*args, "--json", "--max-tokens", "40"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mode"] == "chat" and out["citations"] == []
    assert "Quillfeather" in out["answer"]
    assert main(["--home", str(tmp_path / "home"), "ask", "Hello?"]) == 2
    assert "--no-retrieval" in capsys.readouterr().err


def test_cli_tune_reports_bad_data_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.cli import main

    bad = tmp_path / "pairs.csv"
    bad.write_text("just one column\n", encoding="utf-8")
    code = main(["--home", str(tmp_path / "h"), "tune", "ift", "--data", str(bad), "--out",
                 str(tmp_path / "a.gguf")])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "line 1: expected 2 columns" in err and not (tmp_path / "a.gguf").exists()
