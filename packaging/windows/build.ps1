# Build Folio's Windows installer. UNTESTED here (the project's build machines run Linux); the
# CI workflow .github/workflows/package.yml runs it on windows-2022.
# Needs: Python 3.11, Visual Studio Build Tools with C++ and CMake (llama-cpp-python compiles),
# Inno Setup 6 (iscc on PATH).
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")
py -3.11 -m venv .venv
.\.venv\Scripts\python -m pip install --upgrade pip wheel setuptools
# PyPI's torch wheels for Windows are CPU-only; pinned like on Linux.
.\.venv\Scripts\python -m pip install torch==2.13.0
.\.venv\Scripts\python -m pip install -e ".[dev]"
.\.venv\Scripts\python -m PyInstaller --noconfirm --distpath build\dist --workpath build\work packaging\folio.spec
$version = .\.venv\Scripts\python -c "import tomllib;print(tomllib.load(open('pyproject.toml','rb'))['project']['version'])"
iscc /DVersion=$version packaging\windows\folio.iss
Get-ChildItem build\FolioSetup-*.exe
