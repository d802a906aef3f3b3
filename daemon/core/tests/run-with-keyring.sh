#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# run-with-keyring.sh PROGRAM [ARGS...]: runs PROGRAM in a private D-Bus session whose
# Secret Service is a real, unlocked gnome-keyring with a throwaway HOME, XDG_DATA_HOME,
# XDG_CONFIG_HOME, XDG_CACHE_HOME and XDG_RUNTIME_DIR; removes all of it afterwards and
# exits with PROGRAM's status. Nothing of the caller's own keyring or session is touched.
#
# It runs in two stages, both this script: the outer one makes the directories and starts
# the bus with dbus-run-session; the inner one, on that bus, starts the keyring, waits
# until it owns org.freedesktop.secrets, runs PROGRAM and stops the keyring.
# Programs come from PATH unless DBUS_RUN_SESSION, GNOME_KEYRING_DAEMON or GDBUS name
# them (meson passes the ones it found). Messages go to stderr: stdout is PROGRAM's (TAP).
set -eu

me=run-with-keyring

if [ $# -lt 1 ]; then
  echo "usage: $0 PROGRAM [ARGS...]" >&2
  exit 2
fi

if [ "${HEMGATE_KEYRING_STAGE:-}" != inner ]; then
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/hemgate-keyring.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 143' TERM
  mkdir -m 0700 "$tmp/home" "$tmp/data" "$tmp/config" "$tmp/cache" "$tmp/runtime"
  export HOME="$tmp/home" XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config" \
    XDG_CACHE_HOME="$tmp/cache" XDG_RUNTIME_DIR="$tmp/runtime" HEMGATE_KEYRING_TMP="$tmp"
  # never reach the caller's keyring or agents, never show a prompt on their display
  unset GNOME_KEYRING_CONTROL SSH_AUTH_SOCK DISPLAY WAYLAND_DISPLAY
  status=0
  HEMGATE_KEYRING_STAGE=inner "${DBUS_RUN_SESSION:-dbus-run-session}" -- /bin/sh "$0" "$@" || status=$?
  exit "$status"
fi

# inner stage: on the private bus
unset HEMGATE_KEYRING_STAGE
tmp=$HEMGATE_KEYRING_TMP
unset HEMGATE_KEYRING_TMP
keyring_pid=

stop_keyring () {
  if [ -n "$keyring_pid" ]; then
    kill "$keyring_pid" 2>/dev/null || true
    wait "$keyring_pid" 2>/dev/null || true
    keyring_pid=
  fi
}
trap stop_keyring EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# --unlock reads the login keyring's password from stdin: one empty line creates it empty
# and unlocked (with no line at all there is no keyring and every store fails).
# --foreground keeps it our child, so its pid is ours to stop and cannot be reused.
echo > "$tmp/newline"
"${GNOME_KEYRING_DAEMON:-gnome-keyring-daemon}" --foreground --unlock --components=secrets \
  < "$tmp/newline" > "$tmp/keyring.log" 2>&1 &
keyring_pid=$!

# The daemon claims its bus name some time after it starts; a client that came first
# would D-Bus-activate a second, locked keyring.
if ! "${GDBUS:-gdbus}" wait --session --timeout 10 org.freedesktop.secrets >&2; then
  echo "$me: gnome-keyring-daemon did not claim org.freedesktop.secrets within 10 s:" >&2
  cat "$tmp/keyring.log" >&2
  exit 1
fi

status=0
"$@" || status=$?
exit "$status"
