"""llama-cpp-python backend: any GGUF model, its own chat template, streaming, KV-prefix reuse."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import Cancelled, ModelError
from ..progress import CancelToken
from ..prompts import ChatMessage
from .base import GenerationStats, Generator, GenSettings
from .gguf import model_info
from .loading import (
    LOAD_STOPPED,
    PREPARING,
    READ_SHARE,
    READING,
    LoadCallback,
    LoadProgress,
    read_ahead,
    worth_reading_first,
)

_SENTINEL = re.compile("\x00(\\d+)\x00")

# Used when a model file carries no chat template of its own.
CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_load_lock = threading.Lock()

# Prompt reading in slices, so that Stop is heard while a long prompt is read (see _read_prompt).
SLICE_FIRST = 64
SLICE_MIN = 16
SLICE_SECONDS = 0.15


def gpu_offload_available() -> bool:
    """True when this llama.cpp build has a GPU backend (CUDA, Metal, Vulkan, ...)."""
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


def resolve_gpu_layers(setting: int) -> int:
    """-1 ("auto") becomes all layers with a GPU backend, else 0."""
    if setting >= 0:
        return setting
    return -1 if gpu_offload_available() else 0


def repack_enabled() -> bool:
    """llama.cpp repacks weights for the CPU's wide instructions (AVX-512, AMX) unless
    ``FOLIO_LLAMA_REPACK=0``: on some virtual machines those kernels crash the process on the
    first prompt, and switching repacking off (slower prompts) avoids it."""
    return os.environ.get("FOLIO_LLAMA_REPACK", "1").strip() != "0"


@contextmanager
def _model_params(repack: bool, progress: LoadProgress | None) -> Iterator[None]:
    """llama-cpp-python has no arguments for weight repacking or llama.cpp's load progress: set
    those model parameters while loading (hold ``_load_lock``). The progress callback answers
    llama.cpp's reports; returning False from it makes llama.cpp stop the load."""
    import llama_cpp
    import llama_cpp.llama as module

    if repack and progress is None:
        yield
        return
    original = module.llama_cpp.llama_model_default_params

    def on_progress(fraction: float, _user_data: Any) -> bool:
        # An exception cannot cross into C: ctypes would answer False, which stops the load.
        try:
            return progress is None or progress.report(fraction)
        except Exception:
            logging.getLogger("folio.generate").exception("model load progress failed")
            return True
        except BaseException as exc:  # Ctrl+C on a terminal: stop llama.cpp, then raise it
            assert progress is not None
            progress.interrupted = exc
            return False

    # Kept referenced until the load is over: llama.cpp calls it from C.
    callback = llama_cpp.llama_progress_callback(on_progress)

    def params() -> Any:
        p = original()
        if not repack:
            p.use_extra_bufts = False
        if progress is not None:
            p.progress_callback = callback
        return p

    module.llama_cpp.llama_model_default_params = params
    try:
        yield
    finally:
        module.llama_cpp.llama_model_default_params = original


