#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# make-bundles.sh HEMGATECTL OUTDIR PLUGINDIR...: CI's signed bundles of this tree's plugins
# (`ninja -C build bundles`). A signing key is made for this build alone; each built plugin
# folder becomes OUTDIR/<folder>.hgp, signed with it; its public half is left as
# OUTDIR/bundle-signing.pub (for `hemgatectl trust add`) and the signing key is removed.
# No private key is ever in the tree.
set -eu
ctl=$1
out=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
"$ctl" bundle keygen "$tmp/bundle-signing" >/dev/null
for dir in "$@"; do
  name=$(basename "$dir")
  "$ctl" bundle create "$dir" "$out/$name.hgp" >/dev/null
  "$ctl" bundle sign "$out/$name.hgp" "$tmp/bundle-signing.key" >/dev/null
done
cp "$tmp/bundle-signing.pub" "$out/bundle-signing.pub"
