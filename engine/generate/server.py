"""A model server in the organisation: any OpenAI-compatible chat-completions server.

llama.cpp's ``llama-server``, llama-cpp-python's server, vLLM, Ollama and LM Studio all take
chat messages at ``/v1/chat/completions`` and stream the answer as server-sent events. Folio
sends the chat *messages* (the server applies the model's own chat template) and reads the
stream with the standard library's ``http.client``: one connection per answer, closed at once
on Stop, to exactly the configured host and port and nowhere else.

The prompt budget (engine/budget.py) measures prompts in tokens. How this backend counts:

1. The server's own tokenizer when it offers one (``/tokenize`` on llama.cpp and vLLM,
   ``/extras/tokenize`` on llama-cpp-python's server): each message's text is counted exactly,
   and ``TEMPLATE_TOKENS_PER_MESSAGE`` plus ``TEMPLATE_TOKENS_FIXED`` cover what the chat
   template adds around the messages (role headers, end-of-turn marks, the answer's start).
2. Otherwise, when a local GGUF model Folio knows (the default one, the user's added ones) is
   of the same family as the server's model (its name says "smollm2", "llama-3", "qwen2.5",
   …; see generate/families.py), that model's tokenizer — its vocabulary alone is loaded —
   plus a 10 % margin (``families.LOCAL_MARGIN``) and one token per piece, since the server's
   tokenizer version and template may differ a little.
3. Otherwise one token per UTF-8 byte (plus one per piece): no tokenizer in use produces more
   tokens than bytes, so the prompt cannot overflow, at the price of sending about a quarter of
   the sources a real count would allow.

The context size is the server's when it reports one (llama.cpp ``/props``, vLLM's
``max_model_len`` in ``/v1/models``), else the ``n_ctx`` setting, which must then be at most the
server's (llama-cpp-python's server: ``--n_ctx``). A prompt the server still refuses as too
long is reported as such, never cut silently.

A document that contains a chat-template control mark ("<|im_start|>", "<|eot_id|>", …) could
act as one once the server renders the template, so such marks in document text are broken with
a zero-width space before they are sent (the in-process backend tokenizes them as plain text).
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import socket
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from ..errors import ModelError
from ..progress import CancelToken
from ..prompts import ChatMessage
from .base import GenerationStats, Generator, GenSettings
from .families import LOCAL_MARGIN, LocalCounter, known_local_models, matching_local_model

log = logging.getLogger("folio.generate.server")

TEMPLATE_TOKENS_PER_MESSAGE = 8  # "<|im_start|>user\n" … "<|im_end|>\n" and the like
TEMPLATE_TOKENS_FIXED = 16  # begin-of-text, the answer's header, a template's own additions
# Marks like <|im_start|>, <|eot_id|>, <start_of_turn>, [INST], </s>: broken in document text.
_CONTROL = re.compile(r"<\|[^|<>\s]{1,40}\|>|<(?:start|end)_of_turn>|\[/?INST\]|</?s>")
_ZWSP = "\u200b"
_ROLE_MARK = {"system": -1, "user": -2, "assistant": -3}


def _neutralise(text: str) -> str:
    """Break chat-template control marks in document text ("<|im_end|>" -> "<\u200b|im_end|>")."""
    return _CONTROL.sub(lambda m: m.group(0)[:1] + _ZWSP + m.group(0)[1:], text)


class ServerError(ModelError):
    """The model server could not be reached or refused the request; the message says why."""


@dataclass(frozen=True)
class ServerConfig:
    """Where answers come from when they do not come from this computer."""

    url: str  # e.g. http://10.0.0.5:8080 or http://127.0.0.1:8080/v1
    model: str = ""  # "" : the first model the server lists
    api_key: str = ""
    connect_timeout_s: float = 10.0
    # Longest wait for the next piece of the answer (the first one includes reading the prompt).
    read_timeout_s: float = 300.0

    def endpoint(self) -> tuple[str, str, int, str]:
        """(scheme, host, port, base path without /v1); ServerError for an unusable URL."""
        return parse_url(self.url)


def parse_url(url: str) -> tuple[str, str, int, str]:
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ServerError(f"“{url}” is not a server address Folio can use.") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServerError(
            f"“{url}” is not a server address Folio can use. Write it like http://server-name:8080."
        )
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        path = path[: -len("/v1")]
    return parts.scheme, parts.hostname, port, path


KEY_FILE = "server-key"


def load_api_key(home: Path) -> str:
    """The model server's key from Folio's home (``server-key``, readable by the user only);
    "" when there is none."""
    try:
        return (Path(home) / KEY_FILE).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def save_api_key(home: Path, key: str) -> Path:
    """Keep the key in a file only its owner can read (0600), or remove it when ``key`` is
    empty."""
    import os

    path = Path(home) / KEY_FILE
    if not key.strip():
        path.unlink(missing_ok=True)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key.strip() + "\n")
    os.chmod(path, 0o600)
    return path


def where(config: ServerConfig) -> str:
    """The host:port answers come from, for the window and the CLI."""
    _scheme, host, port, _path = config.endpoint()
    return f"{host}:{port}"


class _Client:
    """Plain JSON-over-HTTP calls to one host and port (no proxies, no redirects)."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.scheme, self.host, self.port, self.base = config.endpoint()

    def connect(self, timeout: float) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        return cls(self.host, self.port, timeout=timeout)

    def headers(self) -> dict[str, str]:
        h = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.config.api_key:
            h["Authorization"] = f"Bearer {self.config.api_key}"
        return h

    def open(
        self, method: str, path: str, body: object = None, timeout: float | None = None
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        conn = self.connect(self.config.connect_timeout_s)
        data = None if body is None else json.dumps(body).encode("utf-8")
        try:
            conn.request(method, self.base + path, body=data, headers=self.headers())
            if conn.sock is not None:
                conn.sock.settimeout(timeout or self.config.read_timeout_s)
            response = conn.getresponse()
        except BaseException as exc:
            conn.close()
            raise self.unreachable(exc) from exc
        return conn, response

    def call(self, method: str, path: str, body: object = None, timeout: float = 30.0) -> Any:
        """A JSON answer; ServerError (with the HTTP status in ``status``) otherwise."""
        conn, response = self.open(method, path, body, timeout)
        try:
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise self.unreachable(exc) from exc
        finally:
            conn.close()
        if response.status != 200:
            raise self.refused(response.status, raw, path)
        try:
            return json.loads(raw.decode("utf-8", "replace"))
        except ValueError as exc:
            raise ServerError(
                f"The server at {self.host}:{self.port} answered, but not like a model server."
            ) from exc

    def unreachable(self, exc: BaseException) -> ServerError:
        at = f"{self.host}:{self.port}"
        log.warning("model server %s: %r", at, exc)
        if isinstance(exc, ConnectionRefusedError):
            text = (
                f"Nothing answered at {at}: the model server is not running there, or the "
                "address or port Folio was given is wrong."
            )
        elif isinstance(exc, TimeoutError | socket.timeout):
            text = (
                f"The model server at {at} did not answer in time. It may be busy or "
                "unreachable from this computer; try again in a moment."
            )
        elif isinstance(exc, socket.gaierror):
            text = f"Folio cannot find the server “{self.host}” on the network. Check its name."
        else:
            text = f"Folio lost the connection to the model server at {at}."
        err = ServerError(text + " Your question is kept; ask again when the server is back.")
        err.status = 0  # type: ignore[attr-defined]
        return err

    def refused(self, status: int, raw: bytes, path: str) -> ServerError:
        at = f"{self.host}:{self.port}"
        detail = raw.decode("utf-8", "replace")[:500]
        log.info("model server %s%s: HTTP %s %s", at, path, status, detail)
        if status in (401, 403):
            text = (
                f"The model server at {at} refused Folio's key. Enter the key your IT "
                "department gave you in the settings."
            )
        elif status == 404:
            text = (
                f"The model server at {at} has no model “{self.config.model}”, or this address "
                "is not an OpenAI-compatible server. Pick a model from the list in the settings."
                if path.endswith("completions")
                else (
                    f"The server at {at} answered, but it is not an OpenAI-compatible model "
                    "server at this address (it lists no models). Check the address with your "
                    "IT department, including anything written after the port."
                )
                if path.endswith("/v1/models")
                else f"The server at {at} does not offer {path}."
            )
        elif status == 429:
            text = (
                f"The model server at {at} is busy with other people's questions. "
                "Try again in a moment."
            )
        elif status == 400 and re.search(r"context|too long|tokens", detail, re.I):
            text = (
                f"The model server at {at} says the question and its sources are too long "
                "for its model. Lower the context size in the settings to what the server uses."
            )
        elif status >= 500:
            text = (
                f"The model server at {at} had a problem of its own (error {status}). "
                "Try again later, or tell your IT department."
            )
        else:
            text = f"The model server at {at} refused the request (error {status})."
        err = ServerError(text + " Your question is kept.")
        err.status = status  # type: ignore[attr-defined]
        return err


def list_models(config: ServerConfig) -> list[str]:
    """The model names the server offers (``/v1/models``)."""
    data = _Client(config).call("GET", "/v1/models", timeout=config.connect_timeout_s)
    items = data.get("data", []) if isinstance(data, dict) else []
    return [str(m.get("id")) for m in items if isinstance(m, dict) and m.get("id")]


class ServerGenerator(Generator):
    """Answers from an OpenAI-compatible server. See the module docstring for the budget."""

    # Where each kind of server offers its tokenizer (tried in this order).
    TOKENIZE_PATHS: ClassVar[dict[str, str]] = {
        "llama-cpp-python": "/extras/tokenize",
        "llama.cpp": "/tokenize",
        "vllm": "/tokenize",
    }

    def __init__(
        self,
        config: ServerConfig,
        settings: GenSettings | None = None,
        local_models: Sequence[Path] | None = None,
    ) -> None:
        """``local_models``: GGUF files whose tokenizer may stand in for a server without one
        (None: the default model)."""
        self.settings = settings or GenSettings()
        self.config = config
        self.adapters: list[tuple[Path, float]] = []
        self._client = _Client(config)
        models = list_models(config)  # raises ServerError when unreachable
        model = config.model or (models[0] if models else "")
        if not model:
            raise ServerError(f"The model server at {where(config)} offers no model.")
        if config.model and config.model not in models:
            raise ServerError(
                f"The model server at {where(config)} has no model “{config.model}”. "
                f"It offers: {', '.join(models) or 'none'}."
            )
        self.model = model
        self.name = Path(model).name if "/" in model else model
        self.path = f"{config.url.rstrip('/')}#{model}"
        self._tokenize: str | None = None  # "llama.cpp" | "llama-cpp-python" | "vllm" | ""
        self._local: LocalCounter | None = None  # a local tokenizer of the same family
        self._counts: OrderedDict[str, int] = OrderedDict()
        self._prompts: OrderedDict[tuple[int, ...], list[dict[str, str]]] = OrderedDict()
        server_ctx = self._server_context()
        self.server_n_ctx = server_ctx
        self.n_ctx = max(64, min(server_ctx or self.settings.n_ctx, self.settings.n_ctx))
        self._probe_tokenizer()
        if not self._tokenize:
            self._local = self._local_tokenizer(local_models)

    # -- what the server tells ---------------------------------------------------------------

    def _server_context(self) -> int:
        """The server's context size per request, 0 when it does not say."""
        try:
            data = self._client.call("GET", "/v1/models", timeout=self.config.connect_timeout_s)
            for m in data.get("data", []):
                if m.get("id") == self.model and int(m.get("max_model_len") or 0) > 0:
                    return int(m["max_model_len"])  # vLLM
        except (ServerError, AttributeError, TypeError, ValueError):
            pass
        try:
            props = self._client.call("GET", "/props", timeout=self.config.connect_timeout_s)
            n = int((props.get("default_generation_settings") or {}).get("n_ctx") or 0)
            if n > 0:
                return n  # llama.cpp's llama-server (per slot)
        except (ServerError, AttributeError, TypeError, ValueError):
            pass
        return 0

    def _probe_tokenizer(self) -> None:
        for kind in ("llama-cpp-python", "llama.cpp", "vllm"):
            try:
                n = self._server_count("Folio", kind)
            except (ServerError, KeyError, TypeError, ValueError, AttributeError):
                continue
            if n > 0:
                self._tokenize = kind
                return
        self._tokenize = ""

    def _local_tokenizer(self, candidates: Sequence[Path] | None) -> LocalCounter | None:
        """A local model of the server's model's family, its vocabulary loaded; else None."""
        paths = list(candidates) if candidates is not None else known_local_models(None)
        match = matching_local_model(self.model, paths)
        if match is not None:
            try:
                counter = LocalCounter(match)
            except ModelError as exc:
                log.warning("local tokenizer %s not usable: %s", match, exc)
            else:
                log.info(
                    "model server %s offers no tokenizer; counting with %s (+%d %%)",
                    where(self.config),
                    match.name,
                    round(LOCAL_MARGIN * 100),
                )
                return counter
        log.info("model server %s offers no tokenizer; counting bytes", where(self.config))
        return None

    def _server_count(self, text: str, kind: str) -> int:
        path = self.TOKENIZE_PATHS[kind]
        if kind == "llama-cpp-python":
            data = self._client.call("POST", path, {"input": text})
        elif kind == "llama.cpp":
            data = self._client.call("POST", path, {"content": text})
        else:
            data = self._client.call(
                "POST",
                path,
                {"model": self.model, "prompt": text, "add_special_tokens": False},
            )
        return len(data["tokens"])

    @property
    def exact_counts(self) -> bool:
        """True when counts come from the server's tokenizer (else: an upper bound)."""
        return bool(self._tokenize)

    @property
    def counting(self) -> str:
        """How prompt sizes are measured: "server", "local" or "bytes"."""
        return "server" if self._tokenize else "local" if self._local is not None else "bytes"

    def counting_sentence(self) -> str:
        """How prompt sizes are measured, for the window and the terminal."""
        if self._tokenize:
            return "Prompt sizes are counted with the server's own tokenizer."
        if self._local is not None:
            return (
                "The server offers no tokenizer, so prompt sizes are counted with the tokenizer "
                f"of {self._local.path.name} (the same model family) plus a "
                f"{round(LOCAL_MARGIN * 100)} % margin."
            )
        return (
            "The server offers no tokenizer and no model of the same family is on this "
            "computer, so prompt sizes are estimated at one token per byte: fewer passages "
            "fit in each question."
        )

    # -- tokens ----------------------------------------------------------------------------

    def count(self, text: str) -> int:
        if not text:
            return 0
        if not self._tokenize and self._local is None:
            return len(text.encode("utf-8")) + 1
        hit = self._counts.get(text)
        if hit is not None:
            self._counts.move_to_end(text)
            return hit
        if self._tokenize:
            n = self._server_count(text, self._tokenize)
        else:
            assert self._local is not None
            n = self._local.count(text)
        self._counts[text] = n
        if len(self._counts) > 4096:
            self._counts.popitem(last=False)
        return n

    def chat_messages(self, messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
        """The messages as sent: document text with control marks broken."""
        out = []
        for m in messages:
            text = "".join(p.text if p.trusted else _neutralise(p.text) for p in m.parts)
            out.append({"role": m.role, "content": text})
        return out

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> list[int]:
        """A stand-in token list as long as the prompt will be on the server (an upper
        bound: exact content counts plus the template allowance). ``generate`` maps it back to
        the messages, so the planner works as with a local model."""
        chat = self.chat_messages(messages)
        tokens: list[int] = [0] * TEMPLATE_TOKENS_FIXED
        for m in chat:
            tokens += [_ROLE_MARK.get(m["role"], -4)] * TEMPLATE_TOKENS_PER_MESSAGE
            n = self.count(m["content"])
            # The count stands in for the content; its hash keeps different prompts apart.
            tokens += [hash(m["content"]) & 0x7FFFFFFF] + [1] * max(0, n - 1)
        key = tuple(tokens)
        self._prompts[key] = chat
        if len(self._prompts) > 16:
            self._prompts.popitem(last=False)
        return tokens

    # -- generation ------------------------------------------------------------------------

    def _token_stream(
        self, tokens: list[int], stats: GenerationStats, cancel: CancelToken | None = None
    ) -> Iterator[tuple[int | None, bytes]]:
        chat = self._prompts.get(tuple(tokens))
        if chat is None:
            raise ModelError("Folio lost track of the question it was about to send; ask again.")
        stats.cached_tokens = 0
        room = self.n_ctx - len(tokens)
        s = self.settings
        body = {
            "model": self.model,
            "messages": chat,
            "stream": True,
            "max_tokens": max(1, min(s.max_answer_tokens, room)),
            "temperature": s.temperature,
            "top_p": s.top_p,
            "top_k": s.top_k,
            "min_p": s.min_p,
            "repeat_penalty": s.repeat_penalty,
            "seed": s.seed,
        }
        if cancel is not None and cancel.cancelled:
            return
        conn, response = self._client.open("POST", "/v1/chat/completions", body)
        done = threading.Event()

        def watch() -> None:  # Stop closes the connection at once, even mid-read
            while cancel is not None and not done.is_set():
                if cancel.wait(0.05):
                    sock = conn.sock
                    if sock is not None:
                        try:
                            sock.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
                    return

        watcher = threading.Thread(target=watch, name="folio-server-stop", daemon=True)
        watcher.start()
        try:
            if response.status != 200:
                raw = b""
                try:
                    raw = response.read()
                except (OSError, http.client.HTTPException):
                    pass
                raise self._client.refused(response.status, raw, "/v1/chat/completions")
            finished = False
            n = 0
            while True:
                try:
                    line = response.readline()
                except (OSError, http.client.HTTPException) as exc:
                    if cancel is not None and cancel.cancelled:
                        return
                    raise self._died(exc) from exc
                if not line:
                    break
                line = line.strip()
                if not line.startswith(b"data:"):
                    continue
                data = line[5:].strip()
                if data == b"[DONE]":
                    finished = True
                    break
                try:
                    event = json.loads(data)
                except ValueError:
                    continue
                if isinstance(event, dict) and event.get("error"):
                    raise ServerError(
                        f"The model server at {where(self.config)} stopped with an error: "
                        f"{str(event['error'])[:200]}. Your question is kept."
                    )
                for choice in event.get("choices") or []:
                    piece = (choice.get("delta") or {}).get("content") or ""
                    if piece:
                        n += 1
                        # Token ids stay unknown over HTTP: the count stands in (the loop
                        # guard then works on the text alone).
                        yield -n, piece.encode("utf-8")
                    reason = choice.get("finish_reason")
                    if reason == "stop":
                        yield None, b""
                        finished = True
                        return
                    if reason == "length":
                        finished = True
                        return
            if cancel is not None and cancel.cancelled:
                return
            if not finished:
                raise self._died(None)
        finally:
            done.set()
            conn.close()

    def _died(self, exc: BaseException | None) -> ServerError:
        log.warning("model server %s ended the answer early: %r", where(self.config), exc)
        return ServerError(
            f"The model server at {where(self.config)} stopped in the middle of the answer "
            "(it may have been restarted or lost its connection). Your question is kept; ask "
            "again in a moment."
        )

    def prompt_speed(self) -> float:
        return 0.0  # unknown: the time-to-first-token cap does not apply to a server

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "server": where(self.config),
            "model": self.model,
            "n_ctx": self.n_ctx,
            "server_n_ctx": self.server_n_ctx,
            "tokenizer": self._tokenize
            or (
                f"local {self._local.path.name} + {round(LOCAL_MARGIN * 100)} %"
                if self._local is not None
                else "estimate (1 token per byte)"
            ),
            "counting": self.counting_sentence(),
        }

    def set_adapters(self, adapters: Sequence[tuple[Path, float]]) -> None:
        if adapters:
            raise ModelError(
                "Adapters work only with a model on this computer, not with a model server. "
                "Choose “No adapter”, or choose “This computer” in Models and settings."
            )

    def close(self) -> None:
        self._prompts.clear()
        if self._local is not None:
            self._local.close()
            self._local = None


__all__ = [
    "ServerConfig",
    "ServerError",
    "ServerGenerator",
    "list_models",
    "load_api_key",
    "save_api_key",
    "where",
]