class LlamaGenerator(Generator):
    def __init__(
        self,
        path: Path,
        settings: GenSettings | None = None,
        adapters: Sequence[tuple[Path, float]] = (),
        progress: LoadCallback | None = None,
        cancel: CancelToken | None = None,
    ):
        """Load the model at ``path``. ``progress`` hears (fraction of the load done, stage) as
        it goes (see loading.py); setting ``cancel`` stops the load with Cancelled, and the
        next load works as usual."""
        self.settings = settings or GenSettings()
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"The model file does not exist: {path}")
        info = model_info(path)  # raises ModelError for a file that is not GGUF
        if info.file_type != "model":
            raise ModelError(f"{path.name} is a {info.file_type} file, not a model.")
        self.info = info
        self.path = str(path)
        self.name = info.name
        trained = info.context_length or self.settings.n_ctx
        self.n_ctx = max(64, min(trained, self.settings.n_ctx))
        threads = self.settings.threads or os.cpu_count() or 1
        self.gpu_layers = resolve_gpu_layers(self.settings.gpu_layers)
        import llama_cpp

        kwargs: dict[str, Any] = {
            "n_ctx": self.n_ctx,
            "n_threads": threads,
            "n_threads_batch": threads,
            "n_gpu_layers": self.gpu_layers,
            "seed": self.settings.seed,
            "verbose": False,
        }
        tracker = None
        if progress is not None or cancel is not None:
            tracker = LoadProgress(progress, cancel)
        try:
            with _load_lock:
                if tracker is not None:
                    tracker.check()
                    if worth_reading_first(path, path.stat().st_size):
                        tracker.stage(0.0, READ_SHARE, READING)
                        read_ahead(path, tracker)
                        tracker.stage(READ_SHARE, 1.0, PREPARING)
                with _model_params(repack_enabled(), tracker):
                    self._llm = llama_cpp.Llama(str(path), **kwargs)
        except (ValueError, RuntimeError, OSError) as exc:
            if tracker is not None and tracker.interrupted is not None:
                raise tracker.interrupted from None
            if tracker is not None and cancel is not None and cancel.cancelled:
                raise Cancelled(LOAD_STOPPED) from None  # llama.cpp stopped as asked
            logging.getLogger("folio.generate").warning("model %s not loaded: %s", path, exc)
            raise ModelError(
                f"Folio could not load the model {path.name}. The file may be damaged, or made "
                "for a newer version of Folio; try another model file."
            ) from exc
        if tracker is not None:
            tracker.finish()
        self._vocab = self._llm._model.vocab
        meta = self._llm.metadata
        self._template_src = meta.get("tokenizer.chat_template") or CHATML
        self._template: Any = None
        self._bos_text = self._token_text(self._llm.token_bos())
        self._eos_text = self._token_text(self._llm.token_eos())
        self._speed: float | None = None
        self._adapter_handles: dict[tuple[str, int], Any] = {}
        self.adapters: list[tuple[Path, float]] = []
        if adapters:
            self.set_adapters(adapters)

    # -- LoRA adapters -----------------------------------------------------------------------

    def set_adapters(self, adapters: Sequence[tuple[Path, float]]) -> None:
        """Use these GGUF LoRA adapters (path, scale) from the next answer on; an empty list
        goes back to the plain model. Each adapter is checked against this model first
        (``AdapterError`` when it belongs to another base); loaded ones are kept for reuse, so
        switching back and forth is instant."""
        import ctypes

        import llama_cpp

        from ..tune.adapter import check_adapter

        handles = []
        for path, _scale in adapters:
            path = Path(path)
            check_adapter(path, Path(self.path), self.info.architecture)
            key = (str(path.resolve()), path.stat().st_mtime_ns)
            handle = self._adapter_handles.get(key)
            if handle is None:
                with _load_lock:
                    handle = llama_cpp.llama_adapter_lora_init(
                        self._llm._model.model, str(path).encode("utf-8")
                    )
                if not handle:
                    raise ModelError(
                        f"Folio could not load the adapter {path.name}; it may be damaged."
                    )
                self._adapter_handles[key] = handle
            handles.append(handle)
        n = len(handles)
        arr = (llama_cpp.llama_adapter_lora_p_ctypes * max(1, n))(*handles)
        scales = (ctypes.c_float * max(1, n))(*[float(sc) for _p, sc in adapters])
        if llama_cpp.llama_set_adapters_lora(self._llm._ctx.ctx, arr, n, scales):
            raise ModelError("llama.cpp refused the adapters.")
        self.adapters = [(Path(p), float(sc)) for p, sc in adapters]
        # Cached prompt state was computed with the previous weights.
        self._llm.reset()

    # -- tokens ----------------------------------------------------------------------------

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        try:
            return str(self._llm._model.token_get_text(token))
        except Exception:  # a model without that token
            return ""

    def count(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _render(self, messages: list[dict[str, str]]) -> str:
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        if self._template is None:

            def raise_exception(message: str) -> None:
                raise ValueError(message)

            env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
            env.globals["raise_exception"] = raise_exception
            env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
            self._template = env.from_string(self._template_src)
        return str(
            self._template.render(
                messages=messages,
                add_generation_prompt=True,
                bos_token=self._bos_text,
                eos_token=self._eos_text,
            )
        )

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> list[int]:
        # Untrusted segments are replaced by numbered sentinels before the template runs, then
        # tokenized on their own with special=False: a document that contains "<|im_start|>"
        # yields plain text tokens, never a control token.
        untrusted: list[str] = []
        plain: list[dict[str, str]] = []
        for m in messages:
            content = []
            for part in m.parts:
                if part.trusted:
                    content.append(part.text.replace("\x00", ""))
                else:
                    content.append(f"\x00{len(untrusted)}\x00")
                    untrusted.append(part.text.replace("\x00", ""))
            plain.append({"role": m.role, "content": "".join(content)})
        try:
            rendered = self._render(plain)
        except Exception:  # templates that refuse a system role
            if plain and plain[0]["role"] == "system" and len(plain) > 1:
                merged = dict(plain[1])
                merged["content"] = plain[0]["content"] + "\n\n" + merged["content"]
                rendered = self._render([merged, *plain[2:]])
            else:
                raise
        tokens: list[int] = []
        add_bos = bool(self._llm._model.add_bos_token())
        if self._bos_text and rendered.startswith(self._bos_text):
            rendered = rendered[len(self._bos_text) :]
            add_bos = True
        if add_bos and self._llm.token_bos() >= 0:
            tokens.append(self._llm.token_bos())
        pos = 0
        for match in _SENTINEL.finditer(rendered):
            tokens += self._tok(rendered[pos : match.start()], special=True)
            tokens += self._tok(untrusted[int(match.group(1))], special=False)
            pos = match.end()
        tokens += self._tok(rendered[pos:], special=True)
        return tokens

    def _tok(self, text: str, special: bool) -> list[int]:
        if not text:
            return []
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=special))

    def detokenize(self, tokens: Sequence[int]) -> str:
        return self._llm.detokenize(list(tokens), special=True).decode("utf-8", errors="replace")

    # -- generation ------------------------------------------------------------------------

    def _token_stream(
        self, tokens: list[int], stats: GenerationStats, cancel: CancelToken | None = None
    ) -> Iterator[tuple[int | None, bytes]]:
        import llama_cpp

        llm = self._llm
        # llama-cpp-python keeps the previous call's tokens; generate() evaluates only the part
        # after the longest shared prefix, so a follow-up question pays for its new tokens only.
        shared = 0
        for a, b in zip(llm._input_ids[: llm.n_tokens], tokens, strict=False):
            if a != b:
                break
            shared += 1
        stats.cached_tokens = min(shared, max(0, len(tokens) - 1))
        if not self._read_prompt(tokens, stats.cached_tokens, cancel):
            return  # stopped while reading the prompt
        s = self.settings
        for token in llm.generate(
            tokens,
            temp=s.temperature,
            top_k=s.top_k,
            top_p=s.top_p,
            min_p=s.min_p,
            repeat_penalty=s.repeat_penalty,
            reset=True,
        ):
            if llama_cpp.llama_vocab_is_eog(self._vocab, token):
                yield None, b""
                return
            yield token, self._piece(token)

    def _read_prompt(self, tokens: list[int], shared: int, cancel: CancelToken | None) -> bool:
        """Evaluate the prompt (all but its last token) in slices, checking ``cancel`` between
        them; False when stopped. generate() then finds the prompt cached and reads only the
        last token, so the answer is the same as without slicing.

        Slices start at ``SLICE_FIRST`` tokens and are sized to take about
        ``SLICE_SECONDS`` each on this machine: Stop waits for at most one slice, while the
        batches stay large enough for the matrix kernels to run at full speed.
        """
        llm = self._llm
        end = len(tokens) - 1
        if cancel is None or end - shared < SLICE_FIRST or self._recurrent():
            return True  # nothing worth slicing (or a model whose memory cannot be cut back)
        if shared == 0:
            llm.reset()
        else:
            llm.n_tokens = shared  # eval() drops the cached tokens after the shared prefix
        pos, size = shared, SLICE_FIRST
        while pos < end:
            if cancel.cancelled:
                return False
            piece = tokens[pos : min(end, pos + size)]
            started = time.perf_counter()
            llm.eval(piece)
            took = time.perf_counter() - started
            pos += len(piece)
            if took > 0:  # aim the next slice at SLICE_SECONDS
                size = int(len(piece) * SLICE_SECONDS / took)
                size = max(SLICE_MIN, min(llm.n_batch, size))
        return not cancel.cancelled

    def _recurrent(self) -> bool:
        llm = self._llm
        return bool(getattr(llm, "_is_recurrent", False) or getattr(llm, "_is_hybrid", False))

    def _piece(self, token: int) -> bytes:
        """The bytes of one token's text (may be part of a UTF-8 character)."""
        import ctypes

        import llama_cpp

        size = 64
        while True:
            buf = ctypes.create_string_buffer(size)
            n = llama_cpp.llama_token_to_piece(self._vocab, token, buf, size, 0, False)
            if n >= 0:
                return buf.raw[:n]
            size = -n

    def close(self) -> None:
        """Free the model's memory now (the generator must not be used afterwards)."""
        llm = getattr(self, "_llm", None)
        if llm is not None:
            llm.close()

    def reset_cache(self) -> None:
        """Forget the cached prompt (the next call evaluates its whole prompt)."""
        self._llm.reset()

    def parameters(self) -> int:
        try:
            return int(self._llm._model.n_params())
        except (AttributeError, ValueError):
            return 0

    def prompt_speed(self) -> float:
        """Prompt tokens per second on this machine, measured once (about a second)."""
        if self._speed is None:
            sample = ("The quarterly report lists revenue, costs and staff changes. " * 40)[:2000]
            toks = self._tok(sample, special=False)[:256]
            self._llm.reset()
            t0 = time.perf_counter()
            self._llm.eval(toks)
            elapsed = time.perf_counter() - t0
            self._llm.reset()
            self._speed = len(toks) / elapsed if elapsed > 0 else 0.0
        return self._speed

    def describe(self) -> dict[str, object]:
        return {
            **self.info.to_json(),
            "adapters": [{"path": str(p), "scale": sc} for p, sc in self.adapters],
            "n_ctx": self.n_ctx,
            "gpu_layers": self.gpu_layers,
            "gpu_backend": gpu_offload_available(),
        }

    @staticmethod
    def dumps_settings(settings: GenSettings) -> str:
        return json.dumps(settings.__dict__, sort_keys=True)
