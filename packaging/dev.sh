#!/usr/bin/env bash
# Folio from a source checkout on Linux with Python 3.11.
#   bash packaging/dev.sh run    set everything up, then start the desktop app
#   bash packaging/dev.sh test   set everything up, then run lint, type checks and all tests
# Set-up is idempotent: a virtual environment in .venv (FOLIO_VENV moves it), the pinned
# dependencies, and the llama-cpp-python build (compiled once, then reused from pip's cache).
set -euo pipefail
cd "$(dirname "$0")/.."

action=${1:-}
case "$action" in run|test|setup) ;; *) echo "usage: $0 run|test|setup" >&2; exit 2 ;; esac

PY=${PYTHON:-python3.11}
VENV=${FOLIO_VENV:-.venv}

# Qt needs a few system libraries even offscreen; install them when we can (root + apt).
need_libs=()
for lib in libEGL.so.1 libxkbcommon.so.0 libfontconfig.so.1 libdbus-1.so.3 libGL.so.1; do
  ldconfig -p 2>/dev/null | grep -q "$lib" || need_libs+=("$lib")
done
if [ ${#need_libs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing system libraries for Qt: ${need_libs[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      libegl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libgl1 \
      libglib2.0-0 >/dev/null) || echo "warning: could not install Qt's system libraries" >&2
  else
    echo "warning: missing system libraries for Qt: ${need_libs[*]}" >&2
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
  echo "Installing Folio and its dependencies (the first time compiles llama.cpp: ~7 min)..."
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
    ruff check engine desktop tests
    mypy
    exec python -m pytest "${@:2}"
    ;;
esac
