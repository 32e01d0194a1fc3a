#!/usr/bin/env bash
# Folio from a source checkout on Linux with Python 3.11.
#   bash packaging/dev.sh run    set everything up, then start the desktop app
#   bash packaging/dev.sh test   set everything up, then run lint, type checks and all tests:
#                                the suite, then the installer test (builds, installs and runs
#                                the Linux package); extra arguments run just those pytest args
# Set-up is idempotent: a virtual environment in .venv (FOLIO_VENV moves it), the pinned
# dependencies, and the llama-cpp-python build (compiled once, then reused from pip's cache).
set -euo pipefail
cd "$(dirname "$0")/.."

action=${1:-}
case "$action" in run|test|setup) ;; *) echo "usage: $0 run|test|setup" >&2; exit 2 ;; esac

PY=${PYTHON:-python3.11}
VENV=${FOLIO_VENV:-.venv}

# Qt needs a few system libraries even offscreen; install them when we can (root + apt).
pkgs=()
for lib in libEGL.so.1:libegl1 libxkbcommon.so.0:libxkbcommon0 libfontconfig.so.1:libfontconfig1 \
           libdbus-1.so.3:libdbus-1-3 libGL.so.1:libgl1 libglib-2.0.so.0:libglib2.0-0; do
  ldconfig -p 2>/dev/null | grep -q "${lib%%:*}" || pkgs+=("${lib#*:}")
done
if [ "$action" = test ]; then
  # The installer test: strace (what the installed app opens), Xvfb and the X libraries the
  # package depends on (the desktop app on a real X server).
  command -v strace >/dev/null || pkgs+=(strace)
  command -v Xvfb >/dev/null || pkgs+=(xvfb)
  for lib in libxcb-icccm.so.4:libxcb-icccm4 libxcb-keysyms.so.1:libxcb-keysyms1 \
             libxkbcommon-x11.so.0:libxkbcommon-x11-0; do
    ldconfig -p 2>/dev/null | grep -q "${lib%%:*}" || pkgs+=("${lib#*:}")
  done
fi
if [ ${#pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing system packages: ${pkgs[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      "${pkgs[@]}" >/dev/null) || echo "warning: could not install ${pkgs[*]}" >&2
  else
    echo "warning: missing system packages: ${pkgs[*]}" >&2
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.folio-deps-$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  "$VENV/bin/python" -m pip install -q --upgrade pip wheel setuptools
  # torch first and exactly pinned, so no other package pulls a multi-GB CUDA build.
  "$VENV/bin/python" -m pip install -q torch==2.13.0
  # llama.cpp is compiled for a CPU level, not for this exact machine: the installer ships this
  # build to other PCs, and the code ggml picks for CPUs with AMX tiles crashed on such a Xeon.
  # The wheel is kept per version and build options (pip's own cache would hand back a wheel
  # built with other options).
  llama=$(grep -o 'llama-cpp-python==[0-9.]*' pyproject.toml)
  if [ -z "${CMAKE_ARGS:-}" ] && [ "$(uname -m)" = x86_64 ]; then
    export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
  fi
  wheels="${XDG_CACHE_HOME:-$HOME/.cache}/folio-build/$(echo "$llama ${CMAKE_ARGS:-}" | sha256sum | cut -c1-16)"
  if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "Compiling llama.cpp ($llama; ~7 min the first time)..."
    "$VENV/bin/python" -m pip wheel -q --no-deps --no-cache-dir -w "$wheels" "$llama"
  fi
  "$VENV/bin/python" -m pip install -q --force-reinstall --no-deps "$wheels"/llama_cpp_python-*.whl
  echo "Installing Folio and its dependencies..."
  "$VENV/bin/python" -m pip install -q -e ".[dev]"
  rm -f "$VENV"/.folio-deps-*
  touch "$stamp"
fi

export PATH="$PWD/$VENV/bin:$PATH"
case "$action" in
  setup) echo "Set-up done." ;;
  run) exec "$VENV/bin/folio-desktop" ;;
  test)
    export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
    ruff check engine desktop tests packaging/folio_main.py
    mypy
    if [ $# -gt 1 ]; then exec python -m pytest "${@:2}"; fi
    python -m pytest
    exec python -m pytest -m package tests/packaging
    ;;
esac
