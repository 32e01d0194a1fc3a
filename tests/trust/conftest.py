"""Fixtures of the trust suite: the network guard, shared models, hostile input helpers.

``no_network`` blocks and records every outgoing connection attempt of the test process that
is not loopback or a Unix socket, and fails the test when there was any. Use it from any test
under tests/trust by naming it first among the test's arguments (so models and windows are
created while it is active)::

    def test_something(no_network: NetworkGuard) -> None:
        ...  # everything here runs with the network blocked
        assert no_network.attempts == []  # optional: the fixture checks this at teardown

Two layers catch an attempt: the public socket functions are patched (``socket.socket.connect``,
``connect_ex``, ``sendto``, ``socket.create_connection``, ``socket.getaddrinfo``), and a
``sys.addaudithook`` hook sees the interpreter's own ``socket.*`` audit events, which also fire
for code that captured a socket function before the patch. Native code that opens sockets
without going through Python (none of Folio's libraries does) and child processes are outside
the guard.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO


class NetworkBlocked(OSError):
    """Raised in place of an outgoing connection while the guard is on."""

    def __init__(self, what: str) -> None:
        super().__init__(errno.ENETUNREACH, f"network blocked by the test guard: {what}")


@dataclass
class NetworkGuard:
    attempts: list[str] = field(default_factory=list)
    # When set, the one (host, port) a configured model server has: every other address,
    # loopback included, counts as going out.
    only: tuple[str, int] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allows(self, family: int, address: object) -> bool:
        if self.only is None or not isinstance(address, tuple) or not address:
            return is_local_address(family, address)
        if family not in (socket.AF_INET, socket.AF_INET6):
            return is_local_address(family, address)
        host = address[0].decode() if isinstance(address[0], bytes) else str(address[0])
        return host == self.only[0] and len(address) > 1 and address[1] == self.only[1]

    def allows_host(self, host: object) -> bool:
        if self.only is None:
            return is_local_host(host)
        return host is None or host == self.only[0]

    def record(self, what: str) -> NetworkBlocked:
        with self._lock:
            self.attempts.append(what)
        return NetworkBlocked(what)


_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def is_local_host(host: object) -> bool:
    """Loopback addresses and names; anything else counts as the network."""
    if host is None:
        return True  # getaddrinfo(None, port): the local wildcard, no lookup
    if isinstance(host, bytes):
        host = host.decode("idna", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").split("%", 1)[0].lower().rstrip(".")
    if name in _LOCAL_NAMES or name == "":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_local_address(family: int, address: object) -> bool:
    if family == getattr(socket, "AF_UNIX", object()):
        return True
    if family == getattr(socket, "AF_NETLINK", object()):
        return True  # kernel messages, never leave the machine
    if isinstance(address, tuple) and address:
        return is_local_host(address[0])
    return isinstance(address, str | bytes)  # a Unix socket path


_LOOKUPS = {
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.gethostbyname_ex",
    "socket.gethostbyaddr",
}
_active: NetworkGuard | None = None
_hook_installed = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    guard = _active
    if guard is None or not event.startswith("socket."):
        return
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        sock, address = args[0], args[1]
        family = getattr(sock, "family", socket.AF_INET)
        if not guard.allows(family, address):
            raise guard.record(f"{event} {address!r}")
    elif event in _LOOKUPS and not guard.allows_host(args[0]):
        raise guard.record(f"{event} {args[0]!r}")


@contextmanager
def network_guard(only: tuple[str, int] | None = None) -> Iterator[NetworkGuard]:
    """Block and record non-local connection attempts for the duration of the block; with
    ``only`` (a loopback host and port), every address but that one."""
    global _active, _hook_installed
    guard = NetworkGuard(only=only)
    if not _hook_installed:
        sys.addaudithook(_audit)  # cannot be removed; inert while no guard is active
        _hook_installed = True

    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_sendto = socket.socket.sendto
    real_create_connection = socket.create_connection
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        if not guard.allows(self.family, address):
            raise guard.record(f"socket.connect {address!r}")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not guard.allows(self.family, address):
            guard.record(f"socket.connect_ex {address!r}")
            return errno.ENETUNREACH
        return real_connect_ex(self, address)

    def sendto(self: socket.socket, *args: Any) -> int:
        address = args[-1]
        if not guard.allows(self.family, address):
            raise guard.record(f"socket.sendto {address!r}")
        return real_sendto(self, *args)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        if not guard.allows(socket.AF_INET, tuple(address)):
            raise guard.record(f"socket.create_connection {address!r}")
        return real_create_connection(address, *args, **kwargs)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not guard.allows_host(host):
            raise socket.gaierror(
                socket.EAI_NONAME, str(guard.record(f"socket.getaddrinfo {host!r}"))
            )
        return real_getaddrinfo(host, *args, **kwargs)

    mp = pytest.MonkeyPatch()
    mp.setattr(socket.socket, "connect", connect)
    mp.setattr(socket.socket, "connect_ex", connect_ex)
    mp.setattr(socket.socket, "sendto", sendto)
    mp.setattr(socket, "create_connection", create_connection)
    mp.setattr(socket, "getaddrinfo", getaddrinfo)
    _active = guard
    try:
        yield guard
    finally:
        _active = None
        mp.undo()


@pytest.fixture
def no_network() -> Iterator[NetworkGuard]:
    """The network guard for one test; the test fails if anything tried to go out."""
    with network_guard() as guard:
        yield guard
    if guard.attempts:
        pytest.fail(
            f"{len(guard.attempts)} outgoing connection attempt(s): " + "; ".join(guard.attempts),
            pytrace=False,
        )


# -- shared models (one load for the whole trust suite) --------------------------------------


@pytest.fixture(scope="session")
def smol():  # type: ignore[no-untyped-def]
    """The real default model (SmolLM2 through llama.cpp), greedy, short answers."""
    from engine.generate import GenSettings, load_generator

    return load_generator(settings=GenSettings(temperature=0.0, max_answer_tokens=48))


# -- helpers ----------------------------------------------------------------------------------


def write_docs(folder: Path, docs: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in docs.items():
        p = folder / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(body, bytes):
            p.write_bytes(body)
        else:
            p.write_text(body, "utf-8")
    return folder


def python_env() -> dict[str, str]:
    """A subprocess environment that finds the repository's packages."""
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env
