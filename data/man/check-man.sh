#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Formats one manual page with every groff warning on; any warning fails the test.
# Usage: check-man.sh GROFF PAGE
set -eu
groff=$1
page=$2
warnings=$(LC_ALL=C.UTF-8 "$groff" -man -ww -z -Tutf8 "$page" 2>&1)
if [ -n "$warnings" ]; then
  printf '%s\n' "$warnings" >&2
  echo "check-man: $page has groff warnings" >&2
  exit 1
fi
echo "check-man: $page formats without warnings"
