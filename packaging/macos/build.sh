#!/usr/bin/env bash
# Build Folio.app and a .dmg on macOS. UNTESTED here (the project's build machines run Linux);
# the CI workflow .github/workflows/package.yml runs it on macos-14. The app is not signed or
# notarized: staff open it the first time with right-click > Open, or IT signs it with their
# own Developer ID (codesign --deep -s "Developer ID Application: ..." build/dist/Folio.app).
set -euo pipefail
cd "$(dirname "$0")/../.."
python3.11 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip wheel setuptools
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e ".[dev]"
# The app icon, from the PNG in assets/icons.
mkdir -p build/folio.iconset
for size in 16 32 128 256; do
  sips -z $size $size assets/icons/folio.png --out "build/folio.iconset/icon_${size}x${size}.png" >/dev/null
done
iconutil -c icns build/folio.iconset -o build/folio.icns
.venv/bin/python -m PyInstaller --noconfirm --distpath build/dist --workpath build/work packaging/folio.spec
version=$(.venv/bin/python -c 'import tomllib;print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')
rm -rf build/dmg && mkdir -p build/dmg
cp -R build/dist/Folio.app build/dmg/
ln -s /Applications build/dmg/Applications
hdiutil create -volname Folio -srcfolder build/dmg -ov -format UDZO "build/Folio-$version.dmg"
ls -l "build/Folio-$version.dmg"
