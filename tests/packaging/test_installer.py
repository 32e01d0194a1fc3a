"""The installer, end to end: build the Linux package, install it into a throwaway root, and use
the installed copy the way a new member of staff would, with the build machine's Python out of
sight.

Marked ``package``: the suite's default run leaves it out; the README's test command runs it
after the suite (about ten minutes, most of it PyInstaller). ``FOLIO_PACKAGE_DEB=path`` reuses a
package built earlier.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = [
    pytest.mark.package,
    pytest.mark.skipif(
        not sys.platform.startswith("linux") or shutil.which("dpkg-deb") is None,
        reason="the Linux package is built with dpkg-deb",
    ),
]

ARTIFACTS = REPO / "test-artifacts"
QUESTION = "What are the core hours?"


def _can_hide() -> bool:
    """Mount namespaces (root, or a kernel that lets users make them) hide the build's Python."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs none /mnt"], capture_output=True
    )
    return probe.returncode == 0


def _build_python_dirs() -> list[Path]:
    """Every folder the build's Python could load code from: the checkout (with its virtual
    environment), the interpreter's installation, the system's Python libraries."""
    dirs = {REPO, Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)}
    for base in (Path("/usr/lib"), Path("/usr/local/lib")):
        dirs.update(base.glob("python3*"))
    found = sorted({d.resolve() for d in dirs if d.exists() and d != Path("/")})
    # A folder inside another one is hidden with it (and could not be mounted over).
    return [d for d in found if not any(o != d and d.is_relative_to(o) for o in found)]


@pytest.fixture(scope="module")
def deb() -> Path:
    prebuilt = os.environ.get("FOLIO_PACKAGE_DEB")
    if prebuilt:
        return Path(prebuilt)
    subprocess.run(["bash", "packaging/build.sh", "deb"], cwd=REPO, check=True, timeout=2400)
    report = json.loads((REPO / "build" / "package-report.json").read_text())
    _record(
        bundle_mib=round(report["bundle_bytes"] / 2**20, 1),
        bundle_build_s=report["bundle_seconds"],
        deb_mib=round(report["deb_bytes"] / 2**20, 1),
    )
    return REPO / report["deb"]


_FIGURES: dict[str, object] = {}


def _record(**figures: object) -> None:
    _FIGURES.update(figures)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "installer-figures.json").write_text(json.dumps(_FIGURES, indent=1))


