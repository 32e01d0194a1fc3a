"""Nothing leaves the machine: indexing, asking and the GUI start-up under the network guard."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from engine import EngineConfig, Library
from engine.offline import OFFLINE_SWITCHES
from tests.trust.conftest import NetworkGuard, network_guard, python_env, write_docs

DOCS = {
    "leave.md": "# Annual leave\n\nFull-time staff get 25 days of annual leave per year.",
    "parking.txt": "Parking permits are issued by the facilities office on the ground floor.",
    "page.html": "<html><body><h1>Canteen</h1><p>The canteen opens at eight.</p>"
    '<img src="https://example.com/track.gif"><script src="http://example.com/x.js"></script>'
    "</body></html>",
}


def test_guard_blocks_and_records_outgoing_but_not_loopback() -> None:
    """The guard itself: an outgoing attempt is refused and recorded, loopback is not."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    with network_guard() as guard:
        with socket.create_connection(server.getsockname(), timeout=5):
            pass  # loopback works
        a, b = socket.socketpair()  # AF_UNIX
        a.close()
        b.close()
        with pytest.raises(OSError):
            socket.create_connection(("192.0.2.1", 443), timeout=1)  # TEST-NET-1
        with pytest.raises(OSError):
            socket.getaddrinfo("huggingface.co", 443)
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        with pytest.raises(OSError):
            s.connect(("2001:db8::1", 80, 0, 0))
        assert s.connect_ex(("2001:db8::1", 80, 0, 0)) != 0
        s.close()
        # A reference taken before the patch is still caught (audit hook).
        real = socket.socket.__mro__[1].connect  # _socket.socket.connect
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        with pytest.raises(OSError):
            real(s, ("198.51.100.7", 80))
        s.close()
    server.close()
    assert len(guard.attempts) == 5, guard.attempts
    assert "198.51.100.7" in guard.attempts[-1]
    assert any("huggingface.co" in a for a in guard.attempts)
    # Outside the block nothing is patched any more.
    assert socket.getaddrinfo.__module__ == "socket"


def test_indexing_loads_the_model_and_indexes_offline(
    no_network: NetworkGuard, tmp_path: Path
) -> None:
    folder = write_docs(tmp_path / "docs", DOCS)
    # A library without a preloaded embedder: loading MiniLM happens under the guard too.
    lib = Library(EngineConfig(home=tmp_path / "home", parse_workers=1))
    with lib.create("Office") as coll:
        report = coll.index([folder])
        assert len(report.indexed) == 3, report.failed
        assert coll.search("when does the canteen open", k=1)[0].path.endswith("page.html")
    assert no_network.attempts == []


def test_asking_with_the_default_model_offline(no_network: NetworkGuard, tmp_path: Path) -> None:
    from engine.chat import AskOptions, ChatSession
    from engine.generate import GenSettings, load_generator
    from engine.history import ChatStore

    folder = write_docs(tmp_path / "docs", DOCS)
    lib = Library(EngineConfig(home=tmp_path / "home", parse_workers=1))
    coll = lib.create("Office")
    coll.index([folder])
    gen = load_generator(settings=GenSettings(temperature=0.0, max_answer_tokens=24))
    store = ChatStore(lib.home)
    answer = ChatSession([coll], gen, store).ask("How many days of leave?", AskOptions(k=3))
    assert answer.text.strip() and answer.stop in ("end", "length", "loop")
    assert store.sessions()
    store.close()
    coll.close()
    assert no_network.attempts == []


def test_gui_start_up_offline(no_network: NetworkGuard, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from desktop.main_window import MainWindow

    folder = write_docs(tmp_path / "docs", DOCS)
    lib = Library(EngineConfig(home=tmp_path / "home", parse_workers=1))
    with lib.create("Office") as coll:
        coll.index([folder])
    window = MainWindow(lib)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.current_collection() == "Office", timeout=30_000)
    qtbot.waitUntil(lambda: "up to date" in window.status_label.text(), timeout=60_000)
    window.close()
    assert no_network.attempts == []


