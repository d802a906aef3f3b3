#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# example-out-of-tree: builds plugins/example as a provider would, on its own against the
# installed plugin API, and runs its unit test against the shipped HgTestContext. It
# installs the build's devel and runtime files (the library, its headers and
# hemgate-plugin-1.pc, and the programs) into a temporary DESTDIR, copies the example's
# folder as README.md says (standalone.meson becomes meson.build), configures it with
# PKG_CONFIG_PATH at the installed .pc, builds it with --werror and runs its test with
# LD_LIBRARY_PATH at the installed library. It fails when a header the example needs is
# not installed, when the .pc names wrong directories or flags, or when the test fails.
#
# usage: example-out-of-tree.sh MESON BUILD_ROOT EXAMPLE_SOURCE_DIR [MESON_SETUP_OPTION...]
# The options (e.g. the tree's -Db_sanitize) go to the example's `meson setup`, with CC.
set -eu

meson=$1
build_root=$2
example=$3
shift 3

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hemgate-example-out-of-tree-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "# installing the plugin API into $tmp/destdir"
"$meson" install -C "$build_root" --no-rebuild --destdir "$tmp/destdir" --tags devel,runtime \
  >"$tmp/install.log" || { cat "$tmp/install.log"; exit 1; }

pc=$(find "$tmp/destdir" -name hemgate-plugin-1.pc)
if [ -z "$pc" ]; then
  echo "not ok: hemgate-plugin-1.pc was not installed"
  exit 1
fi

# The .pc names the build's prefix; the install sits below DESTDIR. pkg-config's sysroot
# would move the system's GLib too, so this relocates only our .pc: a copy whose prefix is
# the DESTDIR one. Everything else in it (includedir, libdir, Cflags, Libs, Requires) is
# used as installed.
prefix=$(sed -n 's/^prefix=//p' "$pc")
mkdir "$tmp/pkgconfig"
sed "s|^prefix=.*|prefix=$tmp/destdir$prefix|" "$pc" >"$tmp/pkgconfig/hemgate-plugin-1.pc"
export PKG_CONFIG_PATH="$tmp/pkgconfig"
libdir=$(pkg-config --variable=libdir hemgate-plugin-1)
case "$libdir" in
  "$tmp/destdir"/*) ;;
  *) echo "not ok: libdir $libdir of hemgate-plugin-1.pc is not below its prefix"; exit 1 ;;
esac

echo "# copying the example as a provider does"
cp -R "$example" "$tmp/example"
mv "$tmp/example/standalone.meson" "$tmp/example/meson.build"
rm "$tmp/example/tests/meson.build"

echo "# building it against hemgate-plugin-1 $(pkg-config --modversion hemgate-plugin-1)"
"$meson" setup "$tmp/build" "$tmp/example" --werror --prefix "$tmp/prefix" "$@"
"$meson" compile -C "$tmp/build"

echo "# running its unit test with the installed library"
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  "$meson" test -C "$tmp/build" --print-errorlogs
# the test program must have run with the installed library, not one from elsewhere
LD_LIBRARY_PATH="$libdir" ldd "$tmp/build/test-example-plugin" | grep -F "$libdir/libhemgate-plugin-1.so"
echo "# installing it: the module beside its manifest, in the plugin directory"
"$meson" install -C "$tmp/build" >/dev/null
for file in hg-example-plugin.so manifest.json; do
  find "$tmp/prefix" -path "*/hemgate/plugins-1/example/$file" | grep .
done
echo "ok: plugins/example built and tested out of tree"
