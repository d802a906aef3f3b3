#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every translatable string in the files of POTFILES.in has an entry in each language of
# LINGUAS, and each catalogue compiles. Usage: check-translations.sh SRCDIR
set -eu
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
grep -v '^#' "$src/po/POTFILES.in" | sed '/^$/d' > "$tmp/files"
(cd "$src" && xgettext --from-code=UTF-8 --keyword=_ --keyword=N_ --keyword=C_:1c,2 \
  --keyword=NC_:1c,2 --keyword=g_dngettext:2,3 --add-comments=TRANSLATORS \
  --files-from="$tmp/files" -o "$tmp/hemgate.pot")
status=0
for lang in $(grep -v '^#' "$src/po/LINGUAS"); do
  msgfmt --check -o /dev/null "$src/po/$lang.po" || status=1
  if ! msgcmp "$src/po/$lang.po" "$tmp/hemgate.pot" 2>"$tmp/msgcmp"; then
    echo "po/$lang.po lacks translations:" >&2
    cat "$tmp/msgcmp" >&2
    status=1
  fi
done
exit $status
