"""The organisation's settings keys for shared collections (``shared_store``,
``shared_collections``) as the desktop reads them: pure logic, no server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine.shared_list import SharedSource, shared_source

DSN = "postgresql://folio_staff@db.example.internal/folio?sslmode=verify-full"


def test_store_and_names() -> None:
    got = shared_source({"shared_store": f"  {DSN} ", "shared_collections": ["Team", "HR"]})
    assert got == (SharedSource(DSN, ("Team", "HR")), "")


def test_no_names_means_every_collection_and_no_store_means_none() -> None:
    assert shared_source({"shared_store": DSN}) == (SharedSource(DSN, ()), "")
    assert shared_source({"shared_store": DSN, "shared_collections": []}) == (
        SharedSource(DSN, ()),
        "",
    )
    assert shared_source({}) == (None, "")
    assert shared_source({"shared_store": "", "shared_collections": ["Team"]}) == (None, "")


def test_damaged_values_never_raise() -> None:
    # One name instead of a list; blanks, repeats and non-names dropped.
    assert shared_source({"shared_store": DSN, "shared_collections": "Team"})[0] == SharedSource(
        DSN, ("Team",)
    )
    messy = {"shared_store": DSN, "shared_collections": ["Team", " team ", "", 7, None, "HR"]}
    assert shared_source(messy)[0] == SharedSource(DSN, ("Team", "HR"))
    assert shared_source({"shared_store": DSN, "shared_collections": {"a": 1}})[0] == (
        SharedSource(DSN, ())
    )
    for bad in ("http://db.example.internal", 42, ["postgresql://x"]):
        source, message = shared_source({"shared_store": bad})
        assert source is None
        assert message.startswith("The organisation's settings name a server for shared")


def test_reading_the_settings_loads_nothing_of_postgresql(tmp_path: Path) -> None:
    code = (
        "import sys; from engine import EngineConfig, Library;"
        " from engine.shared_list import shared_source;"
        f" lib = Library(EngineConfig(home={str(tmp_path)!r}));"
        f" lib.use_shared(shared_source({{'shared_store': {DSN!r}}})[0]);"
        " assert lib.shared_source is not None and lib.names() == [];"
        " assert 'psycopg' not in sys.modules, 'psycopg loaded'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_folio_without_the_postgresql_client_says_so(tmp_path: Path) -> None:
    """A Folio installed without psycopg, asked for a collection on a server: one sentence on
    the terminal and exit status 2, no traceback."""
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from engine.cli import main\n"
        "sys.argv = ['folio', 'search', 'holidays', '-c', 'Team', '--store',"
        " 'postgresql://folio_reader@127.0.0.1:9/folio']\n"
        "sys.exit(main())\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"FOLIO_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert run.returncode == 2, run.stderr[-2000:]
    assert "its PostgreSQL client (psycopg) is not installed" in run.stderr
    assert "Traceback" not in run.stderr
