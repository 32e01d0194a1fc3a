#!/usr/bin/env bash
# Wrap the app folder into a .deb: the app in /opt/folio, `folio` and `folio-desktop` on the
# PATH, a desktop entry and icons. Usage: build-deb.sh VERSION BUNDLE_DIR OUT_DIR; prints the
# path of the package.
set -euo pipefail
# The installed files are for every account on the computer, whatever umask the builder has
# (Folio itself runs with a private one).
umask 022
version=$1 bundle=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
root_dir=$(cd "$here/../.." && pwd)
arch=$(dpkg --print-architecture)
stage="$out/deb-root"
rm -rf "$stage"
mkdir -p "$stage/DEBIAN" "$stage/opt" "$stage/usr/bin" "$stage/usr/share/applications" \
  "$stage/usr/share/icons/hicolor/256x256/apps" "$stage/usr/share/icons/hicolor/scalable/apps"
cp -a "$bundle" "$stage/opt/folio"
# Relative links, so the package also works unpacked under another root.
ln -s ../../opt/folio/folio "$stage/usr/bin/folio"
ln -s ../../opt/folio/folio-desktop "$stage/usr/bin/folio-desktop"
install -m 644 "$here/folio.desktop" "$stage/usr/share/applications/folio.desktop"
install -m 644 "$root_dir/assets/icons/folio.png" "$stage/usr/share/icons/hicolor/256x256/apps/folio.png"
install -m 644 "$root_dir/assets/icons/folio.svg" "$stage/usr/share/icons/hicolor/scalable/apps/folio.svg"
installed_kb=$(du -sk --apparent-size "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$installed_kb/" \
  "$here/control" > "$stage/DEBIAN/control"
install -m 755 "$here/postinst" "$stage/DEBIAN/postinst"
install -m 755 "$here/postrm" "$stage/DEBIAN/postrm"
deb="$out/folio_${version}_${arch}.deb"
# zstd: a fraction of xz's packing time for a package this size, and dpkg >= 1.21.18 reads it.
dpkg-deb --root-owner-group -Zzstd -z${FOLIO_DEB_LEVEL:-9} --build "$stage" "$deb" >/dev/null
rm -rf "$stage"
echo "$deb"
