#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Each fixture directory breaks exactly one house rule; the clean one breaks none.
# Prints TAP.
here=$(dirname "$0")
n=0; fail=0
echo "1..8"
for dir in goto g-error plugin-private libhemgate-soup async-finish spdx potfiles; do
  n=$((n+1))
  out=$(python3 "$here/check-source.py" "$here/check-source-tests/$dir" 2>/dev/null)
  if [ $? -eq 1 ] && [ "$(printf '%s\n' "$out" | grep -c .)" -eq 1 ]; then
    echo "ok $n - /check-source/$dir/caught"
  else
    echo "not ok $n - /check-source/$dir/caught: $out"; fail=1
  fi
done
n=$((n+1))
if out=$(python3 "$here/check-source.py" "$here/check-source-tests/clean" 2>&1); then
  echo "ok $n - /check-source/clean/passes"
else
  echo "not ok $n - /check-source/clean/passes: $out"; fail=1
fi
exit $fail