@pytest.fixture(scope="module")
def target(deb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway root with its own dpkg database, the package installed into it."""
    root = tmp_path_factory.mktemp("target")
    admin = root / "var" / "lib" / "dpkg"
    (admin / "info").mkdir(parents=True)
    (admin / "updates").mkdir()
    (admin / "status").touch()
    t0 = time.perf_counter()
    subprocess.run(
        ["dpkg", f"--root={root}", "--force-depends", "--force-script-chrootless",
         "--force-not-root", "-i", str(deb)],
        check=True, capture_output=True, timeout=900,
    )  # fmt: skip
    _record(install_s=round(time.perf_counter() - t0, 1))
    return root


class Installed:
    """Runs the installed programs with a bare environment; where namespaces are allowed, with
    the build's Python hidden (mount namespace) and no network (network namespace); optionally
    every file opened and every connection tried traced with strace."""

    def __init__(self, root: Path, user: Path) -> None:
        self.root = root
        self.user = user
        self.hide = _build_python_dirs() if _can_hide() else []

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            "PATH": f"{self.root / 'usr' / 'bin'}:/usr/bin:/bin",
            "HOME": str(self.user),
            "LANG": "C.UTF-8",
            "QT_QPA_PLATFORM": "offscreen",
            "TMPDIR": str(self.user / "tmp"),
        }
        env.update(extra)
        return env

    def run(
        self,
        program: str,
        *args: str,
        trace: Path | None = None,
        timeout: float = 600,
        **env: str,
    ) -> subprocess.CompletedProcess[str]:
        (self.user / "tmp").mkdir(parents=True, exist_ok=True)
        cmd = [str(self.root / "usr" / "bin" / program), *args]
        if trace is not None:
            calls = "trace=open,openat,execve,connect,sendto,sendmsg"
            cmd = ["strace", "-f", "-qq", "-e", calls, "-o", str(trace), *cmd]
        if self.hide:
            mounts = " && ".join(f"mount -t tmpfs none '{d}'" for d in self.hide)
            # -n: a network namespace with no network at all, as on an offline office PC.
            cmd = ["unshare", "-m", "-n", "sh", "-c", f'{mounts} && exec "$@"', "sh", *cmd]
        return subprocess.run(
            cmd, env=self.env(**env), capture_output=True, text=True, timeout=timeout
        )


@pytest.fixture(scope="module")
def app(target: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    return Installed(target, tmp_path_factory.mktemp("user"))


def _opened(trace: Path) -> list[str]:
    """Paths the traced processes opened or executed successfully."""
    pat = re.compile(r'(?:open|openat|execve)\((?:AT_FDCWD, |\d+, )?"([^"]+)".*\) = (\d+)')
    return [m.group(1) for line in trace.read_text().splitlines() if (m := pat.search(line))]


def _check_isolated(trace: Path, root: Path) -> None:
    opened = _opened(trace)
    assert any(p.startswith(str(root / "opt" / "folio")) for p in opened), "bundle not used"
    assert any("libpython3" in p and p.startswith(str(root)) for p in opened)
    build = [str(d) for d in _build_python_dirs()]
    leaks = sorted({p for p in opened if any(p == b or p.startswith(b + "/") for b in build)})
    assert not leaks, f"the installed app loaded files of the build machine: {leaks[:10]}"
    # Offline: not one attempt to reach another machine (local sockets are fine).
    net = [ln for ln in trace.read_text().splitlines() if "sa_family=AF_INET" in ln]
    assert not net, f"network attempts: {net[:5]}"


def test_package_contents(target: Path) -> None:
    app_dir = target / "opt" / "folio"
    assert (app_dir / "folio").is_file() and os.access(app_dir / "folio", os.X_OK)
    assert (target / "usr" / "bin" / "folio").resolve() == (app_dir / "folio").resolve()
    assert (target / "usr" / "bin" / "folio-desktop").exists()
    entry = (target / "usr" / "share" / "applications" / "folio.desktop").read_text()
    assert "Exec=folio-desktop" in entry and "Icon=folio" in entry
    icons = target / "usr" / "share" / "icons" / "hicolor"
    assert (icons / "256x256" / "apps" / "folio.png").is_file()
    models = app_dir / "_internal" / "models"
    assert (models / "SmolLM2-135M-Instruct.Q4_1.gguf").is_file()
    assert (models / "all-MiniLM-L6-v2" / "modules.json").is_file()
    # Left out: what Folio never uses.
    internal = app_dir / "_internal"
    assert not list(internal.rglob("libQt6WebEngine*")) and not list(internal.rglob("libcuda*"))
    assert not (internal / "torch" / "include").exists()
    status = (target / "var" / "lib" / "dpkg" / "status").read_text()
    assert "Package: folio" in status and "Status: install ok installed" in status


def test_first_run_shows_the_welcome_view(app: Installed) -> None:
    shot = app.user / "welcome.png"  # the checkout is out of sight of the installed app
    t0 = time.time()
    out = app.run("folio-desktop", FOLIO_SCREENSHOT=str(shot), timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    shown = [ln.split() for ln in out.stdout.splitlines() if ln.startswith("shown ")]
    assert shown, out.stdout + out.stderr[-3000:]
    assert "welcome=True" in shown[0], "the first run must open on the welcome view"
    _record(cold_start_to_window_s=round(float(shown[0][1]) - t0, 2))
    assert (app.user / ".local" / "share" / "Folio" / "collections").is_dir()  # home created
    assert f"screenshot saved {shot}" in out.stdout
    from PySide6.QtGui import QImage

    img = QImage(str(shot))
    assert img.width() >= 600 and img.height() >= 400
    colours = {img.pixel(x, y) for x in range(0, img.width(), 7) for y in range(0, img.height(), 7)}
    assert len(colours) > 20, "the screenshot is blank"
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "installed-welcome.png")


def test_folio_gui_starts_the_installed_desktop_app(app: Installed, tmp_path: Path) -> None:
    user = Installed(app.root, tmp_path / "user")
    out = user.run("folio", "gui", FOLIO_EXIT_WHEN_SHOWN="1", timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert any(ln.startswith("shown ") for ln in out.stdout.splitlines()), out.stdout


def test_desktop_app_on_a_real_x_server(app: Installed, tmp_path: Path) -> None:
    """The X11 platform plugin of the bundle (what staff get on a Linux desktop), on Xvfb."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("Xvfb is not installed")
    display = 87
    server = subprocess.Popen(
        [xvfb, f":{display}", "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        socket = Path(f"/tmp/.X11-unix/X{display}")
        deadline = time.monotonic() + 20
        while not socket.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert socket.exists(), "Xvfb did not start"
        user = Installed(app.root, tmp_path / "user")
        shot = user.user / "x11.png"
        out = user.run(
            "folio-desktop", DISPLAY=f":{display}", QT_QPA_PLATFORM="xcb",
            FOLIO_SCREENSHOT=str(shot), timeout=300,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr[-3000:]
        assert any(
            ln.startswith("shown ") and ln.endswith("welcome=True")
            for ln in out.stdout.splitlines()
        ), out.stdout + out.stderr[-3000:]
        assert f"screenshot saved {shot}" in out.stdout
        shutil.copy(shot, ARTIFACTS / "installed-welcome-x11.png")
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_sample_collection_answers_with_citations(app: Installed) -> None:
    t0 = time.perf_counter()
    out = app.run("folio", "sample", "--json")
    sample_s = time.perf_counter() - t0
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    assert len(report["indexed"]) == 5 and not report["failed"]

    t0 = time.perf_counter()
    out = app.run("folio", "ask", QUESTION, "--collection", "Sample", "--json")
    ask_s = time.perf_counter() - t0
    assert out.returncode == 0, out.stderr[-3000:]
    answer = json.loads(out.stdout)
    assert answer["answer"].strip()
    assert answer["citations"], answer
    docs = {Path(c["document"]).name for c in answer["citations"]}
    assert "Working hours.md" in docs, answer
    _record(sample_index_s=round(sample_s, 1), first_answer_s=round(ask_s, 1))


def test_installed_app_reads_secured_pdfs(app: Installed, tmp_path: Path) -> None:
    """AES-encrypted PDFs with an empty password (what "secured" office PDFs are) are read by
    the installed app: pypdf's crypto provider is inside the bundle."""
    from tests.engine.test_readers import encrypt_pdf, make_pdf

    folder = tmp_path / "secured"
    folder.mkdir()
    for algorithm in ("AES-128", "AES-256"):
        data = encrypt_pdf(make_pdf([f"Secured {algorithm} text"]), "", "owner", algorithm)
        (folder / f"{algorithm}.pdf").write_bytes(data)
    out = app.run("folio", "index", str(folder), "--collection", "Secured", "--json")
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    assert report["failed"] == [], report["failed"]
    assert sorted(Path(d["path"]).name for d in report["indexed"]) == ["AES-128.pdf", "AES-256.pdf"]


def test_installed_app_reads_a_scanned_page_offline(app: Installed, tmp_path: Path) -> None:
    """Text recognition (OCR) inside the package: a scanned page (a PDF of an image, no text
    layer) and a picture are indexed by the installed app with no network, every file it
    opens from the package (traced), and a search finds the page marked as read by OCR."""
    from tests.scans import pdf_of_images, scan_page

    models = app.root / "opt" / "folio" / "_internal" / "rapidocr" / "models"
    assert (models / "PP-OCRv6_det_small.onnx").is_file()
    assert (models / "PP-OCRv6_rec_small.onnx").is_file()
    folder = tmp_path / "scans"
    folder.mkdir()
    page = scan_page(["Fire doors on every floor are checked each Monday by the caretaker."])
    (folder / "fire-doors.pdf").write_bytes(pdf_of_images([page.image]))
    scan_page(["Visitors sign in at the front desk."]).image.save(folder / "sign.png")
    user = Installed(app.root, tmp_path / "user")
    trace = tmp_path / "ocr.trace" if shutil.which("strace") else None
    t0 = time.perf_counter()
    out = user.run("folio", "index", str(folder), "--collection", "Scans", "--json", trace=trace)
    ocr_s = time.perf_counter() - t0
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    assert report["failed"] == [], report["failed"]
    assert sorted(Path(d["path"]).name for d in report["indexed"]) == ["fire-doors.pdf", "sign.png"]
    if trace is not None:
        _check_isolated(trace, app.root)
    out = user.run("folio", "search", "when are the fire doors checked", "-c", "Scans", "--json")
    assert out.returncode == 0, out.stderr[-3000:]
    top = json.loads(out.stdout)["hits"][0]
    assert Path(top["document"]).name == "fire-doors.pdf"
    assert top["ocr"] is True and top["location"] == "page 1, read by OCR"
    _record(ocr_index_two_scans_s=round(ocr_s, 1))


def test_installed_app_can_reach_shared_collections(app: Installed, tmp_path: Path) -> None:
    """The PostgreSQL client is inside the package: a shared collection on a server that is
    not there is a sentence about that server (without psycopg in the bundle the app could
    not even try, and would say so)."""
    user = Installed(app.root, tmp_path / "user-pg")
    out = user.run(
        "folio", "search", "holiday rules", "-c", "Team",
        "--store", "postgresql://folio_reader@127.0.0.1:9/folio?connect_timeout=3",
    )  # fmt: skip
    assert out.returncode != 0
    said = out.stderr[-2000:]
    assert "Folio could not reach the collection server 127.0.0.1:9." in said, said


def test_nothing_loaded_from_the_build_machine(app: Installed, tmp_path: Path) -> None:
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    user = Installed(app.root, tmp_path / "user2")
    for name, args, env in [
        ("sample", ["folio", "sample"], {}),
        ("ask", ["folio", "ask", QUESTION, "--collection", "Sample"], {}),
        ("gui", ["folio-desktop"], {"FOLIO_EXIT_WHEN_SHOWN": "1"}),
    ]:
        trace = tmp_path / f"{name}.trace"
        out = user.run(*args, trace=trace, **env)
        assert out.returncode == 0, f"{name}: {out.stderr[-3000:]}"
        _check_isolated(trace, app.root)
    _record(build_python_hidden=bool(user.hide))


def test_uninstall_removes_the_app_and_keeps_user_data(app: Installed) -> None:
    subprocess.run(
        ["dpkg", f"--root={app.root}", "--force-depends", "--force-script-chrootless",
         "--force-not-root", "--purge", "folio"],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    assert not (app.root / "opt" / "folio").exists()
    assert not (app.root / "usr" / "bin" / "folio").exists()
    assert not (app.root / "usr" / "share" / "applications" / "folio.desktop").exists()
    assert (app.user / ".local" / "share" / "Folio" / "collections").is_dir()