PROBE = """
import json, os, sys
for key in list(os.environ):
    if key.startswith(("HF_", "TRANSFORMERS_", "SENTENCE_TRANSFORMERS", "DO_NOT_TRACK")):
        del os.environ[key]
import {module}
import huggingface_hub.constants as hub  # transformers 5 and sentence-transformers ask it
print(json.dumps({{
    "env": {{k: os.environ.get(k) for k in {keys!r}}},
    "hub_offline": hub.HF_HUB_OFFLINE,
    "hub_telemetry_off": hub.HF_HUB_DISABLE_TELEMETRY,
    "offline_mode": hub.is_offline_mode(),
}}))
"""


@pytest.mark.parametrize("module", ["engine", "engine.cli", "desktop.app"])
def test_every_entry_point_switches_hugging_face_libraries_offline(module: str) -> None:
    """Imported first in a clean environment, Folio turns the hub, transformers and
    sentence-transformers to local-only mode, telemetry off, before any of them is loaded."""
    code = PROBE.format(module=module, keys=sorted(OFFLINE_SWITCHES))
    env = {k: v for k, v in python_env().items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["env"] == OFFLINE_SWITCHES
    assert data["hub_offline"] is True
    assert data["hub_telemetry_off"] is True
    assert data["offline_mode"] is True


INHERITED = """
import json, os
import {module}
import huggingface_hub.constants as hub
import transformers.utils.hub as tf_hub
print(json.dumps({{
    "env": {{k: os.environ.get(k) for k in {keys!r}}},
    "hub_offline": hub.HF_HUB_OFFLINE,
    "offline_mode": hub.is_offline_mode(),
    "transformers_offline": tf_hub.is_offline_mode(),
    "tokenizers_parallelism": os.environ.get("TOKENIZERS_PARALLELISM"),
}}))
"""


@pytest.mark.parametrize("module", ["engine", "engine.cli", "desktop.app"])
def test_inherited_switches_turned_off_change_nothing(module: str) -> None:
    """A shell or login script that exports HF_HUB_OFFLINE=0 (and friends) does not turn the
    hub back on: the switches are forced in a fresh process, not defaulted. A setting that is
    not about the network (tokenizers' threads) stays the user's."""
    code = INHERITED.format(module=module, keys=sorted(OFFLINE_SWITCHES))
    env = {k: v for k, v in python_env().items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env.update({key: "0" for key in OFFLINE_SWITCHES})
    env["TOKENIZERS_PARALLELISM"] = "true"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["env"] == OFFLINE_SWITCHES
    assert data["hub_offline"] is True
    assert data["offline_mode"] is True
    assert data["transformers_offline"] is True
    assert data["tokenizers_parallelism"] == "true"


@pytest.mark.slow
def test_a_tuning_step_offline(no_network: NetworkGuard, tmp_path: Path) -> None:
    """Loading the GGUF into torch (transformers), training steps, evaluation and the adapter
    export, all in this process under the guard (the app runs the same code in a child)."""
    from engine.generate import default_model_path
    from engine.tune.adapter import adapter_info
    from engine.tune.train import TuneSettings, TuneSpec, run_tune
    from tests.tune_data import write_zorbel_pairs

    out = tmp_path / "offline.gguf"
    spec = TuneSpec(
        kind="ift",
        base=str(default_model_path()),
        out=str(out),
        data=[str(write_zorbel_pairs(tmp_path / "pairs.jsonl", n=6))],
        settings=TuneSettings(epochs=1, eval_max_tokens=4, probes=False, max_length=64),
    )
    result = run_tune(spec, lambda _e: None, lambda: False)
    assert result.steps >= 1 and adapter_info(out).kind == "ift"
    assert no_network.attempts == []


def test_guard_with_a_configured_server_allows_that_address_alone() -> None:
    """With a model server configured, its host and port are the only address allowed:
    another loopback port, another loopback address and any outside address are refused."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    other = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    other.bind(("127.0.0.1", 0))
    other.listen(1)
    host, port = server.getsockname()
    other_port = other.getsockname()[1]
    with network_guard(only=(host, port)) as guard:
        with socket.create_connection((host, port), timeout=5):
            pass
        with pytest.raises(OSError):
            socket.create_connection(other.getsockname(), timeout=1)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.2", port), timeout=1)
        with pytest.raises(OSError):
            socket.create_connection(("192.0.2.1", port), timeout=1)
    server.close()
    other.close()
    assert len(guard.attempts) == 3, guard.attempts
    assert str(other_port) in guard.attempts[0]
    assert "127.0.0.2" in guard.attempts[1] and "192.0.2.1" in guard.attempts[2]


def test_asking_through_a_model_server_contacts_only_that_server(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """Index, connect and ask with a real llama-cpp-python server on 127.0.0.1: every
    connection goes to exactly its host and port, nothing else (not even other loopback)."""
    from engine.chat import AskOptions, ChatSession
    from engine.generate import GenSettings, connect_server
    from engine.generate.server import ServerConfig
    from engine.history import ChatStore
    from tests.servers.conftest import start_model_server

    model_server = start_model_server(tmp_path / "server.log")
    try:
        with network_guard(only=("127.0.0.1", model_server.port)) as guard:
            folder = write_docs(tmp_path / "docs", DOCS)
            lib = Library(EngineConfig(home=tmp_path / "home", parse_workers=1), embedder=embedder)
            coll = lib.create("Office")
            coll.index([folder])
            gen = connect_server(
                ServerConfig(model_server.url),
                GenSettings(temperature=0.0, max_answer_tokens=24),
            )
            store = ChatStore(lib.home)
            answer = ChatSession([coll], gen, store).ask(
                "How many days of leave?", AskOptions(k=3, preset="answer")
            )
            assert answer.text.strip() and answer.stop in ("end", "length", "loop")
            store.close()
            coll.close()
    finally:
        model_server.stop()
    assert guard.attempts == []


def test_window_with_a_model_server_contacts_only_that_server(
    qtbot, tmp_path: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    """The desktop path: the window set to a real llama-cpp-python server, 'Check connection'
    and a question in the chat connect to exactly its host and port, nothing else."""
    from desktop.main_window import MainWindow
    from desktop.settings import Settings, save_settings
    from engine.generate.server import ServerGenerator
    from tests.servers.conftest import start_model_server

    model_server = start_model_server(tmp_path / "server.log")
    try:
        with network_guard(only=("127.0.0.1", model_server.port)) as guard:
            folder = write_docs(tmp_path / "docs", DOCS)
            lib = Library(EngineConfig(home=tmp_path / "home", parse_workers=1), embedder=embedder)
            with lib.create("Office") as coll:
                coll.index([folder])
            save_settings(
                lib.home,
                Settings(answers_from="server", server_url=model_server.url, max_answer_tokens=24),
            )
            window = MainWindow(lib)
            qtbot.addWidget(window)
            window.show()
            dialog = window.open_settings()
            dialog.check_connection()
            qtbot.waitUntil(
                lambda: "It offers 1 model(s)" in dialog.server_note.text(), timeout=30_000
            )
            dialog.close()
            qtbot.waitUntil(lambda: window.current_collection() == "Office", timeout=30_000)
            with qtbot.waitSignal(window.chat.answer_finished, timeout=120_000):
                window.chat.ask("How many days of leave?")
            assert isinstance(window.loaded_model.generator, ServerGenerator)
            window.close()
    finally:
        model_server.stop()
    assert guard.attempts == []


def test_a_window_answering_locally_never_loads_the_server_code() -> None:
    """'This computer' is today's path: the model-server code is not even imported."""
    code = (
        "import sys, desktop.main_window\n"
        "from pathlib import Path\n"
        "from desktop.settings import Settings, answers_from_line, server_config\n"
        "assert server_config(Settings(), Path('.')) is None\n"
        "print(answers_from_line(Settings()))\n"
        "print(sorted(m for m in sys.modules if m.startswith('engine.generate.')))\n"
    )
    env = {**python_env(), "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Answers from SmolLM2-135M-Instruct.Q4_1 on this computer" in out.stdout
    assert "engine.generate.server" not in out.stdout
    assert "engine.generate.families" not in out.stdout


def test_ocr_of_a_scan_and_a_picture_offline(
    no_network: NetworkGuard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Text recognition loads its bundled models and reads a scanned PDF page and a picture
    in this process under the guard (the engine is created afresh inside it), and indexing
    them works too: no connection is tried."""
    from engine.ingest import OcrOptions, read_file
    from engine.ingest import ocr as ocr_module
    from tests.scans import pdf_of_images, scan_page

    monkeypatch.setattr(ocr_module, "_engine", None)
    page = scan_page(["The fire doors on the second floor are checked every Monday."])
    scan = tmp_path / "docs" / "scan.pdf"
    scan.parent.mkdir()
    scan.write_bytes(pdf_of_images([page.image]))
    scan_page(["Visitors sign in at the front desk."]).image.save(tmp_path / "docs" / "sign.png")
    doc = read_file(scan, ocr=OcrOptions())
    assert doc.sections[0].flags == ("ocr",)
    assert "fire doors" in doc.sections[0].text
    assert ocr_module._engine is not None  # made here, under the guard
    lib = Library(EngineConfig(home=tmp_path / "home", parse_workers=1))
    with lib.create("Scans") as coll:
        report = coll.index([scan.parent])
        assert len(report.indexed) == 2, report.failed
        assert coll.search("who signs in at the front desk", k=1)[0].ocr
    assert no_network.attempts == []


def test_a_missing_ocr_model_is_never_downloaded(
    no_network: NetworkGuard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a bundled model file missing, OCR says it is not available; rapidocr is never
    asked to fetch it (its default configuration would download into its package folder)."""
    from engine.errors import ReaderError
    from engine.ingest import OcrOptions, read_file
    from engine.ingest import ocr as ocr_module
    from engine.ingest.pdf import NO_TEXT_OCR_MISSING
    from tests.scans import pdf_of_images, scan_page

    monkeypatch.setattr(ocr_module, "_engine", None)
    monkeypatch.setitem(ocr_module.MODEL_FILES, "Det", "PP-OCRv6_det_missing.onnx")
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(pdf_of_images([scan_page(["A page nobody can read now."]).image]))
    with pytest.raises(ReaderError) as caught:
        read_file(scan, ocr=OcrOptions())
    assert str(caught.value) == NO_TEXT_OCR_MISSING
    assert not (ocr_module.models_dir() / "PP-OCRv6_det_missing.onnx").exists()
    assert no_network.attempts == []


def test_ocr_configuration_names_every_model_inside_the_package() -> None:
    """Every model rapidocr would load is given by an explicit path inside the installed
    package, so its download route (taken when a path is missing) is never reached."""
    from engine.ingest.ocr import models_dir, rapidocr_params

    params = rapidocr_params(1)
    paths = {k: Path(v) for k, v in params.items() if k.endswith(".model_path")}
    assert set(paths) == {"Det.model_path", "Rec.model_path", "Cls.model_path"}
    for path in paths.values():
        assert path.is_file() and path.parent == models_dir()


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_ocr_indexing_tries_no_connection_even_from_native_code(tmp_path: Path) -> None:
    """The guard above sees Python's sockets only. Native libraries can connect on their own
    (onnxruntime's usage events did: DNS look-ups of mobile.events.data.microsoft.com), so
    `folio index` of a scan and a picture runs here under strace, reader processes included,
    and not one connection to another machine may be tried."""
    from tests.scans import pdf_of_images, scan_page

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "scan.pdf").write_bytes(
        pdf_of_images([scan_page(["Boiler service is due in May."]).image])
    )
    scan_page(["The lift is inspected twice a year."]).image.save(docs / "lift.png")
    trace = tmp_path / "connect.trace"
    # Not inherited from this test process: Folio must switch the telemetry off itself.
    env = {k: v for k, v in python_env().items() if k != "ORT_DISABLE_TELEMETRY"}
    out = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg,sendmmsg", "-o", str(trace),
         sys.executable, "-m", "engine.cli", "--home", str(tmp_path / "home"), "index",
         str(docs), "-c", "Scans", "--json"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    assert len(report["indexed"]) == 2 and report["failed"] == [], report
    lines = trace.read_text().splitlines()
    outgoing = [ln for ln in lines if "AF_INET" in ln and "127.0.0.1" not in ln]
    assert outgoing == [], outgoing[:5]
    assert not any("microsoft" in ln for ln in lines)
