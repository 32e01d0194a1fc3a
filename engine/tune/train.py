"""LoRA training on CPU in torch: continued pre-training (CPT) and instruction tuning (IFT).

This module runs inside the tuning child process (see ``job.py``): it imports torch and
transformers, loads the chat model's own GGUF (dequantised to float32), trains a LoRA, evaluates
before and after, and writes the adapter in llama.cpp's GGUF format. It talks to the parent only
through the ``emit`` callback (plain dicts) and checks ``should_stop`` between steps.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Cancelled, FolioError
from ..generate.gguf import model_info
from ..prompts import CHAT_RULES
from .adapter import (
    SUPPORTED_ARCHS,
    BaseShape,
    adapter_meta,
    check_adapter,
    read_adapter_tensors,
    tensors_from_loras,
    write_adapter,
)
from .data import Example, load_pairs, load_texts, split_held_out
from .lora import apply_lora, merge_into_base

log = logging.getLogger(__name__)

Emit = Callable[[dict[str, Any]], None]


class TuneError(FolioError):
    """Tuning cannot start or could not finish; the message says why."""


@dataclass
class TuneSettings:
    """Defaults chosen for 135M–1B models on a laptop CPU."""

    rank: int = 8
    alpha: float = 16.0
    learning_rate: float = 1e-3
    epochs: int = 3
    batch_size: int = 4
    max_length: int = 384  # tokens per example (IFT) or per block (CPT)
    dropout: float = 0.0
    held_out: float = 0.15
    seed: int = 0
    threads: int | None = None
    eval_max_tokens: int = 40
    probes: bool = True  # general-skills check before and after (IFT)


@dataclass
class TuneSpec:
    kind: str  # cpt | ift
    base: str  # the GGUF model file
    out: str  # where the adapter goes
    data: list[str] = field(default_factory=list)  # IFT: one pairs file; CPT: files/folders
    texts: list[str] = field(default_factory=list)  # CPT text given directly (a collection)
    on_top_of: list[str] = field(default_factory=list)  # adapters merged in before training
    settings: TuneSettings = field(default_factory=TuneSettings)
    title: str = ""
    system_prompt: str = CHAT_RULES


# -- what a run needs ----------------------------------------------------------------------

_BITS_PER_WEIGHT = {
    "F32": 32, "F16": 16, "BF16": 16, "Q8_0": 8.5, "Q6_K": 6.6, "Q5_0": 5.5, "Q5_1": 6,
    "Q5_K_S": 5.5, "Q5_K_M": 5.7, "Q4_0": 4.5, "Q4_1": 5, "Q4_K_S": 4.6, "Q4_K_M": 4.85,
    "Q3_K_S": 3.5, "Q3_K_M": 3.9, "Q3_K_L": 4.3, "Q2_K": 3.0, "IQ4_XS": 4.3, "IQ4_NL": 4.5,
}  # fmt: skip


def estimate_params(size_bytes: int, quantization: str) -> int:
    bits = _BITS_PER_WEIGHT.get(quantization.upper(), 4.5)
    return int(size_bytes * 8 / bits)


def memory_needed(params: int) -> int:
    """Bytes a LoRA run needs: float32 weights, a transient copy while loading, activations
    and the optimiser (small for LoRA), plus the Python/torch runtime."""
    return int(params * 4 * 2.5 + 1.0 * 1024**3)


def check_resources(model_path: Path, available: int | None = None) -> int:
    """Estimated parameter count; ``TuneError`` when the machine lacks the memory for it."""
    info = model_info(model_path)
    if info.file_type != "model":
        raise TuneError(f"{model_path.name} is not a model file.")
    if info.architecture not in SUPPORTED_ARCHS:
        raise TuneError(
            f"Tuning works with Llama, Mistral and Qwen models; {model_path.name} is a "
            f"'{info.architecture or 'unknown'}' model."
        )
    params = estimate_params(info.size_bytes, info.quantization)
    need = memory_needed(params)
    if available is None:
        import psutil

        available = int(psutil.virtual_memory().available)
    if need > available:
        raise TuneError(
            f"{info.name} has about {params / 1e9:.1f} billion parameters; tuning it on this "
            f"computer needs about {need / 1024**3:.0f} GB of free memory and "
            f"{available / 1024**3:.1f} GB is free. Tune a smaller model (up to about 1 billion "
            "parameters works well on a CPU), then use the adapter with it."
        )
    return params


# -- loading -------------------------------------------------------------------------------


def load_base(model_path: Path, threads: int | None) -> tuple[Any, Any, BaseShape]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    torch.set_num_threads(threads or os.cpu_count() or 1)
    folder, name = str(model_path.parent), model_path.name
    try:
        tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    except (ValueError, OSError, KeyError, RuntimeError) as exc:
        log.warning("cannot load %s for tuning: %s", model_path, exc)
        raise TuneError(
            f"{name} cannot be tuned: the tuning library cannot read this model file (its "
            "architecture or its quantization is not supported). Choose another model, for "
            "example the bundled SmolLM2."
        ) from exc
    model.config.use_cache = False
    cfg = model.config
    shape = BaseShape(
        architecture=model_info(model_path).architecture,
        n_heads=int(cfg.num_attention_heads),
        n_kv_heads=int(getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads),
    )
    return model, tok, shape


def merge_adapters(model: Any, model_path: Path, shape: BaseShape, paths: Sequence[Path]) -> None:
    """Fold earlier adapters (a CPT run, usually) into the float32 weights before training."""
    for p in paths:
        info = check_adapter(Path(p), model_path, shape.architecture)
        tensors = read_adapter_tensors(Path(p), shape)
        for name, (a, b) in tensors.items():
            merge_into_base(model, name, a, b, info.alpha / a.shape[0])


# -- data to token batches -----------------------------------------------------------------


@dataclass
class TokenExample:
    ids: list[int]
    labels: list[int]  # -100 where no loss is taken


def _messages(ex: Example, system_prompt: str) -> list[dict[str, str]]:
    msgs = [{"role": r, "content": c} for r, c in ex.messages]
    if msgs[0]["role"] != "system" and system_prompt:
        msgs.insert(0, {"role": "system", "content": system_prompt})
    return msgs


def render_prompt(tok: Any, messages: list[dict[str, str]]) -> str:
    return str(tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))


def encode_example(tok: Any, ex: Example, system_prompt: str, max_length: int) -> TokenExample:
    """Prompt tokens masked, the answer and its end-of-turn token learned."""
    msgs = _messages(ex, system_prompt)
    prompt_text = render_prompt(tok, msgs[:-1])
    full_text = str(tok.apply_chat_template(msgs, tokenize=False))
    if not full_text.startswith(prompt_text):  # a template that rewrites earlier turns
        raise ValueError("the chat template renders this example inconsistently")
    p_ids = tok(prompt_text, add_special_tokens=False).input_ids
    r_ids = tok(full_text[len(prompt_text) :], add_special_tokens=False).input_ids
    eos = tok.eos_token_id
    # Learn up to and including the end-of-turn token (what follows it is layout).
    r_ids = r_ids[: r_ids.index(eos) + 1] if eos in r_ids else [*r_ids, eos]
    ids = (p_ids + r_ids)[:max_length]
    labels = ([-100] * len(p_ids) + r_ids)[:max_length]
    if all(x == -100 for x in labels):
        raise ValueError(f"the prompt alone is longer than {max_length} tokens")
    return TokenExample(ids, labels)


def encode_texts(tok: Any, texts: Sequence[str], block: int) -> list[TokenExample]:
    """Documents joined with end-of-sequence tokens, cut into blocks for next-token training."""
    stream: list[int] = []
    for text in texts:
        stream += tok(text, add_special_tokens=False).input_ids
        stream.append(tok.eos_token_id)
    blocks = []
    for start in range(0, len(stream), block):
        ids = stream[start : start + block]
        if len(ids) >= min(32, block):
            blocks.append(TokenExample(ids, list(ids)))
    return blocks


def batches(
    items: Sequence[TokenExample], size: int, pad_id: int, rng: random.Random | None
) -> list[tuple[Any, Any, Any]]:
    """(input_ids, attention_mask, labels) tensors, each batch padded to its longest example.
    Examples of similar length go together, so little is spent on padding."""
    import torch

    order = sorted(range(len(items)), key=lambda i: len(items[i].ids))
    groups = [order[i : i + size] for i in range(0, len(order), size)]
    if rng is not None:
        rng.shuffle(groups)
    out = []
    for group in groups:
        width = max(len(items[i].ids) for i in group)
        ids = torch.full((len(group), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(group), width), dtype=torch.long)
        labels = torch.full((len(group), width), -100, dtype=torch.long)
        for row, i in enumerate(group):
            n = len(items[i].ids)
            ids[row, :n] = torch.tensor(items[i].ids)
            mask[row, :n] = 1
            labels[row, :n] = torch.tensor(items[i].labels)
        out.append((ids, mask, labels))
    return out


def _loss(model: Any, ids: Any, mask: Any, labels: Any) -> Any:
    """Next-token cross-entropy on the labelled positions only. The output layer (the whole
    vocabulary) runs just where a label is, which saves a good share of each step when the
    prompt part of an example is masked."""
    import torch

    hidden = model.model(input_ids=ids, attention_mask=mask).last_hidden_state[:, :-1]
    target = labels[:, 1:]
    keep = target != -100
    logits = model.lm_head(hidden[keep])
    return torch.nn.functional.cross_entropy(logits.float(), target[keep])


# -- evaluation ----------------------------------------------------------------------------

# General skills a tuned model must keep (a regression check, not a benchmark).
PROBES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("What is 2 + 3? Answer with the number only.", ("5", "five")),
    ("What is the capital of France?", ("paris",)),
    ("Reply with the single word: yes", ("yes",)),
    (
        "Summarise in one sentence: The staff meeting moved from Monday to Wednesday because "
        "the projector in room 4 was broken.",
        ("wednesday",),
    ),
    ("Name a colour of the sky on a clear day.", ("blue",)),
)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def similarity(answer: str, expected: str) -> float:
    """Token F1 between an answer and the expected answer (0..1)."""
    a, e = _words(answer), _words(expected)
    if not a or not e:
        return 0.0
    common = 0
    pool = list(e)
    for w in a:
        if w in pool:
            pool.remove(w)
            common += 1
    if not common:
        return 0.0
    p, r = common / len(a), common / len(e)
    return 2 * p * r / (p + r)


def exact_match(answer: str, expected: str) -> bool:
    return _words(answer) == _words(expected)


def generate_answer(model: Any, tok: Any, messages: list[dict[str, str]], max_tokens: int) -> str:
    import torch

    text = render_prompt(tok, messages)
    ids = tok(text, add_special_tokens=False, return_tensors="pt").input_ids
    with torch.no_grad():
        out = model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=max_tokens,
            do_sample=False,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.eos_token_id,
            use_cache=True,
        )
    return str(tok.decode(out[0, ids.shape[1] :], skip_special_tokens=True)).strip()


def perplexity(model: Any, items: Sequence[TokenExample], pad_id: int) -> float:
    import torch

    total, count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for ids, mask, labels in batches(items, 4, pad_id, None):
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
            target = labels[:, 1:]
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), target.reshape(-1), reduction="sum"
            )
            total += float(loss)
            count += int((target != -100).sum())
    return math.exp(total / max(1, count))


# -- the run -------------------------------------------------------------------------------


@dataclass
class TuneResult:
    kind: str
    adapter: str
    base: str
    on_top_of: list[str]
    examples: int
    held_out: int
    steps: int
    seconds: float
    seconds_per_step: float
    peak_rss_mb: float
    losses: list[float]
    evaluation: list[dict[str, Any]]  # rows: metric, before, after
    samples: list[dict[str, str]]  # held-out prompt, expected, before, after
    data_errors: list[str]
    settings: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def report_path(adapter: Path) -> Path:
    return Path(adapter).with_suffix(".json")


def _peak_rss_mb() -> float:
    """Peak resident memory of this process in MB (Linux/macOS: getrusage; Windows: psutil)."""
    try:
        import resource
    except ImportError:
        import psutil

        info = psutil.Process().memory_info()
        return float(getattr(info, "peak_wset", info.rss)) / 2**20
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 2**20 if sys.platform == "darwin" else kb / 1024  # macOS reports bytes


def run_tune(spec: TuneSpec, emit: Emit, should_stop: Callable[[], bool]) -> TuneResult:
    """Train, evaluate and export one adapter. Raises TuneError / Cancelled."""
    import torch

    s = spec.settings
    started = time.monotonic()
    base_path = Path(spec.base)
    out_path = Path(spec.out)
    check_resources(base_path)
    if spec.kind not in ("cpt", "ift"):
        raise TuneError(f"Unknown tuning kind '{spec.kind}' (use cpt or ift).")

    # Data first: a bad file should fail in a second, not after loading the model.
    data_errors: list[str] = []
    examples: list[Example] = []
    texts: list[str] = list(spec.texts)
    if spec.kind == "ift":
        if len(spec.data) != 1:
            raise TuneError("Instruction tuning needs one file of question/answer pairs.")
        pairs = load_pairs(Path(spec.data[0]))
        examples, data_errors = pairs.examples, list(pairs.errors)
    elif spec.data:
        more, data_errors = load_texts([Path(p) for p in spec.data])
        texts += more
    if spec.kind == "cpt" and not any(t.strip() for t in texts):
        why = f": {data_errors[0]}" if data_errors else "."
        raise TuneError("There is no text to train on" + why)

    emit({"type": "stage", "text": "Loading the model"})
    model, tok, shape = load_base(base_path, s.threads)
    if should_stop():
        raise Cancelled("Tuning stopped; no adapter was written.")
    if spec.on_top_of:
        emit({"type": "stage", "text": "Adding the earlier adapter"})
        merge_adapters(model, base_path, shape, [Path(p) for p in spec.on_top_of])
    pad_id = tok.eos_token_id

    held: list[Example] = []
    if spec.kind == "ift":
        train_ex, held = split_held_out(examples, s.held_out, s.seed)
        train_items: list[TokenExample] = []
        for ex in train_ex:
            try:
                train_items.append(encode_example(tok, ex, spec.system_prompt, s.max_length))
            except ValueError as exc:
                data_errors.append(f"line {ex.line}: {exc}")
        held_items: list[TokenExample] = []
    else:
        blocks = encode_texts(tok, texts, s.max_length)
        n_held = max(1, round(len(blocks) * 0.1)) if len(blocks) >= 2 else 0
        train_items, held_items = blocks[: len(blocks) - n_held], blocks[len(blocks) - n_held :]
    if not train_items:
        raise TuneError("No training examples are left after checking the data.")
    emit(
        {
            "type": "data",
            "examples": len(train_items),
            "held_out": len(held) or len(held_items),
            "errors": data_errors[:50],
        }
    )

    torch.manual_seed(s.seed)
    loras = apply_lora(model, s.rank, s.alpha, s.dropout)

    # Evaluation before training (the LoRA starts as an exact no-op: B is zero).
    emit({"type": "stage", "text": "Measuring the model before training"})
    before = _evaluate(model, tok, spec, held, held_items, pad_id, should_stop)

    rng = random.Random(s.seed)
    steps_per_epoch = math.ceil(len(train_items) / s.batch_size)
    total = steps_per_epoch * s.epochs
    params = [p for layer in loras.values() for p in (layer.lora_A, layer.lora_B)]
    optim = torch.optim.AdamW(params, lr=s.learning_rate, weight_decay=0.0)
    warmup = max(1, total // 10)

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.05, 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup))))

    sched = torch.optim.lr_scheduler.LambdaLR(optim, lr_at)
    losses: list[float] = []
    step = 0
    train_started = time.monotonic()
    model.train()
    emit({"type": "stage", "text": "Training"})
    for epoch in range(s.epochs):
        for ids, mask, labels in batches(train_items, s.batch_size, pad_id, rng):
            if should_stop():
                raise Cancelled("Tuning stopped; no adapter was written.")
            loss = _loss(model, ids, mask, labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optim.step()
            sched.step()
            optim.zero_grad(set_to_none=True)
            step += 1
            value = float(loss.detach())
            if not math.isfinite(value):
                raise TuneError(
                    "Training diverged (the loss is not a number). Try a lower learning rate."
                )
            losses.append(value)
            spent = time.monotonic() - train_started
            emit(
                {
                    "type": "step",
                    "step": step,
                    "steps": total,
                    "epoch": epoch + 1,
                    "loss": value,
                    "eta_s": spent / step * (total - step),
                }
            )
    train_seconds = time.monotonic() - train_started
    model.eval()

    emit({"type": "stage", "text": "Measuring the model after training"})
    after = _evaluate(model, tok, spec, held, held_items, pad_id, should_stop)

    emit({"type": "stage", "text": "Writing the adapter"})
    title = spec.title or out_path.stem
    meta = adapter_meta(
        spec.kind,
        base_path,
        model_info(base_path).name,
        [Path(p) for p in spec.on_top_of],
        title,
    )
    write_adapter(out_path, tensors_from_loras(loras), s.alpha, shape, meta)

    evaluation, samples = _compare(before, after)
    result = TuneResult(
        kind=spec.kind,
        adapter=str(out_path),
        base=str(base_path),
        on_top_of=list(spec.on_top_of),
        examples=len(train_items),
        held_out=len(held) or len(held_items),
        steps=step,
        seconds=time.monotonic() - started,
        seconds_per_step=train_seconds / max(1, step),
        peak_rss_mb=_peak_rss_mb(),
        losses=losses,
        evaluation=evaluation,
        samples=samples,
        data_errors=data_errors,
        settings=asdict(s),
    )
    tmp = report_path(out_path).with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result.to_json(), indent=1), encoding="utf-8")
    os.replace(tmp, report_path(out_path))
    return result


@dataclass
class _Eval:
    perplexity: float | None = None
    answers: list[tuple[Example, str]] = field(default_factory=list)
    probes: list[bool] = field(default_factory=list)


def _evaluate(
    model: Any,
    tok: Any,
    spec: TuneSpec,
    held: Sequence[Example],
    held_items: Sequence[TokenExample],
    pad_id: int,
    should_stop: Callable[[], bool],
) -> _Eval:
    s = spec.settings
    ev = _Eval()
    if spec.kind == "cpt":
        if held_items:
            ev.perplexity = perplexity(model, held_items, pad_id)
        return ev
    for ex in held:
        if should_stop():
            raise Cancelled("Tuning stopped; no adapter was written.")
        msgs = _messages(ex, spec.system_prompt)[:-1]
        ev.answers.append((ex, generate_answer(model, tok, msgs, s.eval_max_tokens)))
    if s.probes:
        for question, accepted in PROBES:
            if should_stop():
                raise Cancelled("Tuning stopped; no adapter was written.")
            msgs = [
                {"role": "system", "content": spec.system_prompt},
                {"role": "user", "content": question},
            ]
            answer = generate_answer(model, tok, msgs, 16).casefold()
            ev.probes.append(any(a in answer for a in accepted))
    return ev


def _compare(before: _Eval, after: _Eval) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    rows: list[dict[str, Any]] = []
    samples: list[dict[str, str]] = []
    if before.perplexity is not None and after.perplexity is not None:
        rows.append(
            {
                "metric": "Perplexity on held-out text (lower is better)",
                "before": round(before.perplexity, 3),
                "after": round(after.perplexity, 3),
            }
        )
    if before.answers:
        n = len(before.answers)

        def sim(ev: _Eval) -> float:
            return sum(similarity(a, ex.response) for ex, a in ev.answers) / n

        def em(ev: _Eval) -> float:
            return sum(exact_match(a, ex.response) for ex, a in ev.answers) / n

        rows.append(
            {
                "metric": f"Answer similarity on {n} held-out pairs (0-1)",
                "before": round(sim(before), 3),
                "after": round(sim(after), 3),
            }
        )
        rows.append(
            {
                "metric": "Exact match on held-out pairs",
                "before": round(em(before), 3),
                "after": round(em(after), 3),
            }
        )
        for (ex, b), (_, a) in zip(before.answers, after.answers, strict=True):
            samples.append({"prompt": ex.prompt, "expected": ex.response, "before": b, "after": a})
    if before.probes:
        rows.append(
            {
                "metric": f"General skills probes passed (of {len(before.probes)})",
                "before": sum(before.probes),
                "after": sum(after.probes),
            }
        )
    return rows, samples
