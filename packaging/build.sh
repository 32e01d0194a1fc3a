#!/usr/bin/env bash
# Build the installable Folio app on Linux.
#   bash packaging/build.sh bundle   build/dist/Folio: the self-contained app folder
#   bash packaging/build.sh deb      the bundle, then build/folio_<version>_<arch>.deb
# Needs only what `packaging/dev.sh setup` installs (it runs it). Windows and macOS recipes are
# in packaging/windows and packaging/macos. Sizes are printed at the end and written to
# build/package-report.json.
set -euo pipefail
# The installed files are for every account on the computer, whatever umask the builder has
# (Folio itself runs with a private one).
umask 022
cd "$(dirname "$0")/.."

what=${1:-deb}
case "$what" in bundle|deb) ;; *) echo "usage: $0 bundle|deb" >&2; exit 2 ;; esac

bash packaging/dev.sh setup >/dev/null
VENV=${FOLIO_VENV:-.venv}
PY="$VENV/bin/python"
version=$("$PY" -c 'import tomllib;print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')

start=$(date +%s)
echo "Bundling Folio $version (PyInstaller; a few minutes)..."
"$PY" -m PyInstaller --noconfirm --log-level WARN \
  --distpath build/dist --workpath build/work packaging/folio.spec
ln -sfn folio build/dist/Folio/folio-desktop
bundle_s=$(( $(date +%s) - start ))
bundle_bytes=$(du -sb build/dist/Folio | cut -f1)
echo "Bundle: build/dist/Folio, $(( bundle_bytes / 1048576 )) MiB, built in ${bundle_s} s"

deb=""
deb_bytes=0
if [ "$what" = deb ]; then
  deb=$(bash packaging/linux/build-deb.sh "$version" build/dist/Folio build)
  deb_bytes=$(stat -c %s "$deb")
  echo "Package: $deb, $(( deb_bytes / 1048576 )) MiB"
fi

"$PY" - "$version" "$bundle_bytes" "$bundle_s" "$deb" "$deb_bytes" <<'PYEOF'
import json, sys
version, bundle_bytes, bundle_s, deb, deb_bytes = sys.argv[1:]
report = {"version": version, "bundle": "build/dist/Folio", "bundle_bytes": int(bundle_bytes),
          "bundle_seconds": int(bundle_s), "deb": deb or None, "deb_bytes": int(deb_bytes)}
with open("build/package-report.json", "w") as f:
    json.dump(report, f, indent=1)
PYEOF
